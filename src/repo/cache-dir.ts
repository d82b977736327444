/**
 * Keeps a content-addressed cache folder from growing without end: entries in use are touched,
 * and entries nobody used for `maxAgeDays` are removed. Ages come from modification times,
 * which here only decide what to forget; what an entry holds is always chosen by its content key.
 */
import { readdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';

const CACHE_MAX_AGE_DAYS = 30;

export async function touchAndPrune(
  dir: string,
  used: Iterable<string>,
  options: { maxAgeDays?: number; now?: Date } = {},
): Promise<{ removed: number }> {
  const now = options.now ?? new Date();
  const keep = new Set<string>();
  for (const path of used) {
    keep.add(path);
    await utimes(path, now, now).catch(() => {});
  }
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
