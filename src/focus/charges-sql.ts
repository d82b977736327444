/**
 * SQL that reads one FOCUS file into normalised charges: exact decimals, UTC periods,
 * attribution from Tags, and the flag rules, all evaluated by DuckDB in one streaming scan.
 * Every value from the file stays inside DuckDB; only aggregates come back to JavaScript.
 */
import type { Config } from '../config/schema.ts';
import { ATTRIBUTES, type Attribute } from '../config/schema.ts';
import { type Params, sqlString } from '../db/params.ts';
import { type ColumnMap, costColumn, type FocusField } from './columns.ts';
import type { SniffedFile } from './file.ts';

export const DECIMAL = 'DECIMAL(38,18)';

export interface ChargeFile {
  file: SniffedFile;
  columns: ColumnMap;
  sourceSlug: string;
  /** Repository-relative path recorded in flags. */
  relPath: string;
  /**
   * Tag keys seen in the file's first rows (`sampleTagKeys`). The fast path then looks up only
   * the spellings the file uses; rows spelling a key otherwise still resolve through the slow path.
   */
  tagKeys?: readonly string[];
}

export interface ChargesOptions {
  config: Config;
  /** The period the file is stored under; rows of other periods are flagged. Null: no check. */
  period: string | null;
  /** Attributes to read from Tags (others are NULL): each costs a lookup per row. */
  attributes?: readonly Attribute[];
}

export const CORE_ATTRIBUTES: readonly Attribute[] = ['pi_email', 'project_id', 'fund_org'];

export const FLAG_RULES = [
  'invalid_tags',
  'missing_pi_email',
  'missing_project_id',
  'missing_fund_org',
  'invalid_fund_org',
  'pattern_match',
  'large_charge',
  'above_list',
  'negative_usage',
  'period_mismatch',
] as const;
export type FlagRule = (typeof FLAG_RULES)[number];

/** Validation problems that refuse a file, in the order they are reported. */
export const ROW_ERRORS = ['bad_period', 'bad_cost', 'bad_list', 'bad_currency', 'bad_charge_start'] as const;
export type RowError = (typeof ROW_ERRORS)[number];

const col = (i: number) => `c${i}`;

/** FOCUS ChargeCategory values, as spelled by the spec (files may differ in case). */
const CATEGORIES = ['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment'];

/**
 * The file's rows with every column as text, named c0…cN. CSV: `read_csv`, with no header text
 * in the SQL. Parquet: `read_parquet`, each column as text (maps and structs such as Tags as
 * JSON), empty and NULL tokens as NULL as in CSV, so every check and rule reads both alike.
 */
export function readFileSql(f: ChargeFile, params: Params): string {
  if (f.file.format === 'parquet') {
    const types = f.file.types ?? [];
    const columns = f.file.header.map(
      (name, i) => `${parquetTextSql(`"${name.replace(/"/g, '""')}"`, types[i] ?? 'VARCHAR')} AS ${col(i)}`,
    );
    return `(SELECT ${columns.join(', ')} FROM read_parquet(${params.add(f.file.path)}))`;
  }
  const columns = f.file.header.map((_, i) => `'${col(i)}': 'VARCHAR'`).join(', ');
  return `read_csv(${params.add(f.file.path)}, auto_detect = false, header = true, columns = {${columns}},
    nullstr = ['', 'NULL', 'null'], delim = ',', quote = '"', escape = '"', strict_mode = true,
    compression = ${params.add(f.file.compression === 'gzip' ? 'gzip' : 'none')})`;
}

function parquetTextSql(column: string, type: string): string {
  const text = /^(MAP|STRUCT|JSON|UNION)\b|\]$/.test(type) ? `to_json(${column})::VARCHAR` : `CAST(${column} AS VARCHAR)`;
  return `nullif(nullif(nullif(${text}, ''), 'NULL'), 'null')`;
}

/** The distinct top-level keys of Tags in the file's first rows. */
export function sampleTagKeysSql(f: ChargeFile, params: Params, rows: number): string | null {
  const i = f.columns.tags;
  if (i === undefined) return null;
  return `SELECT DISTINCT unnest(TRY(json_keys(${col(i)}))) AS k FROM (SELECT ${col(i)} FROM ${readFileSql(f, params)} LIMIT ${rows}) ORDER BY k`;
}

/**
 * The identity of a row for its flag id: the source and the charge as the tool sees it (its
 * periods, amounts, currency, category, service, resource and tags), by FOCUS name, so column
 * order and spelling do not matter and a re-export that adds columns keeps every id and
 * decision. Descriptive columns stay out: reading a column only to hash it costs every row.
 */
