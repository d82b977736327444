/**
 * A content-addressed cache of a period's aggregated charges. The key is the sha256 of the
 * exact SQL (which carries the config, the flag rules and each file's column mapping), its
 * parameters, and what every data file holds (its sha256, or git's blob id for a large file
 * git tracks unchanged): any change to any of them is a miss. Never keyed on modification times.
 *
 * Hashing a large file costs a fraction of a second, so it overlaps the query when a hit is
 * unlikely (git is asked first, so that no process starts beside the query: see askGit).
 * Whether a hit is likely is guessed from the files' size and mtime at the last run (a hint
 * only: what is served is always chosen by the content key). Entries unused for 30 days are
 * removed.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonRows } from '../db/duckdb.ts';
import { touchAndPrune } from '../repo/cache-dir.ts';
import { askGit, contentIds, rememberedHashesDir } from '../repo/content-id.ts';
import { layout } from '../repo/layout.ts';
import { commitWrites } from '../repo/write.ts';

/** Changed with the form of what is cached (6: the charge details per statement line, as DuckDB's JSON). */
const VERSION = 6;

async function reportCacheKey(root: string, sql: string, params: Record<string, unknown>, files: string[]): Promise<string> {
  const hash = createHash('sha256').update(`${VERSION}\n${queryText(sql, params)}`);
  for (const id of await contentIds(files, rememberedHashesDir(root))) hash.update(`\n${id}`);
  return hash.digest('hex');
}

function queryText(sql: string, params: Record<string, unknown>): string {
  return `${sql}\n${JSON.stringify(params, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`;
}

const dir = (root: string) => layout.cacheDir(root, 'report');

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Size and mtime of each file: the hint that the content is what it was at the last run. */
async function statHint(files: string[]): Promise<string> {
  const stats = await Promise.all(files.map((f) => stat(f)));
  return JSON.stringify(stats.map((s, i) => [files[i], s.size, s.mtimeMs]));
}

/**
 * The query's rows from the cache, or from `run` (then cached as the JSON text they were read
 * from, when `cacheable`). With a likely hit the files are hashed first; otherwise hashing and
 * the query run side by side.
 */
export async function cachedQuery<T>(
  root: string,
  query: { sql: string; params: Record<string, unknown>; files: string[] },
  run: () => Promise<JsonRows<T>>,
  cacheable: (rows: T[]) => boolean,
): Promise<T[]> {
  return cached(root, query, async () => {
    const { rows, text } = await run();
    return { rows, text: cacheable(rows) ? text : null };
  });
}

/**
 * `cachedQuery` for a query whose rows DuckDB writes as JSON text (`run`): the text is cached as
 * it is, never serialised again in JavaScript.
 */
export async function cachedJson<T>(
  root: string,
  query: { sql: string; params: Record<string, unknown>; files: string[] },
  run: () => Promise<string>,
): Promise<T> {
  return cached(root, query, async () => {
    const text = await run();
    return { rows: JSON.parse(text) as T, text };
  });
}

async function cached<T>(
  root: string,
  query: { sql: string; params: Record<string, unknown>; files: string[] },
  run: () => Promise<{ rows: T; text: string | null }>,
): Promise<T> {
  const { sql, params, files } = query;
  const hintPath = join(dir(root), `hint-${createHash('sha256').update(queryText(sql, params)).digest('hex').slice(0, 32)}.json`);
  const [hint, last] = await Promise.all([statHint(files), readJson<{ stats: string; key: string }>(hintPath), askGit(files)]);
  const keyPromise = reportCacheKey(root, sql, params, files);
  const entry = (key: string) => join(dir(root), `${key}.json`);
  if (last?.stats === hint) {
    const key = await keyPromise;
    const hit = await readJson<T>(entry(key));
    if (hit !== undefined) {
      await touchAndPrune(dir(root), [entry(key), hintPath]);
      return hit;
    }
  }
  keyPromise.catch(() => {}); // awaited below, once the query has settled
  const { rows, text } = await run();
  const key = await keyPromise;
  if (text !== null) {
    await commitWrites([
      { target: entry(key), content: text },
      { target: hintPath, content: JSON.stringify({ stats: hint, key }) },
    ]).catch(() => {}); // a cache that cannot be written (read-only checkout) only costs time
    await touchAndPrune(dir(root), [entry(key), hintPath]);
  }
  return rows;
}
