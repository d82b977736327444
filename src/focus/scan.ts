/**
 * Scans one FOCUS file with DuckDB: per-period totals, validation counts and the flagged rows,
 * in one parallel pass. Line numbers (which need an ordered, serial pass) are looked up only for
 * the few rows that need them: the first invalid row, and flagged rows.
 */
import { createReadStream } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { invalidInput, showValue, UserError } from '../core/errors.ts';
import type { Database } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import {
  type ChargeFile,
  chargesSql,
  type FlagRule,
  ROW_ERRORS,
  type RowError,
  RULES_LIST_SQL,
  rawCostSql,
  readCsvSql,
  rowIdentitySql,
} from './charges-sql.ts';
import type { FocusField } from './columns.ts';
import { FOCUS_COLUMNS } from './columns.ts';
import { recordLines } from './lines.ts';

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
  /** Filled in by `locateFlaggedRows`. */
  line?: number;
}

export interface ScanResult {
  periods: PeriodTotals[];
  flagged: FlaggedRow[];
}

/** Translates DuckDB's CSV reader errors into located messages. */
export function csvError(e: unknown, f: ChargeFile): never {
  const message = (e as Error).message ?? String(e);
  const line = /CSV Error on Line: (\d+)/.exec(message)?.[1];
  const location = { file: f.file.display, line: line ? Number(line) : undefined };
  if (/unterminated quote/i.test(message)) {
    throw invalidInput(
      location,
      'malformed CSV',
      'a closing double quote',
      'a quoted value that never ends',
      'a field with a " must be quoted and its quotes doubled ("")',
    );
  }
  const columns = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(message);
  if (columns) {
    throw invalidInput(
      location,
      'malformed CSV',
      `${columns[1]} fields as in the header`,
      `${columns[2]} fields`,
      'values with commas must be quoted',
    );
  }
  if (/invalid state|Invalid unicode|not utf-8/i.test(message)) {
    throw invalidInput(
      location,
      'malformed CSV',
      'RFC 4180 CSV text',
      'bytes the CSV reader cannot parse',
      'check the export is a complete, uncorrupted CSV',
    );
  }
  if (/gzip|decompress|zlib/i.test(message)) {
    throw invalidInput(
      location,
      'corrupt gzip file',
      'a complete .csv.gz',
      'a stream that ends early or is damaged',
      'download the export again',
    );
  }
  throw new UserError(`could not read the file: ${message.split('\n')[0]}`, { location, hint: 'check that the file is a CSV export' });
}

export async function scanFile(db: Database, f: ChargeFile, config: Config, period: string | null): Promise<ScanResult> {
  const params = new Params();
  const sql = `WITH c AS (${chargesSql(f, { config, period }, params)})
    SELECT period, currency, count(*) AS rows,
      coalesce(sum(cost), 0) AS cost, coalesce(sum(list_cost), 0) AS list,
      ${ROW_ERRORS.map((k) => `count(*) FILTER (WHERE ${k}) AS ${k}`).join(', ')},
      count(*) FILTER (WHERE flagged) AS flagged_rows,
      coalesce(sum(cost) FILTER (WHERE flagged), 0) AS flagged_cost,
      list({
        row_hash: row_hash, cost_raw: cost_raw, rules: ${RULES_LIST_SQL}, pattern_index: pattern_index,
        period: period, currency: currency, pi_email: pi_email, project_id: project_id, fund_org: fund_org,
        service: service, resource_id: resource_id, resource_name: resource_name,
        charge_date: strftime(charge_start, '%Y-%m-%d'), cost: cost, list_cost: list_cost
      }) FILTER (WHERE flagged) AS flagged
    FROM c GROUP BY period, currency ORDER BY period, currency`;
  let rows: Record<string, unknown>[];
  try {
    rows = await db.query(sql, params.values);
  } catch (e) {
    csvError(e, f);
  }
  if (rows.length === 0) {
    throw invalidInput(
      { file: f.file.display, line: 2 },
      'no charges',
      'at least one data row after the header',
      'a header only',
      'export a billing period that has charges',
    );
  }
  const errors = ROW_ERRORS.filter((k) => rows.some((r) => Number(r[k]) > 0));
  if (errors.length > 0) {
    const count = rows.reduce((n, r) => n + ROW_ERRORS.reduce((m, k) => m + Number(r[k]), 0), 0);
    await throwFirstRowError(db, f, config, count);
  }
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
    flagged: rows.flatMap((r) => (r.flagged as FlaggedRow[] | null) ?? []),
  };
}

const ERROR_TEXT: Record<RowError, { column: FocusField; expected: string; hint: string }> = {
  bad_period: {
    column: 'billingPeriodStart',
    expected: 'a UTC date or datetime such as 2025-01-01 or 2025-01-01T00:00:00Z',
    hint: 'FOCUS timestamps are ISO 8601; re-export, or convert dates like 1/5/25 to 2025-01-05',
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
    expected: 'a UTC date or datetime such as 2025-01-01T00:00:00Z',
    hint: 'FOCUS timestamps are ISO 8601',
  },
};

