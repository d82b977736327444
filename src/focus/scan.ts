/**
 * Scans one FOCUS file with DuckDB: per-period totals, validation counts and the flagged rows,
 * with their record numbers, in parallel reads (one; or by Tags text, one and then the held
 * rows' lines cut out in JavaScript or a second read: see scanFile). Record numbers become line
 * numbers by counting newlines (JavaScript, alongside DuckDB's threads), or by a quote-aware
 * scan when some record spans lines or blank lines are skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, MAX_FLAGS_LIMIT } from '../config/schema.ts';
import { isCurrencyCode } from '../core/currency.ts';
import { invalidInput, showValue, UserError } from '../core/errors.ts';
import type { Database } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import { isPeriod } from '../domain/period.ts';
import { CORE_ATTRIBUTES, type FlagRule, ROW_ERRORS, ROW_RULES, type RowError, TAG_RULES } from '../domain/rules.ts';
import { anyRuleSql, type ChargeFile, chargesSql, periodStartTexts, RULES_LIST_SQL, rowChargesSql, tagsSql } from './charges-sql.ts';
import type { FocusField } from './columns.ts';
import { costColumn, FOCUS_COLUMNS } from './columns.ts';
import { corruptGzip, lineTooLong, throwReadError } from './duckdb-errors.ts';
import { csvBytes } from './file.ts';
import { type ByteScan, CorruptGzip, type KeptPlain, recordLines, scanBytes } from './lines.ts';
import { col, MAX_LINE_BYTES, readFileSql, sampleTagKeysSql } from './read-sql.ts';
import { cutTagLines } from './tag-lines.ts';
import { tagsRepeat } from './tag-sample.ts';

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
  /** ChargeCategory as read (FOCUS's spelling when it is one of its values in another case). */
  category: string;
  resource_id: string | null;
  resource_name: string | null;
  charge_date: string | null;
  /** The core attributes Tags gives twice with different values ('pi_email, project_id'), or null. */
  tags_conflict: string | null;
  /** The core attributes Tags gives as no text: an object, list, boolean, or a number with a fraction or exponent; or null. */
  tags_not_text: string | null;
  cost: string;
  list_cost: string;
  /** Physical line in the file (1 is the header). */
  line: number;
}

