/**
 * Scans one FOCUS file with DuckDB: per-period totals, validation counts and the flagged rows,
 * with their record numbers, in one parallel pass. Record numbers become line numbers by
 * counting newlines (JavaScript, alongside DuckDB's threads), or by a quote-aware scan when some
 * record spans lines or blank lines are skipped.
 */
import type { Config } from '../config/schema.ts';
import { isCurrencyCode } from '../core/currency.ts';
import { invalidInput, showValue } from '../core/errors.ts';
import type { Database } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import { type FlagRule, ROW_ERRORS, type RowError } from '../domain/rules.ts';
import { type ChargeFile, chargesSql, RULES_LIST_SQL } from './charges-sql.ts';
import type { FocusField } from './columns.ts';
import { costColumn, FOCUS_COLUMNS } from './columns.ts';
import { corruptGzip, lineTooLong, throwReadError } from './duckdb-errors.ts';
import { type ByteScan, CorruptGzip, recordLines, scanBytes } from './lines.ts';
import { MAX_LINE_BYTES, sampleTagKeysSql } from './read-sql.ts';

export interface PeriodTotals {
  period: string;
  currency: string;
  rows: number;
  cost: string;
  list: string;
  flagged_rows: number;
  flagged_cost: string;
}

export interface FlaggedRow {
  row_hash: string;
  cost_raw: string;
  rules: FlagRule[];
  pattern_index: number | null;
  period: string;
  currency: string;
  pi_email: string | null;
  project_id: string | null;
  fund_org: string | null;
  service: string | null;
  resource_id: string | null;
  resource_name: string | null;
  charge_date: string | null;
  cost: string;
  list_cost: string;
  /** Physical line in the file (1 is the header). */
  line: number;
}

export interface ScanResult {
  periods: PeriodTotals[];
  flagged: FlaggedRow[];
}

let scans = 0;

/**
 * The file with the tag keys its first rows use (see `ChargeFile.tagKeys`): a quick look that
 * lets the full scan skip lookups of spellings the file does not use.
 */
export async function withTagKeys(db: Database, f: ChargeFile): Promise<ChargeFile> {
  const params = new Params();
  const sql = sampleTagKeysSql(f, params, 4096);
  if (sql === null) return f;
  try {
    const rows = await db.query<{ k: string }>(sql, params.values);
    return { ...f, tagKeys: rows.map((r) => r.k) };
  } catch {
    return f; // the full scan reports what is wrong with the file
  }
}

/**
 * Reads a file once, in parallel, into a temporary table of what ingest needs per row. DuckDB
 * keeps a single-table scan's order when it materialises it, so `rowid + 1` is the record number:
 * flagged and invalid rows are located without a serial, numbered pass over the file.
 */
