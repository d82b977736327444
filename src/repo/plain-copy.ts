/**
 * Plain copies of the exports ingest stores compressed, kept in `.cache/data/` so that reading a
 * month does not inflate it first: DuckDB decodes gzip on one thread, which took a third of the
 * CPU of the report's pass over the 1M-row month (see docs/SCALING.md). The copy is the export's
 * bytes exactly as ingest compressed them (written from the same read), and is named by the
 * sha256 of the stored `.csv.gz`: it is only ever read for the file it was made with. Copies
 * nobody used for 30 days are removed; deleting `.cache/data/` is always safe (the months are
 * read from their `.csv.gz` again).
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { touchAndPrune } from './cache-dir.ts';
import { sha256Of } from './content-id.ts';
import { layout } from './layout.ts';

export const plainCopyDir = (root: string) => layout.cacheDir(root, 'data');

/** A plain copy's file name: the stored file's sha256 (hex), `.csv`. */
const COPY_NAME = /^[0-9a-f]{64}\.csv$/;

/** Where the plain copy of the stored file with this sha256 is kept. */
export const plainCopyPath = (root: string, storedSha256: string) => join(plainCopyDir(root), `${storedSha256}.csv`);

/**
 * The plain copy of a stored gzip file, if one is kept (touched, so that it is kept): its path,
 * or null. The stored file is hashed to find it, once per process, and only when some copy is kept.
 */
export async function findPlainCopy(root: string, stored: string): Promise<string | null> {
  const dir = plainCopyDir(root);
  if (!(await stat(dir).catch(() => null))?.isDirectory()) return null;
  const path = plainCopyPath(root, await sha256Of(stored));
  if (!(await stat(path).catch(() => null))?.isFile()) return null;
  await touchAndPrune(dir, [path]);
  return path;
}

/**
 * Keeps a finished copy (a temporary file in the repository, as ingest stages it) as the plain
 * copy of the stored file with this sha256. A copy that cannot be kept (another file system, a
 * read-only folder) only costs time later, so it is then removed and nothing more said.
 */
export async function keepPlainCopy(root: string, tmp: string, storedSha256: string): Promise<void> {
  const path = plainCopyPath(root, storedSha256);
  try {
    await mkdir(plainCopyDir(root), { recursive: true });
    await rename(tmp, path);
    await touchAndPrune(plainCopyDir(root), [path]);
  } catch {
    await rm(tmp, { force: true });
  }
}

/** How many plain copies are kept, and their bytes (`doctor` says, since they take local disk). */
export async function plainCopies(root: string): Promise<{ files: number; bytes: number }> {
  const dir = plainCopyDir(root);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => COPY_NAME.test(n));
  const sizes = await Promise.all(
    names.map((n) =>
      stat(join(dir, n)).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return { files: names.length, bytes: sizes.reduce((a, b) => a + b, 0) };
}