function rowIdentitySql(f: ChargeFile, config: Config, params: Params): string {
  const fields: FocusField[] = [
    'billingPeriodStart',
    'chargePeriodStart',
    costColumn(config.billing.cost_basis),
    'listCost',
    'currency',
    'chargeCategory',
    'serviceName',
    'resourceId',
    'resourceName',
    'tags',
  ];
  const cells = fields.map((name) => {
    const i = f.columns[name];
    return i === undefined ? 'chr(0)' : `coalesce(${col(i)}, chr(0))`;
  });
  return `sha256(concat_ws(chr(30), ${params.add(f.sourceSlug)}, ${cells.join(', ')}))`;
}

/** The cost column's text under the configured cost basis, as in the file. */
function rawCostSql(f: ChargeFile, config: Config): string {
  return rawField(f, costColumn(config.billing.cost_basis));
}

/** Characters trimmed from both ends of every value: spaces and no-break spaces. */
const PAD = ' \u00a0';

/** A text value with surrounding spaces removed (NULL when nothing remains), or NULL when absent. */
function trimmedSql(value: string): string {
  // Trimming every value costs more than reading the file; testing the ends first is nearly free.
  const padded = [...PAD].flatMap((c) => [`${value} LIKE '${c}%'`, `${value} LIKE '%${c}'`]).join(' OR ');
  return `CASE WHEN ${padded} THEN nullif(trim(${value}, '${PAD}'), '') ELSE ${value} END`;
}

/** Text of a FOCUS column, trimmed; NULL when the file lacks it. */
function field(f: ChargeFile, name: FocusField): string {
  const i = f.columns[name];
  return i === undefined ? 'NULL::VARCHAR' : trimmedSql(col(i));
}

/** Text of a FOCUS column as in the file (for casts, which ignore surrounding spaces); NULL when the file lacks it. */
function rawField(f: ChargeFile, name: FocusField): string {
  const i = f.columns[name];
  return i === undefined ? 'NULL::VARCHAR' : col(i);
}

/**
 * An exact DECIMAL(38,18) from text. Parsing into 128 bits costs several times more than into
 * 64, so text that a DECIMAL(18,10) holds exactly (no exponent, at most 10 digits after the
 * point, 19 characters in all) takes that path; anything else, or anything it rejects (such
 * as 9 or more integer digits), the full cast. Nothing is ever rounded.
 */
function decimalSql(value: string): string {
  const fits = `strlen(${value}) <= 19 AND NOT contains(${value}, 'e') AND NOT contains(${value}, 'E')
    AND (strpos(${value}, '.') = 0 OR strlen(${value}) - strpos(${value}, '.') <= 10)`;
  return `coalesce(CASE WHEN ${fits} THEN TRY_CAST(${value} AS DECIMAL(18,10)) END::${DECIMAL}, ${castSql(value, DECIMAL)})`;
}

/** A cast that ignores surrounding spaces, no-break spaces included (trimmed only when the plain cast fails). */
function castSql(value: string, type: string): string {
  return `coalesce(TRY_CAST(${value} AS ${type}), TRY_CAST(${trimmedSql(value)} AS ${type}))`;
}

/**
 * Tag keys to look up exactly (fast path): each configured spelling, bare and with each prefix,
 * in precedence order. Given the keys a file was `seen` to use, only those up to the last one
 * seen: whatever the fast path finds is then what the full list would have found.
 */
export function tagKeyVariants(config: Config, attribute: Attribute, seen?: readonly string[]): string[] {
  const prefixes = ['', ...config.tag_mapping.strip_prefixes];
  const names = config.tag_mapping[attribute].flatMap((k) => [k, k.toLowerCase()]);
  const all = [...new Set(prefixes.flatMap((p) => names.map((n) => `${p}${n}`)))];
  if (!seen) return all;
  const last = all.reduce((n, k, i) => (seen.includes(k) ? i : n), 0);
  return all.slice(0, last + 1);
}

