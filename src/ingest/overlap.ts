/**
 * Parts of one export that hold the same rows. A provider splits a month's export into parts by
 * size, so each row is in one part; a row in two is two versions of the export (AWS and Azure
 * write the month again each day, and a new version holds the old one's rows), and every such
 * charge would be billed twice.
 */
import type { Database } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import { FOCUS_COLUMNS, type FocusField } from '../focus/columns.ts';
import { csvBytes } from '../focus/file.ts';
import { type ChargeFile, col, readFileSql } from '../focus/read-sql.ts';

export interface SharedRows {
  /** The two parts sharing the most rows (indexes into the parts), and how many rows they share. */
  first: number;
  second: number;
  shared: number;
  /** Rows found in more than one part, all parts together. */
  total: number;
  /** One shared row: its line (CSV), or its ResourceId, ChargePeriodStart and cost (Parquet). */
  example: string;
}

/**
 * The rows that two or more parts hold alike, or null when none does. Parts are compared only
 * with parts of the same format and header. A CSV row is its line, byte for byte: the parts
 * are read as lines, not parsed (0.29 s for a million rows, where parsing their columns took
 * 0.70 s); a Parquet row is its columns. Rows are compared by a 64-bit hash: two different rows
 * of a million-row export share one by chance once in some 30 million exports.
 */
export async function sharedRows(db: Database, parts: ChargeFile[], costColumn: FocusField): Promise<SharedRows | null> {
  const kind = (f: ChargeFile) => JSON.stringify([f.file.format, f.file.header.map((h) => h.toLowerCase())]);
  const alike = parts.map((f, i) => ({ f, i })).filter(({ f }) => kind(f) === kind(parts[0] as ChargeFile));
  if (alike.length < 2) return null;
  const params = new Params();
  const rows = alike.map(({ f, i }) => `SELECT ${i} AS part, ${rowHashSql(f)} AS h FROM ${rowsSql(f, params)}`).join(' UNION ALL ');
  const [found] = await db.query<{ first: number; second: number; shared: string; total: string; h: string }>(
    `WITH g AS (SELECT h, list(DISTINCT part ORDER BY part) AS ps FROM (${rows}) GROUP BY h HAVING count(DISTINCT part) > 1),
      pairs AS (SELECT ps[1] AS first, ps[2] AS second, count(*) AS shared, min(h) AS h FROM g GROUP BY ALL)
    SELECT first, second, shared::VARCHAR AS shared, (SELECT count(*) FROM g)::VARCHAR AS total, h::VARCHAR AS h
    FROM pairs ORDER BY pairs.shared DESC, first, second LIMIT 1`,
    params.values,
  );
  if (!found) return null;
  const example = await exampleRow(db, parts[found.first] as ChargeFile, found.h, costColumn);
  return { first: found.first, second: found.second, shared: Number(found.shared), total: Number(found.total), example };
}

/** A CSV part's data lines as they are (one column, nothing parsed), or a Parquet part's rows. */
function rowsSql(f: ChargeFile, params: Params): string {
  if (f.file.format !== 'csv') return readFileSql(f, params);
  const { path, compression } = csvBytes(f.file);
  // No quote and a separator no text holds (a NUL is refused at ingest): each line whole.
  return `(SELECT line FROM read_csv(${params.add(path)}, auto_detect = false, header = true, columns = {'line': 'VARCHAR'},
    delim = chr(0), quote = '', escape = '', strict_mode = false, compression = ${params.add(compression)}) WHERE line <> '')`;
}

function rowHashSql(f: ChargeFile): string {
  return f.file.format === 'csv' ? 'hash(line)' : `hash(${f.file.header.map((_, c) => col(c)).join(', ')})`;
}

/** The shared row of hash `h` in `f`, as a reader finds it: its line cut to 160 characters, or three of its columns. */
async function exampleRow(db: Database, f: ChargeFile, h: string, costColumn: FocusField): Promise<string> {
  const params = new Params();
  const where = `${rowHashSql(f)} = CAST(${params.add(h)} AS UBIGINT)`;
  if (f.file.format === 'csv') {
    const [row] = await db.query<{ line: string }>(`SELECT line FROM ${rowsSql(f, params)} WHERE ${where} LIMIT 1`, params.values);
    const line = row?.line ?? '';
    // As written, control and format characters (bidi marks) escaped so that none acts on the terminal.
    const shown = (line.length > 160 ? `${line.slice(0, 160)}…` : line).replace(
      /[\p{Cc}\p{Cf}]/gu,
      (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`,
    );
    return `this one: ${shown}`;
  }
  const named = (['resourceId', 'chargePeriodStart', costColumn] as FocusField[]).filter((field) => f.columns[field] !== undefined);
  const [row] = await db.query<Record<string, string | null>>(
    `SELECT ${named.map((field) => `${col(f.columns[field] as number)} AS ${field}`).join(', ') || '1 AS none'}
     FROM ${readFileSql(f, params)} WHERE ${where} LIMIT 1`,
    params.values,
  );
  return named.map((field) => `${FOCUS_COLUMNS[field]} ${JSON.stringify(row?.[field] ?? null)}`).join(', ');
}
