/**
 * What a data file holds, as an id: git's blob id when git already knows it (the file is
 * tracked and unchanged since it was staged, as git itself judges, racy cases included), else
 * the sha256 of its bytes. Hashing gigabytes costs seconds; asking git costs milliseconds.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { readFile, stat, utimes } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { touchAndPrune, writeCacheFile } from './cache-dir.ts';
import { sha256File } from './hash.ts';
import { layout } from './layout.ts';

const run = promisify(execFile);

/** Files smaller than this are hashed: quicker than starting git. */
const GIT_MIN_BYTES = 32 << 20;

/**
 * Each file's content id. With `remember` (a cache folder, see `sha256Of`), a file git does not
 * know is hashed once for as long as it is not written, not once per process: a 349 MB export
 * stored as it came (a Parquet file, or a CSV under Git LFS) and not yet committed cost every
 * `generate` 0.2 s of hashing, cached report or not.
 */
export async function contentIds(files: string[], remember?: string): Promise<string[]> {
  const stamps = await askGit(files);
  return Promise.all(
    files.map(async (f, i) => {
      const stamp = stamps[i] as string;
      return fromGit.get(stamp) ?? `sha256:${remember ? await sha256Of(f, remember) : await hashOnce(f, stamp)}`;
    }),
  );
}

/** Where a repository's files' sha256s are remembered across processes (see `sha256Of`). */
export const rememberedHashesDir = (root: string) => layout.cacheDir(root, 'hashes');

/**
 * The sha256 of a file's bytes, hashed once per process for each stat stamp (see `hashes`), and,
 * with `remember` (a cache folder), once for as long as the file is not written (see
 * `rememberedEntry`).
 */
export async function sha256Of(path: string, remember?: string): Promise<string> {
  const stamp = stampOf(path, await stat(path));
  if (!remember || hashes.has(stamp)) return hashOnce(path, stamp);
  const hex = await rememberedValue(remember, path, SHA256, () => hashOnce(path, stamp));
  hashes.set(stamp, Promise.resolve(hex));
  return hex;
}

/**
 * Remembers across processes that the file at `path`, as it is now, holds bytes of this sha256
 * (ingest, which has just written the file, knows it). A file holding other bytes is never
 * recorded: callers hash it first, or wrote it themselves.
 */
export async function rememberSha256(remember: string, path: string, hex: string): Promise<void> {
  await rememberValue(remember, path, SHA256, hex);
}

/** A value made from a file's bytes, as remembered (see `rememberedEntry`): its kind names the entry, its pattern checks what is read. */
export interface RememberedKind {
  name: string;
  pattern: RegExp;
}

const SHA256: RememberedKind = { name: 'sha256', pattern: /^[0-9a-f]{64}$/ };

/**
 * A value made from a file's bytes (`compute`), remembered in the folder `remember` for as long
 * as the file is not written: read from there when it is, else computed and kept, unless the
 * file was written while it was read (its entry is then another).
 */
export async function rememberedValue(
  remember: string,
  path: string,
  kind: RememberedKind,
  compute: () => Promise<string>,
): Promise<string> {
  const entry = await rememberedEntry(remember, path, kind);
  const known = entry && (await readFile(entry, 'utf8').catch(() => ''));
  if (entry && known && kind.pattern.test(known)) {
    await utimes(entry, new Date(), new Date()).catch(() => {}); // in use: not pruned
    return known;
  }
  const value = await compute();
  // Kept only if it is a value of its kind, and the file was not written while it was read.
  if (entry && kind.pattern.test(value) && entry === (await rememberedEntry(remember, path, kind))) await keepEntry(remember, entry, value);
  return value;
}

/** Remembers a value made from the file at `path` as it is now (by whoever has just made or written it). */
export async function rememberValue(remember: string, path: string, kind: RememberedKind, value: string): Promise<void> {
  const entry = kind.pattern.test(value) ? await rememberedEntry(remember, path, kind) : null;
  if (entry) await keepEntry(remember, entry, value);
}

async function keepEntry(remember: string, entry: string, value: string): Promise<void> {
  try {
    await writeCacheFile(entry, value);
    await touchAndPrune(remember, [entry]);
  } catch {
    // A cache that cannot be written only costs a hash.
  }
}

/**
 * Where a value made from a file (its sha256, say) is remembered: a name made of its device,
 * inode, size, and modification and change times in nanoseconds, as git's index remembers what a
 * file holds. Any write changes the file's change time, which no `touch` sets back, so an entry is
 * never read for bytes other than those it was made from; one whose file was written since is
 * pruned after 30 days unused. The change time moves by the kernel's clock tick (a few
 * milliseconds), so a second write of the same size in the tick of the first, with the
 * modification time set back, would go unseen. Git's index hashes such "racily clean" files
 * again; this cannot, since ingest records the file it has just written, in the same tick.
 * Hashing the 10M-row month's stored 507 MB took 0.33 s of every `generate`. Null: the file is
 * gone.
 */