export async function scanFile(db: Database, file: ChargeFile, config: Config, period: string | null): Promise<ScanResult> {
  const table = `_scan_${++scans}`;
  const f = await withTagKeys(db, file);
  const params = new Params();
  const anyError = ROW_ERRORS.join(' OR ');
  const create = `CREATE TEMP TABLE ${table} AS
    SELECT period, currency, cost, list_cost, flagged, ${ROW_ERRORS.join(', ')},
      CASE WHEN flagged THEN to_json({
        row_hash: row_hash, cost_raw: cost_raw, rules: ${RULES_LIST_SQL}, pattern_index: pattern_index,
        pi_email: pi_email, project_id: project_id, fund_org: fund_org, service: service,
        resource_id: resource_id, resource_name: resource_name, charge_date: strftime(charge_start, '%Y-%m-%d')
      }) END AS flag,
      CASE WHEN ${anyError} THEN to_json({
        period_raw: period_raw, cost_raw: cost_raw, list_raw: list_raw, currency_raw: currency_raw,
        charge_start_raw: charge_start_raw, charge_end_raw: charge_end_raw
      }) END AS invalid
    FROM (${chargesSql(f, { config, period }, params)})`;
  const counting = new AbortController();
  const parquet = f.file.format === 'parquet';
  // Lines, NUL bytes and gzip integrity, counted in JavaScript while DuckDB reads.
  const bytes: Promise<ByteScan | null> = parquet ? Promise.resolve(null) : scanBytes(f.file.path, f.file.compression, counting.signal);
  bytes.catch(() => {}); // awaited below, or abandoned with the read
  try {
    await db.query(create, params.values);
  } catch (e) {
    // A damaged gzip stream misleads the CSV reader; its own check names the real cause.
    if (f.file.compression === 'gzip') await bytes.catch((g) => g instanceof CorruptGzip && throwCorrupt(f, g));
    // So does a line longer than its buffer: it reports a quote that never ends.
    if (/unterminated quote/i.test((e as Error).message ?? '')) {
      const longest = (await bytes.catch(() => null))?.longest;
      if (longest && longest.bytes > MAX_LINE_BYTES)
        throw lineTooLong({ file: f.file.display, line: longest.line }, MAX_LINE_BYTES, longest.bytes);
    }
    counting.abort();
    throwReadError(e, f);
  }
  try {
    const scanned = await bytes.catch((g) => (g instanceof CorruptGzip ? throwCorrupt(f, g) : Promise.reject(g)));
    if (scanned?.nul) {
      throw invalidInput(
        { file: f.file.display, ...scanned.nul },
        'not a text file',
        'UTF-8 CSV text',
        'a NUL byte',
        'save the export as UTF-8 CSV; a NUL byte is never part of a FOCUS value',
      );
    }
    const rows = await sumQuery(
      db,
      f,
      `SELECT period, currency, count(*) AS rows, coalesce(sum(cost), 0) AS cost, coalesce(sum(list_cost), 0) AS list,
        ${ROW_ERRORS.map((k) => `count(*) FILTER (WHERE ${k}) AS ${k}`).join(', ')},
        count(*) FILTER (WHERE flagged) AS flagged_rows, coalesce(sum(cost) FILTER (WHERE flagged), 0) AS flagged_cost
      FROM ${table} GROUP BY period, currency ORDER BY period, currency`,
    );
    if (rows.length === 0) {
      throw invalidInput(
        { file: f.file.display, line: 2 },
        'no charges',
        'at least one data row after the header',
        'a header only',
        'export a billing period that has charges',
      );
    }
    const invalid = rows.reduce((n, r) => n + ROW_ERRORS.reduce((m, k) => m + Number(r[k]), 0), 0);
    const totalRows = rows.reduce((n, r) => n + Number(r.rows), 0);
    // A flag's `line`: the physical line in a CSV (1 is the header); the row number in Parquet.
    const toLines = async (recs: number[]) =>
      parquet
        ? new Map(recs.map((r) => [r, r]))
        : scanned?.lines === totalRows + 1
          ? new Map(recs.map((r) => [r, r + 1]))
          : recordLines(f.file.path, f.file.compression, recs);
    if (invalid > 0) await throwFirstRowError(db, f, config, table, invalid, toLines);
    // Three capitals are not yet a currency: the codes ISO 4217 assigns (checked per currency, not per row).
    const unknown = [...new Set(rows.map((r) => r.currency as string))].filter((c) => !isCurrencyCode(c));
    if (unknown.length > 0) await throwFirstRowError(db, f, config, table, 0, toLines, unknown);
    const flagged = (
      await db.query<{ rec: string; flag: string; period: string; currency: string; cost: string; list_cost: string }>(
        `SELECT rowid + 1 AS rec, flag, period, currency, cost, list_cost FROM ${table} WHERE flagged ORDER BY rowid`,
      )
    ).map(({ flag, ...r }) => ({ ...r, ...(JSON.parse(flag) as Omit<FlaggedRow, 'line' | keyof typeof r>) }));
    const lines = flagged.length ? await toLines(flagged.map((r) => Number(r.rec))) : new Map<number, number>();
    return {
      periods: rows.map((r) => ({
        period: r.period as string,
        currency: r.currency as string,
        rows: Number(r.rows),
        cost: r.cost as string,
        list: r.list as string,
        flagged_rows: Number(r.flagged_rows),
        flagged_cost: r.flagged_cost as string,
      })),
      flagged: flagged.map(({ rec, ...r }) => ({ ...r, line: lines.get(Number(rec)) ?? Number(rec) + 1 })),
    };
  } finally {
    counting.abort();
    await db.query(`DROP TABLE ${table}`);
  }
}

