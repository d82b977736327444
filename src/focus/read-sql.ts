/**
 * SQL that reads one FOCUS file as text: every column a VARCHAR named c0…cN, NULL for the null
 * tokens, so every check and rule reads CSV and Parquet alike. Parameters only; no file path or
 * header text is pasted into the SQL.
 */
import { CSV_RETRY_SQL } from '../db/duckdb.ts';
import type { Params } from '../db/params.ts';
import type { ColumnMap } from './columns.ts';
import { csvBytes, type SniffedFile } from './file.ts';

/** A data file as the charge SQL reads it. */
export interface ChargeFile {
  file: SniffedFile;
  columns: ColumnMap;
  sourceSlug: string;
  /** Repository-relative path recorded in flags. */
  relPath: string;
  /**
   * Tag keys seen in the file's first rows (`sampleTagKeysSql`). The fast path then looks up only
   * the spellings the file uses; rows spelling a key otherwise still resolve through the slow path.
   */
  tagKeys?: readonly string[];
}

export const col = (i: number) => `c${i}`;

/** The file's source and repository path as the first two columns of a query over several files. */
export function fileColumnsSql(f: ChargeFile, params: Params): string {
  return `${params.add(f.sourceSlug)} AS source, ${params.add(f.relPath)} AS file`;
}

/**
 * CSV: `read_csv`, strict RFC 4180, no header text in the SQL (a compressed file from its plain
 * copy when it has one). Parquet: `read_parquet`, each
 * column as text (maps and structs such as Tags as JSON), empty and null tokens as NULL as in CSV.
 */
export function readFileSql(f: ChargeFile, params: Params): string {
  if (f.file.format === 'parquet') {
    const types = f.file.types ?? [];
    const columns = f.file.header.map((name, i) => {
      const column = `"${name.replace(/"/g, '""')}"`;
      const type = types[i] ?? 'VARCHAR';
      const text = i === f.columns.tags && keyValueList(type) ? keyValueObjectSql(column) : parquetTextSql(column, type);
      return `${text} AS ${col(i)}`;
    });
    return `(SELECT ${columns.join(', ')} FROM read_parquet(${params.add(f.file.path)}))`;
  }
  const columns = f.file.header.map((_, i) => `'${col(i)}': 'VARCHAR'`).join(', ');
  const { path, compression } = csvBytes(f.file);
  return `read_csv(${params.add(path)}, auto_detect = false, header = true, columns = {${columns}},
    nullstr = ['', 'NULL', 'null'], delim = ',', quote = '"', escape = '"', strict_mode = true,
    compression = ${params.add(compression)}, max_line_size = ${MAX_LINE_BYTES},
    buffer_size = (CASE WHEN ${CSV_RETRY_SQL} IS NULL THEN ${READ_BUFFER} ELSE ${RETRY_BUFFER} END),
    parallel = (${CSV_RETRY_SQL} IS DISTINCT FROM 2))`;
}

/**
 * A list of records with a key and a value (`STRUCT("key" VARCHAR, "value" VARCHAR, …)[]`): how
 * Google's FOCUS export to BigQuery holds Tags, and so a Parquet file extracted from it.
 */
function keyValueList(type: string): boolean {
  const fields = /^STRUCT\((.*)\)\[\]$/s.exec(type)?.[1];
  const named = (name: string) => new RegExp(`(^|,\\s*)"?${name}"?\\s`, 'i').test(fields ?? '');
  return fields !== undefined && named('key') && named('value');
}

/**
 * Such a list as the JSON object FOCUS writes Tags as, its entries in order. A key given twice
 * stays twice, and a NULL key or entry is written `null` (no JSON): Tags is then invalid, and its
 * charge held for review, as a CSV's would be.
 */
function keyValueObjectSql(column: string): string {
  const entry = `coalesce(to_json(e.key::VARCHAR)::VARCHAR, 'null') || ':' || coalesce(to_json(e.value)::VARCHAR, 'null')`;
  return `CASE WHEN ${column} IS NULL THEN NULL ELSE '{' || array_to_string(list_transform(${column}, e -> ${entry}), ',') || '}' END`;
}

function parquetTextSql(column: string, type: string): string {
  const text = /^(MAP|STRUCT|JSON|UNION)\b|\]$/.test(type) ? `to_json(${column})::VARCHAR` : `CAST(${column} AS VARCHAR)`;
  return `nullif(nullif(nullif(${text}, ''), 'NULL'), 'null')`;
}

/** The longest line (record) the CSV reader accepts: DuckDB's default, said explicitly, since the buffer below bounds it. */
export const MAX_LINE_BYTES = 2_000_000;

/**
 * The CSV reader's buffer: twice the longest line it accepts. DuckDB's default, 32 MB per
 * thread, outgrows the processor's caches while each row's checks run: it nearly doubled the
 * reader's time (the report's pass over a 1M-row month took 4.0 s with it, 2.3 s with this; the
 * reader itself 3.7 s of CPU, 1.3 s with this), and made a sample of a file's first rows parse
 * a hundred thousand.
 */
const READ_BUFFER = 4 << 20;

/** The buffer of a second read, when DuckDB's parallel reader refused the first (CSV_RETRY_SQL): its own default. */
const RETRY_BUFFER = 32 << 20;

/** The distinct top-level keys of Tags in the file's first rows. */
export function sampleTagKeysSql(f: ChargeFile, params: Params, rows: number): string | null {
  const i = f.columns.tags;
  if (i === undefined) return null;
  return `SELECT DISTINCT unnest(TRY(json_keys(${col(i)}))) AS k FROM (SELECT ${col(i)} FROM ${readFileSql(f, params)} LIMIT ${rows}) ORDER BY k`;
}