export interface ScanResult {
  periods: PeriodTotals[];
  flagged: FlaggedRow[];
  /** With `keepPlain`: the .csv.gz's bytes inflated there, and its sha256 (null when none was written). */
  plain: KeptPlain | null;
  /** The CSV text's bytes, for a .csv.gz inflated (null for Parquet, or when the scan was cut short). */
  bytes: number | null;
  /** How a scan by Tags text found the rows it holds or refuses: lines cut in JavaScript, a second read, or neither (none, or row by row). */
  located: 'lines' | 'read' | null;
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
 * The month a file's first row bills, when its period's start is written as exports usually write
 * it (periodStartTexts), or null: a hint for a scan without a period, which costs one row's read.
 */
async function firstRowPeriod(db: Database, f: ChargeFile): Promise<string | null> {
  const i = f.columns.billingPeriodStart;
  if (i === undefined) return null;
  const params = new Params();
  try {
    const [row] = await db.query<{ t: string | null }>(`SELECT ${col(i)} AS t FROM ${readFileSql(f, params)} LIMIT 1`, params.values);
    const text = row?.t ?? '';
    const month = text.slice(0, 7);
    return isPeriod(month) && periodStartTexts(month).includes(text) ? month : null;
  } catch {
    return null; // the full scan reports what is wrong with the file
  }
}

export interface ScanOptions {
  /** Group the rows by Tags text first (see tagsRepeat); decided from the file's first rows when not said. */
  byTags?: boolean;
  /** Buckets of the bitmap of held Tags texts (by default 65,536): fewer read more rows again (tests). */
  textBuckets?: number;
  /**
   * Refuse a file that holds more rows for review than this (ingest's `flag_rules.max_flags`),
   * once they are counted and before they are read: two million untagged rows once took four
   * minutes to exhaust the process's memory.
   */
  maxFlagged?: number;
  /**
   * For a .csv.gz: write the bytes the byte scan inflates to this path (ingest keeps them as the
   * month's plain copy), and read the file from there after the first read: the second read,
   * and every later one, then parses plain text on every thread instead of inflating on one.
   */
  keepPlain?: string;
  /** Whether held rows may be found by cutting their lines out in JavaScript (see locateByLines); tests turn it off. */
  cutLines?: boolean;
  /**
   * Without a period: the month most rows likely bill (see ChargesOptions.usualPeriod), or null
   * for none; by default the month the first row writes as its period's start, as exports do.
   */
  usualPeriod?: string | null;
}

/** What each located row keeps: its totals, verdicts, and (when held or invalid) what flags and messages need. */
const LOCATED_COLUMNS = `period, currency, cost, list_cost, flagged, ${ROW_ERRORS.join(', ')},
      CASE WHEN flagged THEN to_json({
        row_hash: row_hash, cost_raw: cost_raw, rules: ${RULES_LIST_SQL}, pattern_index: pattern_index,
        pi_email: pi_email, project_id: project_id, fund_org: fund_org, service: service, category: category,
        resource_id: resource_id, resource_name: resource_name, charge_date: strftime(charge_start, '%Y-%m-%d'),
        tags_conflict: tags_conflict, tags_not_text: tags_not_text
      }) END AS flag,
      CASE WHEN ${ROW_ERRORS.join(' OR ')} THEN to_json({
        period_raw: period_raw, cost_raw: cost_raw, list_raw: list_raw, currency_raw: currency_raw,
        charge_start_raw: charge_start_raw, charge_end_raw: charge_end_raw
      }) END AS invalid`;

/** Per period and currency: rows, sums, invalid values by kind, and the rows held for review. */
const TOTALS = (rows: string) => `period, currency, ${rows} AS rows, coalesce(sum(cost), 0) AS cost, coalesce(sum(list_cost), 0) AS list,
        ${ROW_ERRORS.map((k) => `coalesce(${rows} FILTER (WHERE ${k}), 0) AS ${k}`).join(', ')},
        coalesce(${rows} FILTER (WHERE flagged), 0) AS flagged_rows, coalesce(sum(cost) FILTER (WHERE flagged), 0) AS flagged_cost`;

/** The rows a scan located: a table of (some of) the file's rows, with the SQL of each one's record number (1 = first data row). */
interface Located {
  table: string;
  rec: string;
}

/**
 * Reads a file, in parallel, for what ingest needs: per-period totals, the located error of the
 * first invalid row, and the rows held for review with their record numbers and line numbers.
 *
 * Row by row: one read into a temporary table of every row's verdict. DuckDB keeps a
 * single-table scan's order when it materialises it, so `rowid + 1` is the record number.
 *
 * By Tags text (`byTags`), where rows share few texts: the first read groups the rows by their
 * Tags text and everything else that decides their totals and verdicts, and reads Tags once
 * per group. Only when some rows are held or invalid, they are found: where every record is one
 * line and the texts of the groups held are few enough, their lines are cut out of the file in
 * JavaScript (`locateByLines`); otherwise a second read keeps, in the file's order, the text of
 * the rows that may be (a superset: the rules their other columns decide, and the texts held,
 * by a bitmap of their hashes). Either way the same SQL as row by row judges just those rows.
 * Both ways give the same result; each checks that it finds as many as the first read counted.
 */
export async function scanFile(
  db: Database,
  file: ChargeFile,
  config: Config,
  period: string | null,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const f = await withTagKeys(db, file);
  const usualPeriod = period ?? (options.usualPeriod !== undefined ? options.usualPeriod : await firstRowPeriod(db, f));
  const byTags = options.byTags ?? (await tagsRepeat(db, f, config, CORE_ATTRIBUTES));
  const counting = new AbortController();
  const parquet = f.file.format === 'parquet';
  // Lines, NUL bytes and gzip integrity, counted in JavaScript while DuckDB reads.
  const source = csvBytes(f.file);
  const keepPlain = source.compression === 'gzip' ? options.keepPlain : undefined;
  const bytes: Promise<(ByteScan & { kept: KeptPlain | null }) | null> = parquet
    ? Promise.resolve(null)
    : scanBytes(source.path, source.compression, counting.signal, { keepPlain });
  bytes.catch(() => {}); // awaited below, or abandoned with the read
  const made: string[] = [];
  const table = () => {
    const name = `_scan_${++scans}`;
    made.push(name);
    return name;
  };
  /** A read of the file: errors are the file's, located where they can be. */
  const read = async (sql: string, params: Params) => {
    try {
      await db.query(sql, params.values);
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
  };
  try {
    // The rows' totals, and a table to locate rows in (by Tags text: made below, when needed).
    let totalsSql: string;
    let located: Located | undefined;
    let groups: string | undefined;
    let how: ScanResult['located'] = null;
    if (byTags) {
      groups = table();
      const params = new Params();
      const options = { config, period, usualPeriod };
      // A row its other columns hold keeps its amount's text in its group's key, so that its
      // line can be told from its text's other rows (locateByLines).
      const grouped = `SELECT _tags_raw, period, currency, ${ROW_ERRORS.join(', ')}, ${anyRuleSql(ROW_RULES)} AS _row_flagged,
          CASE WHEN ${anyRuleSql(ROW_RULES)} THEN cost_raw END AS _row_cost,
          count(*) AS rows, sum(cost) AS cost, sum(list_cost) AS list_cost
        FROM (${rowChargesSql(f, options, params)}) GROUP BY ALL`;
      await read(
        `CREATE TEMP TABLE ${groups} AS SELECT _tags_raw, period, currency, ${ROW_ERRORS.join(', ')}, rows, cost, list_cost,
          _row_flagged, _row_cost, ${anyRuleSql(TAG_RULES)} AS _tag_flagged
        FROM (${tagsSql(grouped, f, options, params)})`,
        params,
      );
      totalsSql = `SELECT ${TOTALS('sum(rows)')} FROM (SELECT *, _row_flagged OR _tag_flagged AS flagged FROM ${groups})
        GROUP BY period, currency ORDER BY period, currency`;
    } else {
      located = { table: table(), rec: 'rowid + 1' };
      const params = new Params();
      await read(
        `CREATE TEMP TABLE ${located.table} AS SELECT ${LOCATED_COLUMNS} FROM (${chargesSql(f, { config, period, usualPeriod, inFileOrder: true }, params)})`,
        params,
      );
      totalsSql = `SELECT ${TOTALS('count(*)')} FROM ${located.table} GROUP BY period, currency ORDER BY period, currency`;
    }
    const scanned = await bytes.catch((g) => (g instanceof CorruptGzip ? throwCorrupt(f, g) : Promise.reject(g)));
    // From here on a .csv.gz is read from the plain copy the byte scan wrote, when it wrote one.
    const readFrom = scanned?.kept ? { ...f, file: { ...f.file, plain: scanned.kept.path } } : f;
    if (scanned?.nul) {
      throw invalidInput(
        { file: f.file.display, ...scanned.nul },
        'not a text file',
        'UTF-8 CSV text',
        'a NUL byte',
        'save the export as UTF-8 CSV; a NUL byte is never part of a FOCUS value',
      );
    }
    // DuckDB refuses such a line, but its parallel reader drops a last line longer than its
    // buffer without a word (a 6 MB last row: one row of two counted), so the count says it.
    if (scanned && scanned.longest.bytes > MAX_LINE_BYTES)
      throw lineTooLong({ file: f.file.display, line: scanned.longest.line }, MAX_LINE_BYTES, scanned.longest.bytes);
    const rows = await sumQuery(db, f, totalsSql);
    if (rows.length === 0) {
      throw invalidInput(
        parquet ? { file: f.file.display } : { file: f.file.display, line: 2 },
        'no charges',
        parquet ? 'at least one row' : 'at least one data row after the header',
        parquet ? 'a Parquet file without rows' : 'a header only',
        'export a billing period that has charges',
      );
    }
    const invalid = rows.reduce((n, r) => n + ROW_ERRORS.reduce((m, k) => m + Number(r[k]), 0), 0);
    const totalRows = rows.reduce((n, r) => n + Number(r.rows), 0);
    const flaggedRows = rows.reduce((n, r) => n + Number(r.flagged_rows), 0);
    // Three capitals are not yet a currency: the codes ISO 4217 assigns (checked per currency, not per row).
    const unknown = [...new Set(rows.map((r) => r.currency as string))].filter((c) => !isCurrencyCode(c));
    // An invalid value is the file's first problem: it is located below, and thrown.
    if (invalid === 0 && unknown.length === 0 && options.maxFlagged !== undefined && flaggedRows > options.maxFlagged)
      throw tooManyHeld(f, { held: flaggedRows, rows: totalRows, max: options.maxFlagged, period, totals: rows });
    if (groups !== undefined && (invalid > 0 || unknown.length > 0 || flaggedRows > 0)) {
      const scan = {
        groups,
        table: table(),
        read,
        invalid,
        unknown,
        flaggedRows,
        buckets: options.textBuckets ?? TEXT_BUCKETS,
        usualPeriod,
      };
      // Where every record is one line, the lines of the texts held are cut out in JavaScript.
      const oneLineEach = !parquet && scanned?.lines === totalRows + 1 && options.cutLines !== false;
      located = (oneLineEach && (await locateByLines(db, readFrom, config, period, { ...scan, rows: totalRows }))) || undefined;
      how = located ? 'lines' : 'read';
      located ??= await locate(db, readFrom, config, period, scan);
    }
    // A flag's `line`: the physical line in a CSV (1 is the header); the row number in Parquet.
    const toLines = async (recs: number[]) =>
      parquet
        ? new Map(recs.map((r) => [r, r]))
        : scanned?.lines === totalRows + 1
          ? new Map(recs.map((r) => [r, r + 1]))
          : recordLines(csvBytes(readFrom.file), recs);
    if (invalid > 0) await throwFirstRowError(db, readFrom, config, located as Located, invalid, toLines);
    if (unknown.length > 0) await throwFirstRowError(db, readFrom, config, located as Located, 0, toLines, unknown);
    const flagged = located ? await heldRows(db, located) : [];
    // Each row's `line` holds its record number until here.
    const lines = flagged.length ? await toLines(flagged.map((r) => r.line)) : new Map<number, number>();
    for (const r of flagged) r.line = lines.get(r.line) ?? r.line + 1;
    return {
      periods: periodTotals(rows),
      flagged,
      plain: scanned?.kept ?? null,
      bytes: scanned?.bytes ?? null,
      located: how,
    };
  } finally {
    counting.abort();
    for (const name of made) await db.query(`DROP TABLE IF EXISTS ${name}`);
  }
}

/**
 * The held rows, in file order, each with its record number as `line`: read as JSON texts made by
 * DuckDB, which V8 parses into the rows' objects directly, and put in order here (an ordered
 * aggregate sorts the long texts: 0.9 s more for 100,000 made-up rows). Reading 100,000 held rows
 * as DuckDB's row objects and spreading each into a flagged row, twice, took about 4 s, most of it
 * collecting the copies; this takes about 1.5 s. One text per HELD_CHUNK rows: a line may hold
 * 2 MB (MAX_LINE_BYTES), and one text of them all outgrew what DuckDB could allocate (1 GB for
 * 6,000 rows of 100 KB) before flags.yaml's size could refuse them.
 */
async function heldRows(db: Database, located: Located): Promise<FlaggedRow[]> {
  // A held row's `flag` is a JSON object (to_json of a struct, never empty): its members follow these.
  const head = `to_json({period: period, currency: currency, cost: cost::VARCHAR, list_cost: list_cost::VARCHAR, line: ${located.rec}})`;
  const chunks = await db.query<{ rows: string }>(
    `SELECT string_agg(substr(h, 1, length(h) - 1) || ',' || substr(f, 2), ',') AS rows
     FROM (SELECT ${head}::VARCHAR AS h, flag::VARCHAR AS f, (row_number() OVER () - 1) // ${HELD_CHUNK} AS chunk
       FROM ${located.table} WHERE flagged)
     GROUP BY chunk`,
  );
  const rows: FlaggedRow[] = [];
  for (const { rows: text } of chunks) for (const row of JSON.parse(`[${text}]`) as FlaggedRow[]) rows.push(row);
  return rows.sort((a, b) => a.line - b.line); // record numbers: each row's own
}

/** Held rows per JSON text: at most some 256 MB of 2 MB lines, their quotes escaped. */
const HELD_CHUNK = 64;

/** Buckets of the Tags texts' hashes in the bitmap that finds the rows of held texts: one bit each, 8 KB. */
const TEXT_BUCKETS = 65_536;

/**
 * The second read of a scan by Tags text: the rows that may be held or invalid, kept as text in
 * the file's order (rowid + 1 is the record number) and judged by the row-by-row SQL.
 */
async function locate(
  db: Database,
  f: ChargeFile,
  config: Config,
  period: string | null,
  scan: {
    groups: string;
    table: string;
    read: (sql: string, params: Params) => Promise<void>;
    invalid: number;
    unknown: string[];
    flaggedRows: number;
    buckets: number;
    usualPeriod: string | null;
  },
): Promise<Located> {
  const params = new Params();
  const [held] = await db.query<{ rows: string; tags: string; buckets: number[] | null }>(
    `SELECT count(*) FILTER (WHERE _row_flagged) AS rows, count(*) FILTER (WHERE _tag_flagged) AS tags,
      list(DISTINCT (hash(_tags_raw) % ${scan.buckets})::INTEGER) FILTER (WHERE _tag_flagged) AS buckets
    FROM ${scan.groups}`,
  );
  /** The rows whose Tags text's hash falls in a held text's bucket. */
  const heldText = () => {
    const bits = Array.from({ length: scan.buckets }, () => '0');
    for (const b of held?.buckets ?? []) bits[b] = '1';
    return `get_bit(${params.add(bits.join(''))}::BIT, (hash(_tags_raw) % ${scan.buckets})::INTEGER) = 1`;
  };
  const maybe = [
    scan.invalid > 0 ? `(${ROW_ERRORS.join(' OR ')})` : null,
    scan.unknown.length > 0 ? inCurrencies(scan.unknown, params) : null,
    Number(held?.rows) > 0 ? `(${anyRuleSql(ROW_RULES)})` : null,
    Number(held?.tags) > 0 ? heldText() : null,
  ].filter((c) => c !== null);
  const texts = `${scan.table}_text`;
  const columns = f.file.header.map((_, i) => col(i));
  await scan.read(
    `CREATE TEMP TABLE ${texts} AS SELECT CASE WHEN ${maybe.join(' OR ')} THEN [${columns.join(', ')}] END AS raw
    FROM (${rowChargesSql(f, { config, period, usualPeriod: scan.usualPeriod, inFileOrder: true }, params)})`,
    params,
  );
  let found: Found;
  try {
    const rows = `(SELECT rowid + 1 AS _rec, ${columns.map((c, i) => `raw[${i + 1}] AS ${c}`).join(', ')} FROM ${texts} WHERE raw IS NOT NULL)`;
    found = await judge(db, f, config, period, rows, new Params(), scan);
  } finally {
    await db.query(`DROP TABLE IF EXISTS ${texts}`);
  }
  if (found.flagged !== scan.flaggedRows || found.invalid !== scan.invalid) {
    throw new Error(
      `${f.file.display}: the rows located (${found.flagged} held, ${found.invalid} invalid values) differ from those counted (${scan.flaggedRows}, ${scan.invalid})`,
    );
  }
  return { table: scan.table, rec: 'rec' };
}

/** SQL: the row's currency is one of `currencies` (none: false). */
function inCurrencies(currencies: string[], params: Params): string {
  return currencies.length > 0 ? `list_contains(${params.add(currencies)}, currency)` : 'false';
}

/** What a table of located rows holds: rows held, invalid values, and rows in the scan's unknown currencies. */
interface Found {
  flagged: number;
  invalid: number;
  unknown: number;
}

/** Judges `rows` (the file's columns and each row's record number, `_rec`) by the row-by-row SQL into `scan.table`. */
async function judge(
  db: Database,
  f: ChargeFile,
  config: Config,
  period: string | null,
  rows: string,
  params: Params,
  scan: { table: string; unknown: string[] },
): Promise<Found> {
  await db.query(
    `CREATE TEMP TABLE ${scan.table} AS SELECT _rec AS rec, ${LOCATED_COLUMNS}
    FROM (${chargesSql(f, { config, period, rows }, params)})`,
    params.values,
  );
  const counted = new Params();
  const [found] = await db.query<Record<keyof Found, string>>(
    `SELECT count(*) FILTER (WHERE flagged) AS flagged, ${ROW_ERRORS.map((k) => `count(*) FILTER (WHERE ${k})`).join(' + ')} AS invalid,
      count(*) FILTER (WHERE ${inCurrencies(scan.unknown, counted)}) AS unknown
    FROM ${scan.table}`,
    counted.values,
  );
  return { flagged: Number(found?.flagged), invalid: Number(found?.invalid), unknown: Number(found?.unknown) };
}

/**
 * The second step of a scan by Tags text where every record is one line (`rows` records): the
 * lines that may be held or invalid are cut out of the file in JavaScript (tag-lines.ts), and
 * only those are read by DuckDB and judged. They are every line of a text Tags holds (or of a
 * group with an invalid value or unknown currency), and the lines of a text whose rows only
 * their other columns hold (large, negative, above list, another period, a pattern) that have a
 * held row's amount, as the first read's groups keep it (`_row_cost`). Null, for locate's full
 * read, when the first are more than a quarter of the file or not exactly those texts' rows, all
 * of them are more than a quarter, or the rows judged are not exactly the held and invalid ones
 * counted (every row judged held is held by its own content: equal counts mean all are found).
 */
async function locateByLines(
  db: Database,
  f: ChargeFile,
  config: Config,
  period: string | null,
  scan: { groups: string; table: string; invalid: number; unknown: string[]; flaggedRows: number; rows: number },
): Promise<Located | null> {
  const column = f.columns.tags;
  if (column === undefined) return null;
  const params = new Params();
  const unknown = inCurrencies(scan.unknown, params);
  // Every row of a text Tags holds, or of a group with an invalid value or unknown currency; of
  // a text whose rows only their other columns hold, the rows with a held row's amount text.
  const whole = `_tag_flagged OR ${ROW_ERRORS.join(' OR ')} OR ${unknown}`;
  const [held] = await db.query<{
    texts: string[] | null;
    untexted: boolean;
    candidates: string;
    pairs: { t: string | null; c: string | null }[] | null;
    unknown: string;
  }>(
    `WITH m AS (SELECT DISTINCT _tags_raw FROM ${scan.groups} WHERE ${whole})
    SELECT (SELECT list(_tags_raw) FROM m WHERE _tags_raw IS NOT NULL) AS texts,
      EXISTS (SELECT 1 FROM m WHERE _tags_raw IS NULL) AS untexted,
      (SELECT coalesce(sum(rows), 0) FROM ${scan.groups} g
        WHERE EXISTS (SELECT 1 FROM m WHERE m._tags_raw IS NOT DISTINCT FROM g._tags_raw)) AS candidates,
      (SELECT list(DISTINCT {t: _tags_raw, c: _row_cost}) FROM ${scan.groups} WHERE _row_flagged) AS pairs,
      (SELECT coalesce(sum(rows), 0) FROM ${scan.groups} WHERE ${unknown}) AS unknown`,
    params.values,
  );
  const candidates = Number(held?.candidates);
  if (!held || candidates * 4 > scan.rows) return null;
  const dir = await mkdtemp(join(tmpdir(), 'openchargeback-held-'));
  const texts = `${scan.table}_cut`;
  try {
    const cut = join(dir, 'held.csv');
    const amounts = f.columns[costColumn(config.billing.cost_basis)];
    if ((held.pairs ?? []).length > 0 && amounts === undefined) return null;
    const source = csvBytes(f.file);
    const cutLines = await cutTagLines(
      source.path,
      source.compression,
      {
        column,
        columns: f.file.header.length,
        texts: held.texts ?? [],
        withoutText: held.untexted,
        pairs: { column: amounts ?? 0, values: (held.pairs ?? []).map((p) => [p.t, p.c] as const) },
        limit: Math.floor(scan.rows / 4),
      },
      cut,
    );
    // Every row of the whole texts, and no more than a quarter of the file in all.
    if (cutLines === null || cutLines.whole !== candidates) return null;
    const { lines } = cutLines;
    const read = new Params();
    const cutFile: ChargeFile = { ...f, file: { ...f.file, path: cut, compression: 'none', plain: undefined } };
    await db.query(`CREATE TEMP TABLE ${texts} AS SELECT * FROM ${readFileSql(cutFile, read)}`, read.values);
    const judged = new Params();
    const recs = judged.add(lines.map((line) => line - 1));
    const columns = f.file.header.map((_, i) => col(i)).join(', ');
    const found = await judge(
      db,
      f,
      config,
      period,
      `(SELECT CAST(${recs}[rowid + 1] AS BIGINT) AS _rec, ${columns} FROM ${texts})`,
      judged,
      scan,
    );
    if (found.flagged === scan.flaggedRows && found.invalid === scan.invalid && found.unknown === Number(held.unknown))
      return { table: scan.table, rec: 'rec' };
    await db.query(`DROP TABLE IF EXISTS ${scan.table}`);
    return null;
  } catch {
    await db.query(`DROP TABLE IF EXISTS ${scan.table}`);
    return null; // locate's read says what is wrong, if anything is
  } finally {
    await db.query(`DROP TABLE IF EXISTS ${texts}`);
    await rm(dir, { recursive: true, force: true });
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
  located: Located,
  count: number,
  toLines: (recs: number[]) => Promise<Map<number, number>>,
  currencies?: string[],
): Promise<never> {
  const params = new Params();
  const where = currencies ? `list_contains(${params.add(currencies)}, currency)` : ROW_ERRORS.join(' OR ');
  const [first] = await db.query<Record<RowError, boolean> & { rec: string; currency: string; raw: string | null }>(
    `SELECT ${located.rec} AS rec, ${ROW_ERRORS.join(', ')}, currency, invalid::VARCHAR AS raw FROM ${located.table} WHERE ${where} ORDER BY rec LIMIT 1`,
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

const count = (n: number) => n.toLocaleString('en-US');

function periodTotals(rows: Record<string, unknown>[]): PeriodTotals[] {
  return rows.map((r) => ({
    period: r.period as string,
    currency: r.currency as string,
    rows: Number(r.rows),
    cost: r.cost as string,
    list: r.list as string,
    flagged_rows: Number(r.flagged_rows),
    flagged_cost: r.flagged_cost as string,
  }));
}

/**
 * A file that would hold more rows for review than `flag_rules.max_flags` allows, with its
 * totals: ingest refuses it, unless the repository already holds this very export (stored under
 * a higher limit, it is unchanged, not new).
 */
export class TooManyHeld extends UserError {
  constructor(
    message: string,
    options: ConstructorParameters<typeof UserError>[1],
    readonly periods: PeriodTotals[],
  ) {
    super(message, options);
  }
}

/** More rows held for review than `flag_rules.max_flags` allows: refused, with what most likely holds them. */
function tooManyHeld(
  f: ChargeFile,
  n: { held: number; rows: number; max: number; period: string | null; totals: Record<string, unknown>[] },
): TooManyHeld {
  const elsewhere = n.period === null ? 0 : n.totals.filter((t) => t.period !== n.period).reduce((sum, t) => sum + Number(t.rows), 0);
  const cause =
    f.columns.tags === undefined
      ? 'The file has no Tags column, so no charge in it is attributed: export it with its tags (for AWS, activate the cost allocation tags)'
      : elsewhere * 2 > n.held
        ? `${count(elsewhere)} of them are of other months than --period ${n.period} (period_mismatch): ingest each month's export on its own`
        : 'Most often the export lacks its tags: check that the provider exports them (for AWS, activate the cost allocation tags) and that tag_mapping in config.yaml names their keys; for a file made by `focus-billing convert`, that accounts.yaml attributes its accounts';
  return new TooManyHeld(
    `${count(n.held)} of its ${count(n.rows)} rows would be held for review, more than flag_rules.max_flags (${count(n.max)}) allows`,
    {
      location: { file: f.file.display },
      hint: `so many are past reviewing one by one, and their flags.yaml would outgrow what git hosts accept. ${cause}. Raise flag_rules.max_flags (at most ${count(MAX_FLAGS_LIMIT)}) only to review them all`,
    },
    periodTotals(n.totals),
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