const ERROR_TEXT: Record<RowError, { column: FocusField | null; expected: string; hint: string }> = {
  bad_text: {
    column: null,
    expected: 'text without NUL characters',
    hint: 'a NUL character is never part of a FOCUS value; export the data again',
  },
  bad_period: {
    column: 'billingPeriodStart',
    expected: 'an ISO 8601 date or datetime such as 2025-01-01 or 2025-01-01T00:00:00Z, between 1900 and 2199',
    hint: 'FOCUS timestamps are ISO 8601 (UTC, or with an offset such as +05:30; not a zone name); re-export, or convert dates like 1/5/25 to 2025-01-05',
  },
  bad_cost: {
    column: 'billedCost',
    expected: 'a decimal number such as 12.34 or 1.5E-3',
    hint: 'FOCUS amounts are plain decimals: no currency symbols, thousands separators or units',
  },
  bad_list: {
    column: 'listCost',
    expected: 'a decimal number such as 12.34, or an empty value',
    hint: 'FOCUS amounts are plain decimals: no currency symbols, thousands separators or units',
  },
  bad_currency: {
    column: 'currency',
    expected: 'a three-letter ISO 4217 currency code such as USD',
    hint: 'BillingCurrency holds the code (USD), not a symbol ($)',
  },
  bad_charge_start: {
    column: 'chargePeriodStart',
    expected: 'an ISO 8601 date or datetime such as 2025-01-01T00:00:00Z, between 1900 and 2199',
    hint: 'FOCUS timestamps are ISO 8601 (UTC, or with an offset such as +05:30; not a zone name)',
  },
  bad_charge_end: {
    column: 'chargePeriodEnd',
    expected: "an ISO 8601 date or datetime no earlier than the row's ChargePeriodStart",
    hint: 'ChargePeriodEnd is the (exclusive) end of the charge; it cannot come before its start',
  },
};

/**
 * Throws the located error of the first invalid row (`count` invalid values in all), or with
 * `currencies`, of the first row billed in one of those unknown currencies.
 */
async function throwFirstRowError(
  db: Database,
  f: ChargeFile,
  config: Config,
  table: string,
  count: number,
  toLines: (recs: number[]) => Promise<Map<number, number>>,
  currencies?: string[],
): Promise<never> {
  const params = new Params();
  const where = currencies ? `list_contains(${params.add(currencies)}, currency)` : ROW_ERRORS.join(' OR ');
  const [first] = await db.query<Record<RowError, boolean> & { rec: string; currency: string; raw: string | null }>(
    `SELECT rowid + 1 AS rec, ${ROW_ERRORS.join(', ')}, currency, invalid::VARCHAR AS raw FROM ${table} WHERE ${where} ORDER BY rowid LIMIT 1`,
    params.values,
  );
  if (!first) throw new Error(`${f.file.display}: invalid rows found, but the first could not be located`);
  const kind: RowError = currencies ? 'bad_currency' : (ROW_ERRORS.find((k) => first[k] === true) as RowError);
  const values = (first.raw ? JSON.parse(first.raw) : {}) as Record<string, string | null>;
  const text = ERROR_TEXT[kind];
  const column = kind === 'bad_cost' ? costColumn(config.billing.cost_basis) : text.column;
  const raw: string | null | undefined = currencies
    ? first.currency
    : {
        bad_text: null,
        bad_period: values.period_raw,
        bad_cost: values.cost_raw,
        bad_list: values.list_raw,
        bad_currency: values.currency_raw,
        bad_charge_start: values.charge_start_raw,
        bad_charge_end: values.charge_end_raw,
      }[kind];
  const rec = Number(first.rec);
  const line = (await toLines([rec])).get(rec);
  const others = count - 1;
  throw invalidInput(
    f.file.format === 'parquet' || column === null
      ? { file: f.file.display, row: rec }
      : { file: f.file.display, line, column: (f.columns[column] ?? 0) + 1 },
    column === null ? 'a text value' : FOCUS_COLUMNS[column],
    currencies ? 'an ISO 4217 currency code such as USD or EUR' : text.expected,
    kind === 'bad_text'
      ? 'a NUL character'
      : `${showValue(raw)}${others > 0 ? ` (and ${others} more invalid value${others > 1 ? 's' : ''} in the file)` : ''}`,
    currencies ? 'BillingCurrency holds a currency ISO 4217 assigns; check the export' : text.hint,
  );
}

function throwCorrupt(f: ChargeFile, e: Error): never {
  throw corruptGzip(f, e.message);
}

/** An aggregate over a scan's rows; a sum beyond DECIMAL(38,18) is the file's problem, said so. */
async function sumQuery(db: Database, f: ChargeFile, sql: string): Promise<Record<string, unknown>[]> {
  try {
    return await db.query(sql);
  } catch (e) {
    throwReadError(e, f);
  }
}