/** A JSON pointer to a top-level key (RFC 6901 escaping), safe for any key text. */
export function jsonPointer(key: string): string {
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/**
 * Attribution from Tags. Fast path: one JSON parse per row extracting every exact key variant.
 * Slow path, only for rows where that found nothing but the text mentions the key: a
 * case-insensitive scan of all keys with prefixes stripped (e.g. `PI_Email`, ` org`).
 */
function fastAttributeSql(config: Config, attribute: Attribute, paths: string[], seen?: readonly string[]): string {
  const exact = tagKeyVariants(config, attribute, seen).map((k) => `_tag_values[${paths.indexOf(jsonPointer(k)) + 1}]`);
  return trimmedSql(exact.length === 1 ? (exact[0] as string) : `coalesce(${exact.join(', ')})`);
}

function attributeSql(config: Config, attribute: Attribute): string {
  const wanted = [...new Set(config.tag_mapping[attribute].map((k) => k.toLowerCase().trim()))];
  const prefixRe = config.tag_mapping.strip_prefixes.map((p) => escapeRe(p.toLowerCase())).join('|');
  const normKey = prefixRe
    ? `regexp_replace(lower(trim(e.key, '${PAD}')), ${sqlString(`^(${prefixRe})`)}, '')`
    : `lower(trim(e.key, '${PAD}'))`;
  const mentions = wanted.map((k) => `contains(lower(_tags_raw), ${sqlString(k)})`).join(' OR ');
  // Several matching keys: the fast path's precedence (prefix order, then name order) decides.
  const key = `lower(trim(e.key, '${PAD}'))`;
  const prefixRank = `CASE ${config.tag_mapping.strip_prefixes.map((p, i) => `WHEN starts_with(${key}, ${sqlString(p.toLowerCase())}) THEN ${i + 1}`).join(' ')} ELSE 0 END`;
  const rank = `${config.tag_mapping.strip_prefixes.length ? prefixRank : '0'} * 1000 + list_position([${wanted.map(sqlString).join(', ')}], ${normKey})`;
  const slow = `nullif(trim(list_sort(list_transform(list_filter(map_entries(TRY(json_transform(_tags_raw, '"MAP(VARCHAR, VARCHAR)"'))),
      e -> ${normKey} IN (${wanted.map(sqlString).join(', ')}) AND nullif(trim(e.value, '${PAD}'), '') IS NOT NULL),
      e -> {rank: ${rank}, value: e.value}))[1].value, '${PAD}'), '')`;
  return `CASE WHEN _fast_${attribute} IS NULL AND NOT tags_invalid AND (${mentions}) THEN ${slow} ELSE _fast_${attribute} END`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A parsed timestamp kept only when plausible. DuckDB's cast reads ISO 8601 with `T` or a space,
 * with or without an offset (UTC when none), but also misreads forms such as 4/1/25 (as the year
 * 4): a range check, far cheaper than checking each value's shape, rejects those.
 */
function plausibleSql(column: string): string {
  return `CASE WHEN ${column} >= TIMESTAMPTZ '1900-01-01 00:00:00+00' AND ${column} < TIMESTAMPTZ '2200-01-01 00:00:00+00' THEN ${column} END`;
}

/**
 * The normalised charges of one file. Columns: source, file, period, currency, category, service,
 * resource_id, resource_name, description, charge_start, cost, list_cost, the attributes, one
 * boolean per row error and per flag rule, `pattern_index`, `flagged`, `row_hash` (flagged rows only).
 */
export function chargesSql(f: ChargeFile, options: ChargesOptions, params: Params): string {
  const { config } = options;
  const attributes = options.attributes ?? CORE_ATTRIBUTES;
  const rules = config.flag_rules;
  const anomalies = rules.anomalies;
  const fundPatterns = rules.fund_org_patterns;
  const seen = f.tagKeys;
  const paths = [...new Set(attributes.flatMap((a) => tagKeyVariants(config, a, seen).map(jsonPointer)))];
  const patternCases = rules.patterns.map((p, i) => {
    const re = params.add(p.pattern);
    const matches = (column: string) => `regexp_matches(coalesce(${column}, ''), ${re})`;
    return `WHEN ${p.field === 'service' ? matches('service') : `${matches('resource_name')} OR ${matches('resource_id')}`} THEN ${i}`;
  });
  const identity = rowIdentitySql(f, config, params);

  const raw = `SELECT *,
      ${field(f, 'tags')} AS _tags_raw,
      ${rawCostSql(f, config)} AS cost_raw,
      ${rawField(f, 'listCost')} AS list_raw,
      ${rawField(f, 'billingPeriodStart')} AS period_raw,
      ${field(f, 'currency')} AS currency_raw,
      ${rawField(f, 'chargePeriodStart')} AS charge_start_raw,
      ${field(f, 'serviceName')} AS service,
      ${field(f, 'resourceId')} AS resource_id,
      ${field(f, 'resourceName')} AS resource_name,
      ${field(f, 'chargeDescription')} AS description,
      ${field(f, 'chargeCategory')} AS category_raw,
      ${field(f, 'chargeClass')} AS charge_class
    FROM ${readFileSql(f, params)}`;

  const parsed = `SELECT *,
      CASE WHEN starts_with(_tags_raw, '{')
        THEN TRY(json_extract_string(_tags_raw, ${sqlString(`[${paths.map((p) => JSON.stringify(p)).join(', ')}]`)}::VARCHAR[])) END AS _tag_values,
      ${decimalSql('cost_raw')} AS cost,
      ${decimalSql('list_raw')} AS _list_num,
      ${castSql('period_raw', 'TIMESTAMPTZ')} AS _period_cast,
      ${castSql('charge_start_raw', 'TIMESTAMPTZ')} AS _charge_start_cast
    FROM (${raw})`;

  const normalised = `SELECT *,
      _tags_raw IS NOT NULL AND _tag_values IS NULL AS tags_invalid,
      ${attributes.map((a) => `${fastAttributeSql(config, a, paths, seen)} AS _fast_${a}`).join(',\n      ')},
      coalesce(_list_num, cost) AS list_cost,
      ${plausibleSql('_period_cast')} AS _period_ts,
      ${plausibleSql('_charge_start_cast')} AS charge_start,
      strftime(make_timestamp(epoch_us(${plausibleSql('_period_cast')})), '%Y-%m') AS period,
      upper(coalesce(currency_raw, ${params.add(config.billing.default_currency)})) AS currency,
      CASE ${CATEGORIES.map((c) => `WHEN category_raw = ${sqlString(c)} THEN ${sqlString(c)}`).join(' ')}
        ${CATEGORIES.map((c) => `WHEN lower(category_raw) = ${sqlString(c.toLowerCase())} THEN ${sqlString(c)}`).join(' ')}
        ELSE coalesce(category_raw, 'Usage') END AS category,
    FROM (${parsed})`;

  const attributed = `SELECT *,
      ${ATTRIBUTES.map((a) => `${attributes.includes(a) ? attributeSql(config, a) : 'NULL::VARCHAR'} AS ${a}`).join(',\n      ')}
    FROM (${normalised})`;

  const period = options.period === null ? 'NULL::VARCHAR' : params.add(options.period);
  const checked = `SELECT *,
      _period_ts IS NULL AS bad_period,
      cost IS NULL AS bad_cost,
      _list_num IS NULL AND ${trimmedSql('list_raw')} IS NOT NULL AS bad_list,
      NOT regexp_full_match(currency, '[A-Z]{3}') AS bad_currency,
      charge_start IS NULL AND ${trimmedSql('charge_start_raw')} IS NOT NULL AS bad_charge_start,
      ${rules.invalid_tags ? 'tags_invalid' : 'false'} AS r_invalid_tags,
      ${rules.missing_pi_email ? 'pi_email IS NULL' : 'false'} AS r_missing_pi_email,
      ${rules.missing_project_id ? 'project_id IS NULL' : 'false'} AS r_missing_project_id,
      ${rules.missing_fund_org ? 'fund_org IS NULL' : 'false'} AS r_missing_fund_org,
      ${
        fundPatterns.length
          ? `fund_org IS NOT NULL AND NOT regexp_full_match(fund_org, ${params.add(fundPatterns.map((p) => `(?:${p})`).join('|'))})`
          : 'false'
      } AS r_invalid_fund_org,
      ${patternCases.length ? `CASE ${patternCases.join(' ')} END` : 'NULL::INTEGER'} AS pattern_index,
      ${anomalies.large_charge !== null ? `coalesce(abs(cost) > ${params.add(String(anomalies.large_charge))}::${DECIMAL}, false)` : 'false'} AS r_large_charge,
      ${anomalies.above_list ? `coalesce(cost > _list_num, false)` : 'false'} AS r_above_list,
      ${anomalies.negative_usage ? `coalesce(cost < 0 AND category = 'Usage', false)` : 'false'} AS r_negative_usage,
      ${rules.period_mismatch ? `coalesce(period <> ${period}, false)` : 'false'} AS r_period_mismatch
    FROM (${attributed})`;

  return `SELECT *,
      r_invalid_tags OR r_missing_pi_email OR r_missing_project_id OR r_missing_fund_org OR r_invalid_fund_org
        OR pattern_index IS NOT NULL OR r_large_charge OR r_above_list OR r_negative_usage OR r_period_mismatch AS flagged,
      CASE WHEN flagged THEN ${identity} END AS row_hash
    FROM (${checked})`;
}

/** SQL listing the flag rules a row triggers, as a VARCHAR[] in FLAG_RULES order. */
export const RULES_LIST_SQL = `list_filter([${FLAG_RULES.map((r) =>
  r === 'pattern_match' ? `CASE WHEN pattern_index IS NOT NULL THEN 'pattern_match' END` : `CASE WHEN r_${r} THEN '${r}' END`,
).join(', ')}], x -> x IS NOT NULL)`;