async function throwFirstRowError(db: Database, f: ChargeFile, config: Config, count: number): Promise<never> {
  const params = new Params();
  const sql = `SELECT rec, ${ROW_ERRORS.map((k) => `${k}`).join(', ')}, period_raw, cost_raw, list_raw, currency_raw, charge_start_raw
    FROM (${chargesSql(f, { config, period: null, withRecordNumbers: true }, params)})
    WHERE ${ROW_ERRORS.join(' OR ')} ORDER BY rec LIMIT 1`;
  const [row] = await db.query(sql, params.values);
  if (!row) throw new UserError(`${f.file.display}: invalid rows found, but the first could not be located`);
  const kind = ROW_ERRORS.find((k) => row[k] === true) as RowError;
  const text = ERROR_TEXT[kind];
  const column = kind === 'bad_cost' && config.billing.cost_basis === 'EffectiveCost' ? 'effectiveCost' : text.column;
  const raw = {
    bad_period: row.period_raw,
    bad_cost: row.cost_raw,
    bad_list: row.list_raw,
    bad_currency: row.currency_raw,
    bad_charge_start: row.charge_start_raw,
  }[kind] as string | null;
  const rec = Number(row.rec);
  const line = (await recordLines(f.file.path, f.file.compression, [rec])).get(rec);
  const others = count - 1;
  throw invalidInput(
    { file: f.file.display, line, column: (f.columns[column] ?? 0) + 1 },
    FOCUS_COLUMNS[column],
    text.expected,
    `${showValue(raw)}${others > 0 ? ` (and ${others} more invalid value${others > 1 ? 's' : ''} in the file)` : ''}`,
    text.hint,
  );
}

/**
 * Finds the lines of flagged rows, as hash → lines in file order. A serial, numbered pass reads
 * only the cost column and keeps rows whose cost text some flagged row has; a cost shared by
 * rows of different content is settled by hashing those candidates in a second pass.
 */
export async function locateFlaggedRows(
  db: Database,
  f: ChargeFile,
  config: Config,
  flagged: FlaggedRow[],
  totalRows: number,
): Promise<Map<string, number[]>> {
  const byHash = new Map<string, number[]>();
  if (flagged.length === 0) return byHash;
  const hashesByCost = new Map<string, string[]>();
  for (const r of flagged) hashesByCost.set(r.cost_raw, [...(hashesByCost.get(r.cost_raw) ?? []), r.row_hash]);
  // Counting newlines (JS) overlaps the numbered pass (DuckDB's threads).
  const simple = isOneRecordPerLine(f, totalRows);
  const params = new Params();
  const candidates = await db.query<{ rec: string; cost_raw: string }>(
    `SELECT rec, cost_raw FROM (SELECT row_number() OVER () AS rec, ${rawCostSql(f, config)} AS cost_raw FROM ${readCsvSql(f, params)})
     WHERE cost_raw IN (SELECT unnest(${params.add([...hashesByCost.keys()])}::VARCHAR[])) ORDER BY rec`,
    params.values,
  );
  const recsByCost = new Map<string, number[]>();
  for (const c of candidates) recsByCost.set(c.cost_raw, [...(recsByCost.get(c.cost_raw) ?? []), Number(c.rec)]);
  const ambiguous: string[] = [];
  for (const [cost, hashes] of hashesByCost) {
    const recs = recsByCost.get(cost) ?? [];
    // Every row with this cost is flagged, and they are all the same row: no doubt which is which.
    if (recs.length === hashes.length && new Set(hashes).size === 1) byHash.set(hashes[0] as string, recs);
    else ambiguous.push(cost);
  }
  if (ambiguous.length > 0) {
    const p2 = new Params();
    const wanted = new Set(ambiguous.flatMap((c) => hashesByCost.get(c) ?? []));
    const rows = await db.query<{ rec: string; row_hash: string }>(
      `SELECT rec, row_hash FROM (SELECT row_number() OVER () AS rec, ${rowIdentitySql(f, p2)} AS row_hash, ${rawCostSql(f, config)} AS cost_raw
         FROM ${readCsvSql(f, p2)}) WHERE cost_raw IN (SELECT unnest(${p2.add(ambiguous)}::VARCHAR[])) ORDER BY rec`,
      p2.values,
    );
    for (const r of rows) if (wanted.has(r.row_hash)) byHash.set(r.row_hash, [...(byHash.get(r.row_hash) ?? []), Number(r.rec)]);
  }
  const recs = [...byHash.values()].flat();
  const lines = (await simple) ? null : await recordLines(f.file.path, f.file.compression, recs);
  for (const [hash, list] of byHash)
    byHash.set(
      hash,
      list.map((rec) => lines?.get(rec) ?? rec + 1),
    );
  return byHash;
}

/**
 * True when record N is on line N + 1: the file has exactly one line per record plus the header
 * (no blank lines, no quoted newlines). Counting newlines is fast; a full quote-aware scan is not.
 */
async function isOneRecordPerLine(f: ChargeFile, totalRows: number): Promise<boolean> {
  if (f.file.compression !== 'none') return false;
  let newlines = 0;
  let last = 10;
  for await (const chunk of createReadStream(f.file.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
  }
  const lines = newlines + (last === 10 ? 0 : 1);
  return lines === totalRows + 1;
}
