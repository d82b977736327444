/**
 * SQL that reads one FOCUS file into normalised charges: exact decimals, UTC periods,
 * attribution from Tags, and the flag rules, all evaluated by DuckDB in one streaming scan.
 * Every value from the file stays inside DuckDB; only aggregates come back to JavaScript.
 */
import type { Config } from '../config/schema.ts';
import { ATTRIBUTES, type Attribute } from '../config/schema.ts';
import { type Params, sqlString } from '../db/params.ts';
import type { ColumnMap, FocusField } from './columns.ts';
import type { SniffedFile } from './file.ts';

export const DECIMAL = 'DECIMAL(38,18)';

export interface ChargeFile {
  file: SniffedFile;
  columns: ColumnMap;
  sourceSlug: string;
  /** Repository-relative path recorded in flags. */
  relPath: string;
}

export interface ChargesOptions {
  config: Config;
  /** The period the file is stored under; rows of other periods are flagged. Null: no check. */
  period: string | null;
  /** Adds `rec`, the 1-based record number. Serialises the scan: only for the rare look-ups. */
  withRecordNumbers?: boolean;
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

/** `read_csv` over the file with every column as text, named c0…cN so no header text enters the SQL. */
export function readCsvSql(f: ChargeFile, params: Params): string {
  const columns = f.file.header.map((_, i) => `'${col(i)}': 'VARCHAR'`).join(', ');
  return `read_csv(${params.add(f.file.path)}, auto_detect = false, header = true, columns = {${columns}},
    nullstr = ['', 'NULL', 'null'], delim = ',', quote = '"', escape = '"', strict_mode = true,
    compression = ${params.add(f.file.compression === 'gzip' ? 'gzip' : 'none')})`;
}

/** The identity of a row for its flag id: the source and every cell, columns in name order. */
export function rowIdentitySql(f: ChargeFile, params: Params): string {
  const ordered = f.file.header
    .map((name, i) => ({ name: name.toLowerCase(), i }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.i - b.i));
  return `sha256(concat_ws(chr(30), ${params.add(f.sourceSlug)}, ${ordered.map(({ i }) => `coalesce(${col(i)}, chr(0))`).join(', ')}))`;
}

/** The cost column's text under the configured cost basis. */
export function rawCostSql(f: ChargeFile, config: Config): string {
  return field(f, config.billing.cost_basis === 'EffectiveCost' ? 'effectiveCost' : 'billedCost');
}

/** Text of a FOCUS column, trimmed; NULL when the file lacks it. */
function field(f: ChargeFile, name: FocusField): string {
  const i = f.columns[name];
  return i === undefined ? 'NULL::VARCHAR' : `nullif(trim(${col(i)}), '')`;
}

/** All tag keys to look up exactly (fast path): each configured spelling, bare and with each prefix. */
export function tagKeyVariants(config: Config, attribute: Attribute): string[] {
  const prefixes = ['', ...config.tag_mapping.strip_prefixes];
  const names = config.tag_mapping[attribute].flatMap((k) => [k, k.toLowerCase()]);
  return [...new Set(prefixes.flatMap((p) => names.map((n) => `${p}${n}`)))];
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
function fastAttributeSql(config: Config, attribute: Attribute, paths: string[]): string {
  const exact = tagKeyVariants(config, attribute).map((k) => `_tag_values[${paths.indexOf(jsonPointer(k)) + 1}]`);
  return `nullif(trim(${exact.length === 1 ? exact[0] : `coalesce(${exact.join(', ')})`}), '')`;
}

function attributeSql(config: Config, attribute: Attribute): string {
  const wanted = [...new Set(config.tag_mapping[attribute].map((k) => k.toLowerCase().trim()))];
  const prefixRe = config.tag_mapping.strip_prefixes.map((p) => escapeRe(p.toLowerCase())).join('|');
  const normKey = prefixRe ? `regexp_replace(lower(trim(e.key)), ${sqlString(`^(${prefixRe})`)}, '')` : 'lower(trim(e.key))';
  const mentions = wanted.map((k) => `contains(lower(_tags_raw), ${sqlString(k)})`).join(' OR ');
  const slow = `nullif(trim(list_filter(map_entries(TRY(json_transform(_tags_raw, '"MAP(VARCHAR, VARCHAR)"'))),
      e -> ${normKey} IN (${wanted.map(sqlString).join(', ')}) AND nullif(trim(e.value), '') IS NOT NULL)[1].value), '')`;
  return `CASE WHEN _fast_${attribute} IS NULL AND NOT tags_invalid AND (${mentions}) THEN ${slow} ELSE _fast_${attribute} END`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * An ISO 8601 date or datetime as TIMESTAMPTZ (UTC when no offset is given), or NULL. The shape
 * is checked first because DuckDB's cast also accepts forms such as 4/1/25, which it misreads.
 */
function timestampSql(column: string): string {
  return `CASE WHEN ${column}[5] = '-' AND ${column}[8] = '-' THEN TRY_CAST(${column} AS TIMESTAMPTZ) END`;
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
  const paths = [...new Set(attributes.flatMap((a) => tagKeyVariants(config, a).map(jsonPointer)))];
  const patternCases = rules.patterns.map((p, i) => {
    const re = params.add(p.pattern);
    const matches = (column: string) => `regexp_matches(coalesce(${column}, ''), ${re})`;
    return `WHEN ${p.field === 'service' ? matches('service') : `${matches('resource_name')} OR ${matches('resource_id')}`} THEN ${i}`;
  });
  const recordNumber = options.withRecordNumbers ? 'row_number() OVER () AS rec,' : '';
  const identity = rowIdentitySql(f, params);

  const raw = `SELECT ${recordNumber} *,
      ${field(f, 'tags')} AS _tags_raw,
      ${rawCostSql(f, config)} AS cost_raw,
      ${field(f, 'listCost')} AS list_raw,
      ${field(f, 'billingPeriodStart')} AS period_raw,
      ${field(f, 'currency')} AS currency_raw,
      ${field(f, 'chargePeriodStart')} AS charge_start_raw,
      ${field(f, 'serviceName')} AS service,
      ${field(f, 'resourceId')} AS resource_id,
      ${field(f, 'resourceName')} AS resource_name,
      ${field(f, 'chargeDescription')} AS description,
      ${field(f, 'chargeCategory')} AS category_raw,
      ${field(f, 'chargeClass')} AS charge_class
    FROM ${readCsvSql(f, params)}`;

  const parsed = `SELECT *,
      CASE WHEN starts_with(_tags_raw, '{')
        THEN TRY(json_extract_string(_tags_raw, ${sqlString(`[${paths.map((p) => JSON.stringify(p)).join(', ')}]`)}::VARCHAR[])) END AS _tag_values,
      TRY_CAST(cost_raw AS ${DECIMAL}) AS cost,
      TRY_CAST(list_raw AS ${DECIMAL}) AS _list_num,
      ${timestampSql('period_raw')} AS _period_ts,
      ${timestampSql('charge_start_raw')} AS charge_start
    FROM (${raw})`;

  const normalised = `SELECT *,
      _tags_raw IS NOT NULL AND _tag_values IS NULL AS tags_invalid,
      ${attributes.map((a) => `${fastAttributeSql(config, a, paths)} AS _fast_${a}`).join(',\n      ')},
      coalesce(_list_num, cost) AS list_cost,
      strftime(make_timestamp(epoch_us(_period_ts)), '%Y-%m') AS period,
      upper(coalesce(currency_raw, ${params.add(config.billing.default_currency)})) AS currency,
      CASE lower(category_raw) WHEN 'usage' THEN 'Usage' WHEN 'purchase' THEN 'Purchase' WHEN 'tax' THEN 'Tax'
        WHEN 'credit' THEN 'Credit' WHEN 'adjustment' THEN 'Adjustment' ELSE coalesce(category_raw, 'Usage') END AS category,
    FROM (${parsed})`;

  const attributed = `SELECT *,
      ${ATTRIBUTES.map((a) => `${attributes.includes(a) ? attributeSql(config, a) : 'NULL::VARCHAR'} AS ${a}`).join(',\n      ')}
    FROM (${normalised})`;

  const period = options.period === null ? 'NULL::VARCHAR' : params.add(options.period);
  const checked = `SELECT *,
      _period_ts IS NULL AS bad_period,
      cost IS NULL AS bad_cost,
      list_raw IS NOT NULL AND _list_num IS NULL AS bad_list,
      NOT regexp_full_match(currency, '[A-Z]{3}') AS bad_currency,
      charge_start_raw IS NOT NULL AND charge_start IS NULL AS bad_charge_start,
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
