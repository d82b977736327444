/**
 * A content-addressed cache of a period's aggregated charges. The key is the sha256 of the
 * exact SQL (which carries the config, the flag rules and each file's column mapping), its
 * parameters, and the sha256 of every data file's bytes: any change to any of them is a
 * miss. Never keyed on modification times.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../periods/close.ts';

const VERSION = 1;

export async function reportCacheKey(sql: string, params: Record<string, unknown>, files: string[]): Promise<string> {
  const hash = createHash('sha256').update(
    `${VERSION}\n${sql}\n${JSON.stringify(params, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
  );
  for (const f of files) hash.update(`\n${await sha256File(f)}`);
  return hash.digest('hex');
}

export async function readReportCache<T>(root: string, key: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(join(root, '.cache', 'report', `${key}.json`), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function writeReportCache(root: string, key: string, value: unknown): Promise<void> {
  const dir = join(root, '.cache', 'report');
  try {
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `${key}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, join(dir, `${key}.json`));
  } catch {
    // A cache that cannot be written (read-only checkout) only costs time.
  }
}