async function rememberedEntry(remember: string, path: string, kind: RememberedKind): Promise<string | null> {
  const s = await stat(path, { bigint: true }).catch(() => null);
  if (!s?.isFile()) return null;
  const key = createHash('sha256').update(`${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`).digest('hex');
  return join(remember, `${key}.${kind.name}`);
}

function hashOnce(path: string, stamp: string): Promise<string> {
  const known = hashes.get(stamp);
  if (known) return known;
  const hex = sha256File(path);
  hashes.set(stamp, hex);
  hex.catch(() => hashes.delete(stamp)); // a file that could not be read is tried again
  return hex;
}

/**
 * Asks git for the blob ids of the large files this process has no id for yet (see contentIds),
 * and returns each file's stat stamp. A file git did not know is asked about again only once
 * git's index has changed. Call it before starting a long DuckDB query: contentIds then starts
 * no process. A child process started while DuckDB held a 2 GB table (`git --version`, before
 * the query or during it) slowed the query that followed by half, 15 s to 27 s, in twice the
 * CPU (after a fork, each page the process writes is faulted again).
 */
export async function askGit(files: string[]): Promise<string[]> {
  const stats = await Promise.all(files.map((f) => stat(f)));
  const stamps = files.map((f, i) => stampOf(f, stats[i] as Stats));
  const unknown = await Promise.all(
    files.map(async (_, i) => {
      const stamp = stamps[i] as string;
      if ((stats[i]?.size ?? 0) < GIT_MIN_BYTES || fromGit.has(stamp)) return false;
      const last = unknownToGit.get(stamp);
      if (last === undefined) return true;
      return (last.index === null ? await foldersStamp(files[i] as string) : await indexStamp(last.index)) !== last.stamp;
    }),
  );
  const ask = files.filter((_, i) => unknown[i]);
  if (ask.length === 0) return stamps;
  const { known, index } = await gitBlobIds(ask);
  const seen = index ? await indexStamp(index) : null;
  for (const f of ask) {
    const stamp = stamps[files.indexOf(f)] as string;
    const id = known.get(f);
    if (id) fromGit.set(stamp, id);
    else unknownToGit.set(stamp, { index, stamp: seen ?? (await foldersStamp(f)) });
  }
  return stamps;
}

/**
 * The modification times of the folders holding a file, up to the root: a file in no git work
 * tree is asked about again only once one of them changed (`git init` adds `.git` to one).
 */
async function foldersStamp(file: string): Promise<string> {
  const folders: string[] = [];
  for (let d = dirname(file); ; d = dirname(d)) {
    folders.push(d);
    if (dirname(d) === d) break;
  }
  const times = await Promise.all(
    folders.map((d) =>
      stat(d).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    ),
  );
  return times.join('\0');
}

const stampOf = (f: string, s: Stats) => `${f}\0${s.ino}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}`;

/** The index file's own stamp (a new repository has none yet). */
async function indexStamp(index: string): Promise<string> {
  return stat(index).then(
    (s) => stampOf(index, s),
    () => `${index}\0none`,
  );
}

/**
 * Ids this process found, by the file's stat stamp (same inode, size and times): git's blob ids,
 * and sha256s in hex (used while git does not know the file, and to find a plain copy), kept as
 * they are computed so that two asking at once hash the file once. A build asks for each data
 * file's id several times (its period's key, its report, its details).
 */
const fromGit = new Map<string, string>();
const hashes = new Map<string, Promise<string>>();
/**
 * Large files git did not know, with the stamp of the index it was asked with, or (a null index:
 * in no git work tree, or git could not tell) of the folders holding the file.
 */
const unknownToGit = new Map<string, { index: string | null; stamp: string }>();

/** Blob ids of the files git tracks and reports unmodified in the work tree; none if git cannot tell. */
async function gitBlobIds(files: string[]): Promise<{ known: Map<string, string>; index: string | null }> {
  const known = new Map<string, string>();
  let index: string | null = null;
  try {
    const cwd = dirname(files[0] as string);
    const [top, gitDir] = (await run('git', ['rev-parse', '--show-toplevel', '--absolute-git-dir'], { cwd })).stdout.trim().split('\n') as [
      string,
      string,
    ];
    index = join(gitDir, 'index');
    const rel = files.map((f) => relative(top, f));
    if (rel.some((r) => r.startsWith('..'))) return { known, index };
    const git = (args: string[]) => run('git', ['-C', top, ...args, '--', ...rel], { maxBuffer: 1 << 24 });
    const [staged, modified] = await Promise.all([git(['ls-files', '-s', '-z']), git(['diff-files', '--name-only', '-z'])]);
    const changed = new Set(modified.stdout.split('\0').filter(Boolean));
    for (const entry of staged.stdout.split('\0').filter(Boolean)) {
      // "<mode> <blob> <stage>\t<path>"
      const [meta, path] = entry.split('\t') as [string, string];
      const [, blob, stage] = meta.split(' ');
      if (stage !== '0' || changed.has(path) || !blob) continue;
      known.set(files[rel.indexOf(path)] as string, `git:${blob}`);
    }
  } catch {
    // Not a git work tree, or no git: hash instead.
  }
  return { known, index };
}
