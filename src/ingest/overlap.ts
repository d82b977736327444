/**
 * Parts of one export that hold the same rows. A provider splits a month's export into parts by
 * size, so each row is in one part; a row in two is two versions of the export (AWS and Azure
 * write the month again each day, and a new version holds the old one's rows), and every such
 * charge would be billed twice.
 */
import type { Database } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import { FOCUS_COLUMNS, type FocusField } from '../focus/columns.ts';
import { type ChargeFile, col, readFileSql } from '../focus/read-sql.ts';

export interface SharedRows {
  /** The two parts sharing the most rows (indexes into the parts), and how many rows they share. */
  first: number;
  second: number;
  shared: number;
  /** Rows found in more than one part, all parts together. */
  total: number;
  /** One shared row, as its ResourceId, ChargePeriodStart and cost columns give it. */
  example: string;
}

/**
 * The rows that two or more parts hold alike, to every column, or null when none does. Parts
 * are compared only with parts of the same header. Rows are compared by a 64-bit hash of their
 * columns: two different rows of a million-row export share one by chance once in some 30
 * million exports.
 */
export async function sharedRows(db: Database, parts: ChargeFile[], costColumn: FocusField): Promise<SharedRows | null> {
  const header = (f: ChargeFile) => JSON.stringify(f.file.header.map((h) => h.toLowerCase()));
  const alike = parts.map((f, i) => ({ f, i })).filter(({ f }) => header(f) === header(parts[0] as ChargeFile));
  if (alike.length < 2) return null;
  const params = new Params();
  const hashed = (f: ChargeFile) => `hash(${f.file.header.map((_, c) => col(c)).join(', ')})`;
  const rows = alike.map(({ f, i }) => `SELECT ${i} AS part, ${hashed(f)} AS h FROM ${readFileSql(f, params)}`).join(' UNION ALL ');
  const [found] = await db.query<{ first: number; second: number; shared: string; total: string; h: string }>(
    `WITH g AS (SELECT h, list(DISTINCT part ORDER BY part) AS ps FROM (${rows}) GROUP BY h HAVING count(DISTINCT part) > 1),
      pairs AS (SELECT ps[1] AS first, ps[2] AS second, count(*) AS shared, min(h) AS h FROM g GROUP BY ALL)
    SELECT first, second, shared::VARCHAR AS shared, (SELECT count(*) FROM g)::VARCHAR AS total, h::VARCHAR AS h
    FROM pairs ORDER BY pairs.shared DESC, first, second LIMIT 1`,
    params.values,
  );
  if (!found) return null;
  const f = parts[found.first] as ChargeFile;
  const shown: FocusField[] = ['resourceId', 'chargePeriodStart', costColumn];
  const named = shown.filter((field) => f.columns[field] !== undefined);
  const exampleParams = new Params();
  const [row] = await db.query<Record<string, string | null>>(
    `SELECT ${named.map((field) => `${col(f.columns[field] as number)} AS ${field}`).join(', ') || '1 AS none'}
     FROM ${readFileSql(f, exampleParams)} WHERE ${hashed(f)} = CAST(${exampleParams.add(found.h)} AS UBIGINT) LIMIT 1`,
    exampleParams.values,
  );
  const example = named.map((field) => `${FOCUS_COLUMNS[field]} ${JSON.stringify(row?.[field] ?? null)}`).join(', ');
  return { first: found.first, second: found.second, shared: Number(found.shared), total: Number(found.total), example };
}
