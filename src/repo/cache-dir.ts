/**
 * Keeps a content-addressed cache folder from growing without end: entries in use are touched,
 * and entries nobody used for `maxAgeDays` are removed. Ages come from modification times,
 * which here only decide what to forget; what an entry holds is always chosen by its content key.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeDir } from '../core/make-dir.ts';
import { forEachLimit } from '../core/parallel.ts';

const CACHE_MAX_AGE_DAYS = 30;

export async function touchAndPrune(
  dir: string,
  used: Iterable<string>,
  options: { maxAgeDays?: number; now?: Date } = {},
): Promise<{ removed: number }> {
  const now = options.now ?? new Date();
  const keep = new Set<string>();
  for (const path of used) keep.add(path);
  await forEachLimit([...keep], 32, (path) => utimes(path, now, now).catch(() => {}));
  const cutoff = now.getTime() - (options.maxAgeDays ?? CACHE_MAX_AGE_DAYS) * 86_400_000;
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    if (keep.has(path)) continue;
    const s = await stat(path).catch(() => null);
    if (s?.isFile() && s.mtimeMs < cutoff) {
      await rm(path, { force: true });
      removed++;
    }
  }
  return { removed };
}

/**
 * Writes a small cache file whole or not at all: under a temporary name in its folder (made if
 * needed), then renamed over the file. A failure removes the temporary and is thrown.
 */
export async function writeCacheFile(path: string, content: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await makeDir(dirname(path));
    await writeFile(tmp, content);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/**
 * Files out of a cache into a tree being built, many at once: a hard link where the file system
 * allows (neither cache entries nor built files are ever changed in place, only replaced), else
 * a copy. Linking 36,000 kept PDFs into a fresh site costs what linking its pages does; copying
 * them one after another wrote every byte again.
 */
export async function placeFromCache(files: readonly { from: string; to: string }[]): Promise<void> {
  const dirs = [...new Set(files.map((f) => dirname(f.to)))];
  await forEachLimit(dirs, 16, (d) => makeDir(d));
  await forEachLimit(files, 32, ({ from, to }) => link(from, to).catch(() => copyFile(from, to)));
}
