/**
 * Plain copies of the exports ingest stores compressed, kept in `.cache/data/` so that reading a
 * month does not inflate it first: DuckDB decodes gzip on one thread, which took a third of the
 * CPU of the report's pass over the 1M-row month (see docs/SCALING.md). The copy is the export's
 * bytes exactly as ingest compressed them, and is named by the sha256 of the stored `.csv.gz`:
 * it is only ever read for the file it was made with.
 *
 * Where the export is on the same file system, the copy is a hard link to it, which costs no
 * disk and no time (writing the 3.5 GB copy of a 10M-row month took 7 s of its ingest here).
 * The file can then still be changed through its other name, so each copy has a stamp beside it
 * (`<sha256>.csv.stamp`: inode, size and modification time in nanoseconds, as made): a copy whose
 * stamp no longer matches is never read, and is removed. Every write to a file sets its
 * modification time. Copies are never touched for that reason (that would change the export's
 * time): their stamps are, and copies whose stamp nobody used for 30 days are removed. Deleting
 * `.cache/data/` is always safe (the months are read from their `.csv.gz` again).
 */

import type { BigIntStats } from 'node:fs';
import { readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { writeCacheFile } from './cache-dir.ts';
import { rememberedHashesDir, rememberSha256, sha256Of } from './content-id.ts';
import { layout } from './layout.ts';

export const plainCopyDir = (root: string) => layout.cacheDir(root, 'data');

/** Where the stored files' sha256s are remembered, so that finding a copy hashes no file unwritten since (`sha256Of`). */
const storedHashesDir = rememberedHashesDir;

/** A plain copy's file name: the stored file's sha256 (hex), `.csv`. */
const COPY_NAME = /^[0-9a-f]{64}\.csv$/;
const STAMP_SUFFIX = '.stamp';
const MAX_AGE_DAYS = 30;

/** Where the plain copy of the stored file with this sha256 is kept. */
export const plainCopyPath = (root: string, storedSha256: string) => join(plainCopyDir(root), `${storedSha256}.csv`);

/** What a copy's stamp records of it: inode, size and modification time (ns). Any write changes the last. */
export function copyStamp(s: BigIntStats): string {
  return `${s.ino}:${s.size}:${s.mtimeNs}`;
}

/** A copy as ingest made it: its temporary path, and its stamp when made. */
export interface MadeCopy {
  path: string;
  stamp: string;
}

/**
 * The plain copy of a stored gzip file, if one is kept and unchanged since it was made (its stamp
 * then marked as used): its path, or null. The stored file is hashed to find it, once per process,
 * and only when some copy is kept. A copy that changed is removed: only its name here, never the
 * export it may be linked to.
 */
export async function findPlainCopy(root: string, stored: string): Promise<string | null> {
  const dir = plainCopyDir(root);
  if (!(await stat(dir).catch(() => null))?.isDirectory()) return null;
  const path = plainCopyPath(root, await sha256Of(stored, storedHashesDir(root)));
  const [s, recorded] = await Promise.all([
    stat(path, { bigint: true }).catch(() => null),
    readFile(`${path}${STAMP_SUFFIX}`, 'utf8').catch(() => null),
  ]);
  if (!s?.isFile()) return null;
  if (recorded !== copyStamp(s)) {
    await forget(path);
    return null;
  }
  await useCopy(dir, path);
  return path;
}

/**
 * Keeps a finished copy (a temporary file or link in the repository, as ingest stages it) as the
 * plain copy of the stored file `stored`, which has this sha256: its stamp first, so that no copy
 * is ever seen without one; then remembers the stored file's sha256. A copy that cannot be kept
 * (another file system, a read-only folder) only costs time later, so it is then removed and
 * nothing more said.
 */
export async function keepPlainCopy(root: string, made: MadeCopy, stored: string, storedSha256: string): Promise<void> {
  const path = plainCopyPath(root, storedSha256);
  try {
    await writeCacheFile(`${path}${STAMP_SUFFIX}`, made.stamp);
    await rename(made.path, path);
    await useCopy(plainCopyDir(root), path);
    // The stored file was written with these bytes just now: the first read of the month need not hash it.
    await rememberSha256(storedHashesDir(root), stored, storedSha256);
  } catch {
    // It may not be there (or be reachable: .cache/data may be a file); the data file is written either way.
    await rm(made.path, { force: true }).catch(() => {});
  }
}

/**
 * Removes a copy's name and its stamp (a linked export itself stays where it is). One that cannot
 * be removed (a read-only cache) is left: a copy without a matching stamp is never read.
 */
async function forget(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => {});
  await rm(`${path}${STAMP_SUFFIX}`, { force: true }).catch(() => {});
}

/** When this process last swept each folder of copies (see `useCopy`). */
const swept = new Map<string, number>();
const SWEEP_EVERY_MS = 3_600_000;

/**
 * Marks a copy as used, and sweeps its folder (`pruneCopies`) at most once an hour per process:
 * a build reading every month of a long history looked the copy up for each month and source,
 * and listing and checking all the copies each time took 0.9 s for 36 months of three sources;
 * the app, which runs for days, still sweeps.
 */
async function useCopy(dir: string, path: string, now = new Date()): Promise<void> {
  const last = swept.get(dir);
  if (last !== undefined && now.getTime() - last < SWEEP_EVERY_MS) return markUsed([path], now);
  swept.set(dir, now.getTime());
  await pruneCopies(dir, [path], now);
}

async function markUsed(used: string[], now: Date): Promise<void> {
  await Promise.all(used.map((p) => utimes(`${p}${STAMP_SUFFIX}`, now, now).catch(() => {})));
}

/**
 * Marks copies as used (their stamps' times) and removes those whose stamp nobody used for 30
 * days, copies without a stamp, and stamps left without a copy for as long.
 */
export async function pruneCopies(dir: string, used: string[], now = new Date()): Promise<void> {
  await markUsed(used, now);
  const cutoff = now.getTime() - MAX_AGE_DAYS * 86_400_000;
  const names = new Set(await readdir(dir).catch(() => [] as string[]));
  const age = (name: string) =>
    stat(join(dir, name)).then(
      (s) => s.mtimeMs,
      () => null,
    );
  for (const name of names) {
    if (COPY_NAME.test(name)) {
      const stamped = await age(`${name}${STAMP_SUFFIX}`);
      if (stamped === null || stamped < cutoff) await forget(join(dir, name));
    } else if (name.endsWith(STAMP_SUFFIX) && COPY_NAME.test(name.slice(0, -STAMP_SUFFIX.length))) {
      const copy = name.slice(0, -STAMP_SUFFIX.length);
      const stamped = await age(name);
      if (!names.has(copy) && stamped !== null && stamped < cutoff) await rm(join(dir, name), { force: true }).catch(() => {});
    }
  }
}

/**
 * How many plain copies are kept, the bytes of those that are copies of their own, and how many
 * are links to an export still in place elsewhere (their bytes are that file's). `doctor` says,
 * since copies take local disk.
 */
export async function plainCopies(root: string): Promise<{ files: number; bytes: number; linked: number }> {
  const dir = plainCopyDir(root);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => COPY_NAME.test(n));
  const stats = await Promise.all(names.map((n) => stat(join(dir, n)).catch(() => null)));
  const kept = stats.filter((s) => s !== null);
  return {
    files: kept.length,
    bytes: kept.filter((s) => s.nlink === 1).reduce((a, s) => a + s.size, 0),
    linked: kept.filter((s) => s.nlink > 1).length,
  };
}
