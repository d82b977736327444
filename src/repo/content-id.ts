/**
 * What a data file holds, as an id: git's blob id when git already knows it (the file is
 * tracked and unchanged since it was staged, as git itself judges, racy cases included), else
 * the sha256 of its bytes. Hashing gigabytes costs seconds; asking git costs milliseconds.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { promisify } from 'node:util';
import { sha256File } from './hash.ts';

const run = promisify(execFile);

/** Files smaller than this are hashed: quicker than starting git. */
const GIT_MIN_BYTES = 32 << 20;

export async function contentIds(files: string[]): Promise<string[]> {
  const stats = await Promise.all(files.map((f) => stat(f)));
  const large = files.filter((_, i) => (stats[i]?.size ?? 0) >= GIT_MIN_BYTES);
  const known = large.length > 0 ? await gitBlobIds(large) : new Map<string, string>();
  // A sha256 this process already computed for the file, unchanged since (same inode, size and
  // times): a build asks for each data file's id several times (its period's key, its report,
  // its details). Git's id, when git knows the file, always comes first.
  return Promise.all(
    files.map(async (f, i) => {
      const fromGit = known.get(f);
      if (fromGit) return fromGit;
      const s = stats[i] as Awaited<ReturnType<typeof stat>>;
      const stamp = `${f}\0${s.ino}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}`;
      const id = hashed.get(stamp) ?? `sha256:${await sha256File(f)}`;
      hashed.set(stamp, id);
      return id;
    }),
  );
}

/** Hashes computed by this process, by file and its stat stamp. */
const hashed = new Map<string, string>();

/** Blob ids of the files git tracks and reports unmodified in the work tree; none if git cannot tell. */
async function gitBlobIds(files: string[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  try {
    const cwd = dirname(files[0] as string);
    const top = (await run('git', ['rev-parse', '--show-toplevel'], { cwd })).stdout.trim();
    const rel = files.map((f) => relative(top, f));
    if (rel.some((r) => r.startsWith('..'))) return ids;
    const git = (args: string[]) => run('git', ['-C', top, ...args, '--', ...rel], { maxBuffer: 1 << 24 });
    const [staged, modified] = await Promise.all([git(['ls-files', '-s', '-z']), git(['diff-files', '--name-only', '-z'])]);
    const changed = new Set(modified.stdout.split('\0').filter(Boolean));
    for (const entry of staged.stdout.split('\0').filter(Boolean)) {
      // "<mode> <blob> <stage>\t<path>"
      const [meta, path] = entry.split('\t') as [string, string];
      const [, blob, stage] = meta.split(' ');
      if (stage !== '0' || changed.has(path) || !blob) continue;
      ids.set(files[rel.indexOf(path)] as string, `git:${blob}`);
    }
  } catch {
    // Not a git work tree, or no git: hash instead.
  }
  return ids;
}
