/**
 * SQL that reads one FOCUS file into normalised charges: exact decimals, UTC periods,
 * attribution from Tags, the checks that refuse a file, and the flag rules, all evaluated by
 * DuckDB in one streaming scan. Every value stays inside DuckDB; only aggregates come back.
 */
import { fundOrgPattern } from '../config/patterns.ts';
import type { Config } from '../config/schema.ts';
import { plainDecimal } from '../core/money.ts';
import { type Params, sqlString } from '../db/params.ts';
import { IDENTITY_ABSENT, IDENTITY_SEPARATOR, rowIdentityColumns } from '../domain/identity.ts';
import { FIRST_YEAR, LAST_YEAR } from '../domain/period.ts';
import {
  ATTRIBUTES,
  type Attribute,
  CHARGE_CATEGORIES,
  CONTROL_PATTERN,
  CORE_ATTRIBUTES,
  EMAIL_PATTERN,
  FLAG_RULES,
  type FlagRule,
} from '../domain/rules.ts';
import { conflictSql, fastTagSql, tagJsonSql, tagNotTextSql, tagPaths, tagSql, tagTextSql, trimmedSql } from './attribution-sql.ts';
import { costColumn, type FocusField, fieldOf } from './columns.ts';
import { type ChargeFile, col, readFileSql } from './read-sql.ts';

export type { ChargeFile } from './read-sql.ts';

/** Exact amounts in SQL: 18 places, as core/money's SCALE. */
export const DECIMAL = 'DECIMAL(38,18)';

export interface ChargesOptions {
  config: Config;
  /** The period the file is stored under; rows of other periods are flagged. Null: no check. */
  period: string | null;
  /**
   * Where `period` is null (ingest without --period): the month most rows likely bill. Rows that
   * write its start, or one of its hours, as exports usually do are then read without a cast, a
   * shape check or formatting, as with `period` (a quarter of ingest's first read's CPU). Other
   * rows take the checks; no row is flagged for billing another month.
   */
  usualPeriod?: string | null;
  /** Attributes to read from Tags (others are NULL): each costs a lookup per row. */
  attributes?: readonly Attribute[];
  /**
   * Only the rows whose trimmed Tags text is in this relation's column `_tags_raw` (a NULL there
   * keeps the rows without Tags), filtered as the file is read, before any other work.
   */
  tagsIn?: string;
  /**
   * Read the rows from this relation instead of the file: columns c0…cN as text, as the file's
   * reader gives them (other columns pass through to the result).
   */
  rows?: string;
  /**
   * The rows keep the file's order, so that a table made of them has each row's record number as
   * its rowid: the SQL then has no join, which DuckDB runs without keeping the order of a file
   * read in pieces (a test of the charge period's hours ran as one and gave held rows the lines
   * of others). Only where the order is relied on: the test spares most rows a shape check.
   */
  inFileOrder?: boolean;
}

/**
 * SQL: the row's (normalised) category is none of FOCUS's. A function, not `NOT IN (…)`: DuckDB
 * plans an IN list as a join, which lost the file order that held rows' line numbers follow.
 */
const UNKNOWN_CATEGORY_SQL = `NOT list_contains([${CHARGE_CATEGORIES.map((c) => `'${c}'`).join(', ')}], category)`;

/** The identity hash of a row (its flag id's source): see domain/identity.ts, which this must match. */
function rowIdentitySql(f: ChargeFile, config: Config, params: Params): string {
  // Control characters as chr(n): a NUL cannot sit inside a SQL string literal.
  const absent = `chr(${IDENTITY_ABSENT.charCodeAt(0)})`;
  const cells = rowIdentityColumns(config.billing.cost_basis).map((name) => {
    const i = f.columns[fieldOf(name)];
    return i === undefined ? absent : `coalesce(${col(i)}, ${absent})`;
  });
  return `sha256(concat_ws(chr(${IDENTITY_SEPARATOR.charCodeAt(0)}), ${params.add(f.sourceSlug)}, ${cells.join(', ')}))`;
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
 * as 9 or more integer digits), the full cast. Nothing is ever rounded. DuckDB's digit
 * separators (`1_000`) are not FOCUS decimals and are refused.
 */
function decimalSql(value: string): string {
  const fits = `strlen(${value}) <= 19 AND NOT contains(${value}, 'e') AND NOT contains(${value}, 'E')
    AND (strpos(${value}, '.') = 0 OR strlen(${value}) - strpos(${value}, '.') <= 10)`;
  return `CASE WHEN NOT contains(${value}, '_') THEN coalesce(CASE WHEN ${fits} THEN TRY_CAST(${value} AS DECIMAL(18,10)) END::${DECIMAL}, ${castSql(value, DECIMAL)}) END`;
}

/** A cast that ignores surrounding spaces, no-break spaces included (trimmed only when the plain cast fails). */
function castSql(value: string, type: string): string {
  return `coalesce(TRY_CAST(${value} AS ${type}), TRY_CAST(${trimmedSql(value)} AS ${type}))`;
}

/**
 * ISO 8601 as FOCUS writes it: a date, optionally a time (T or a space), optionally Z or an
 * offset. DuckDB's cast also reads `epoch`, time-zone names and `(BC)`; this shape does not.
 * Nor offsets no zone has (the earth's zones run from −12:00 to +14:00): DuckDB reads `-99` as 99
 * hours and `+05:99` as six hours and 39 minutes.
 */
const TIMESTAMP_SHAPE =
  '\\d{4}-\\d{1,2}-\\d{1,2}(?:[Tt ]\\d{1,2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?)?(?: ?(?:[Zz]|[+-](?:0\\d|1[0-4])(?::?[0-5]\\d)?))?';

/**
 * A timestamp from text, as castSql, also where DuckDB's cast fails on ISO 8601 it should
 * read: a time without seconds before its zone (`2025-01-01T00:00Z`, `…T00:00+01:00`), a space
 * before the zone (`…T00:00:00 Z`), and a lower-case t or z (RFC 3339 allows them). Those forms
 * are rewritten only when the casts fail.
 */
function timestampSql(value: string): string {
  const trimmed = `upper(${trimmedSql(value)})`;
  const seconds = `regexp_replace(${trimmed}, '^(\\d{4}-\\d{1,2}-\\d{1,2}[T ]\\d{1,2}:\\d{2})( ?[Z+-])', '\\1:00\\2')`;
  const iso = `regexp_replace(${seconds}, '(\\d) ([Z+-])', '\\1\\2')`;
  return `coalesce(${castSql(value, 'TIMESTAMPTZ')}, TRY_CAST(${iso} AS TIMESTAMPTZ))`;
}

/** A timestamp parsed from text (`timestampSql`), kept only when the text has the ISO shape and the time falls in the years billing data can. */
function plausibleSql(text: string, cast: string): string {
  return `CASE WHEN ${cast} >= TIMESTAMPTZ '${FIRST_YEAR}-01-01 00:00:00+00' AND ${cast} < TIMESTAMPTZ '${LAST_YEAR + 1}-01-01 00:00:00+00'
    AND regexp_full_match(${trimmedSql(text)}, '${TIMESTAMP_SHAPE}') THEN ${cast} END`;
}

/**
 * The billing period a BillingPeriodStart opens: the UTC month of the instant 14 hours later.
 * A month starts at local midnight on the 1st in the provider's zone (UTC−12 to UTC+14), so
 * `2025-01-01T08:00:00Z` (Google's invoice month, US Pacific) and `2024-12-31T23:00:00Z` or
 * `2025-01-01T00:00:00+01:00` (a provider in Central Europe) all open January, not December.
 */
function periodOfStartSql(ts: string): string {
  return `strftime(make_timestamp(epoch_us(${ts}) + ${14 * 3_600_000_000}), '%Y-%m')`;
}

/**
 * The texts exports commonly write a period's start as (FOCUS's own, with milliseconds, and with a
 * space): each is the period's first instant in UTC, passes every check, and is known without
 * parsing it (test/charges-sql.test.ts checks them against the cast).
 */
export function periodStartTexts(period: string): string[] {
  return [`${period}-01T00:00:00Z`, `${period}-01T00:00:00.000Z`, `${period}-01 00:00:00`];
}

/**
 * The texts exports commonly write a charge period's bounds as: every hour of the period, and the
 * next month's first, at its start and its last second, in FOCUS's form, with milliseconds, and
 * with a space and no zone. Each is an instant the checks accept (test/charges-sql.test.ts
 * checks them against the cast and the checks), so a row whose text is one needs no shape check
 * (a regular expression per value, a sixth of the report pass's CPU) and no trimmed retry.
 */
export const CHARGE_HOUR_FORMATS = [
  '%Y-%m-%dT%H:00:00Z',
  '%Y-%m-%dT%H:59:59Z',
  '%Y-%m-%dT%H:00:00.000Z',
  '%Y-%m-%dT%H:59:59.999Z',
  '%Y-%m-%d %H:00:00',
  '%Y-%m-%d %H:59:59',
];

/** SQL: a relation of the period's usual charge period texts (`CHARGE_HOUR_FORMATS`), column `t`. */
export function chargeHourTextsSql(period: string, params: Params): string {
  const start = `${params.add(`${period}-01`)}::TIMESTAMP`;
  const hours = `(SELECT h FROM range(${start}, ${start} + INTERVAL 1 MONTH + INTERVAL 1 HOUR, INTERVAL 1 HOUR) r(h)
    WHERE h < TIMESTAMP '${LAST_YEAR + 1}-01-01')`;
  return `(${CHARGE_HOUR_FORMATS.map((f) => `SELECT strftime(h, '${f}') AS t FROM ${hours}`).join(' UNION ALL ')})`;
}

/** SQL: one of these rules holds for the row (or group). */
export function anyRuleSql(rules: readonly FlagRule[]): string {
  return rules.map((r) => (r === 'pattern_match' ? 'pattern_index IS NOT NULL' : `r_${r}`)).join(' OR ') || 'false';
}

/**
 * The normalised charges of one file. Columns: period, currency, category, service,
 * resource_id, resource_name, description, charge_start, cost, list_cost, the attributes, one
 * boolean per row error and per flag rule, `pattern_index`, `flagged`, `row_hash` (flagged rows only).
 */
export function chargesSql(f: ChargeFile, options: ChargesOptions, params: Params): string {
  return flaggedSql(tagsSql(rowChargesSql(f, options, params), f, options, params), f, options.config, params, FLAG_RULES);
}

/**
 * Each row's charge without what Tags decides: everything `chargesSql` gives but the attributes
 * and the TAG_RULES (domain/rules.ts), with the row's trimmed Tags text as `_tags_raw`.
 * `tagsSql` adds the rest, to each row or, where many rows share a text, to each group of them.
 */
export function rowChargesSql(f: ChargeFile, options: ChargesOptions, params: Params): string {
  const { config } = options;
  const rules = config.flag_rules;
  const anomalies = rules.anomalies;
  const patternCases = rules.patterns.map((p, i) => {
    const re = params.add(p.pattern);
    const matches = (column: string) => `regexp_matches(coalesce(${column}, ''), ${re})`;
    return `WHEN ${p.field === 'service' ? matches('service') : `${matches('resource_name')} OR ${matches('resource_id')}`} THEN ${i}`;
  });
  // A NUL character in a Parquet text value (CSV files are checked byte by byte as they are read).
  const nul =
    f.file.format === 'parquet'
      ? f.file.header.map((_, i) => `contains(coalesce(${col(i)}, ''), chr(0))`).join(' OR ') || 'false'
      : 'false';

  // The period's start as exports commonly write it: such rows need no cast, check or formatting.
  const period = options.period === null ? 'NULL::VARCHAR' : params.add(options.period);
  const likely = options.period ?? options.usualPeriod ?? null;
  const likelySql = likely === options.period ? period : likely === null ? 'NULL::VARCHAR' : params.add(likely);
  const known = likely === null ? [] : periodStartTexts(likely);
  // A few values (DuckDB makes an IN of a dozen constants a join, see inFileOrder).
  const periodKnown = known.length ? `${rawField(f, 'billingPeriodStart')} IN (${known.map((t) => params.add(t)).join(', ')})` : 'false';
  const periodStartTs = likely === null ? 'NULL::TIMESTAMPTZ' : `${params.add(`${likely}-01 00:00:00+00`)}::TIMESTAMPTZ`;
  // Likewise the default currency's code, when it is one (three capital letters), as written.
  const usual = config.billing.default_currency.toUpperCase();
  const currencyKnown = /^[A-Z]{3}$/.test(usual) ? `currency_raw = ${params.add(usual)}` : 'false';
  // And the charge period's bounds written as exports usually write an hour of the period.
  // A join (this IN over a relation) loses the file's order: not where rowid is the record number.
  const hourKnown = (name: FocusField) =>
    likely === null || options.inFileOrder || f.columns[name] === undefined
      ? 'false'
      : `coalesce(${rawField(f, name)} IN (SELECT t FROM ${chargeHourTextsSql(likely, params)}), false)`;

  const raw = `SELECT *,
      ${field(f, 'tags')} AS _tags_raw,
      ${rawField(f, costColumn(config.billing.cost_basis))} AS cost_raw,
      ${rawField(f, 'listCost')} AS list_raw,
      ${rawField(f, 'billingPeriodStart')} AS period_raw,
      ${field(f, 'currency')} AS currency_raw,
      ${rawField(f, 'chargePeriodStart')} AS charge_start_raw,
      ${rawField(f, 'chargePeriodEnd')} AS charge_end_raw,
      ${field(f, 'serviceName')} AS service,
      ${field(f, 'resourceId')} AS resource_id,
      ${field(f, 'resourceName')} AS resource_name,
      ${field(f, 'chargeDescription')} AS description,
      ${field(f, 'chargeCategory')} AS category_raw,
      ${field(f, 'chargeClass')} AS charge_class,
      ${nul} AS bad_text,
      coalesce(${periodKnown}, false) AS _period_known,
      ${hourKnown('chargePeriodStart')} AS _charge_start_known,
      ${hourKnown('chargePeriodEnd')} AS _charge_end_known
    FROM ${options.rows ?? (options.tagsIn ? tagsInSql(f, options.tagsIn, params) : readFileSql(f, params))}`;

  const parsed = `SELECT *,
      ${decimalSql('cost_raw')} AS cost,
      ${decimalSql('list_raw')} AS _list_num,
      CASE WHEN _period_known THEN ${periodStartTs} ELSE ${timestampSql('period_raw')} END AS _period_cast,
      CASE WHEN _charge_start_known THEN charge_start_raw::TIMESTAMPTZ ELSE ${timestampSql('charge_start_raw')} END AS _charge_start_cast,
      CASE WHEN _charge_end_known THEN charge_end_raw::TIMESTAMPTZ ELSE ${timestampSql('charge_end_raw')} END AS _charge_end_cast
    FROM (${raw})`;

  const normalised = `SELECT *,
      ${listCostSql(config)} AS list_cost,
      CASE WHEN _period_known THEN _period_cast ELSE ${plausibleSql('period_raw', '_period_cast')} END AS _period_ts,
      CASE WHEN _charge_start_known THEN _charge_start_cast ELSE ${plausibleSql('charge_start_raw', '_charge_start_cast')} END AS charge_start,
      CASE WHEN _charge_end_known THEN _charge_end_cast ELSE ${plausibleSql('charge_end_raw', '_charge_end_cast')} END AS charge_end,
      CASE WHEN _period_known THEN ${likelySql} ELSE ${periodOfStartSql('_period_ts')} END AS period,
      coalesce(${currencyKnown}, false) AS _currency_known,
      CASE WHEN _currency_known THEN currency_raw ELSE upper(coalesce(currency_raw, ${params.add(config.billing.default_currency)})) END AS currency,
      CASE ${CHARGE_CATEGORIES.map((c) => `WHEN category_raw = ${sqlString(c)} THEN ${sqlString(c)}`).join(' ')}
        ${CHARGE_CATEGORIES.map((c) => `WHEN lower(category_raw) = ${sqlString(c.toLowerCase())} THEN ${sqlString(c)}`).join(' ')}
        ELSE coalesce(category_raw, 'Usage') END AS category,
    FROM (${parsed})`;

  return `SELECT *,
      _period_ts IS NULL AS bad_period,
      cost IS NULL AS bad_cost,
      _list_num IS NULL AND ${trimmedSql('list_raw')} IS NOT NULL AS bad_list,
      CASE WHEN _currency_known THEN false ELSE NOT regexp_full_match(currency, '[A-Z]{3}') END AS bad_currency,
      charge_start IS NULL AND ${trimmedSql('charge_start_raw')} IS NOT NULL AS bad_charge_start,
      (charge_end IS NULL AND ${trimmedSql('charge_end_raw')} IS NOT NULL) OR coalesce(charge_end < charge_start, false) AS bad_charge_end,
      ${patternCases.length ? `CASE ${patternCases.join(' ')} END` : 'NULL::INTEGER'} AS pattern_index,
      ${largeChargeSql(anomalies, params)} AS r_large_charge,
      ${anomalies.above_list ? `coalesce(cost > _list_num${zeroListUnknown(config) ? ' AND _list_num <> 0' : ''}, false)` : 'false'} AS r_above_list,
      ${anomalies.negative_usage ? `coalesce(cost < 0 AND category = 'Usage', false)` : 'false'} AS r_negative_usage,
      ${rules.period_mismatch ? `coalesce(period <> ${period}, false)` : 'false'} AS r_period_mismatch,
      ${rules.unknown_category ? UNKNOWN_CATEGORY_SQL : 'false'} AS r_unknown_category
    FROM (${normalised})`;
}

/** billing.zero_list_cost: a ListCost of 0 on a charge that costs more is no list price (Azure's Marketplace charges). */
const zeroListUnknown = (config: Config) => config.billing.zero_list_cost === 'unknown';

/**
 * The list price a statement shows: the charge's cost where the export gives none (or, by
 * zero_list_cost, 0 for more). Written as one coalesce: a CASE with the whole expression in each
 * branch cost some 50 ms of a first generate of the 1M-row month (1.40 s against 1.35 s); this
 * costs nothing measurable.
 */
function listCostSql(config: Config): string {
  return zeroListUnknown(config) ? `coalesce(CASE WHEN _list_num <> 0 OR cost <= 0 THEN _list_num END, cost)` : `coalesce(_list_num, cost)`;
}

/** Whether a charge is above large_charge, or its own currency's threshold (large_charge_per_currency). */
function largeChargeSql(anomalies: Config['flag_rules']['anomalies'], params: Params): string {
  const above = (threshold: number | string | null) =>
    threshold === null ? 'false' : `coalesce(abs(cost) > ${params.add(plainDecimal(threshold))}::${DECIMAL}, false)`;
  const own = Object.entries(anomalies.large_charge_per_currency ?? {});
  if (own.length === 0) return above(anomalies.large_charge);
  return `CASE ${own.map(([currency, t]) => `WHEN currency = ${sqlString(currency)} THEN ${above(t)}`).join(' ')} ELSE ${above(anomalies.large_charge)} END`;
}

/** The file's rows whose Tags text is among `texts` (see `ChargesOptions.tagsIn`). */
function tagsInSql(f: ChargeFile, texts: string, params: Params): string {
  const tags = field(f, 'tags');
  return `(SELECT * FROM ${readFileSql(f, params)}
    WHERE ${tags} IN (SELECT _tags_raw FROM ${texts}) OR (${tags} IS NULL AND EXISTS (SELECT 1 FROM ${texts} WHERE _tags_raw IS NULL)))`;
}

/**
 * Adds what Tags decides to each row of `from`, which has `_tags_raw`: the attributes asked for
 * (the others NULL) and one boolean per TAG_RULES rule.
 */
export function tagsSql(from: string, f: ChargeFile, options: ChargesOptions, params: Params): string {
  const { config } = options;
  const attributes = options.attributes ?? CORE_ATTRIBUTES;
  const rules = config.flag_rules;
  const fundPatterns = fundOrgPattern(config);
  const paths = tagPaths(config, attributes, f.tagKeys);
  const core = CORE_ATTRIBUTES.filter((a) => attributes.includes(a));

  const parsed = `SELECT *,
      ${tagJsonSql('_tags_raw', paths)} AS _tag_json,
      CASE WHEN starts_with(_tags_raw, '{') THEN TRY(json_keys(_tags_raw)) END AS _tag_keys
    FROM (${from})`;

  const fast = `SELECT *,
      ${attributes.map((a) => `${fastTagSql(config, a, paths, f.tagKeys)} AS _jf_${a},`).join('\n      ')}
      _tags_raw IS NOT NULL AND (_tag_json IS NULL OR len(_tag_keys) <> list_unique(_tag_keys)) AS tags_invalid
    FROM (${parsed})`;

  // Which core attributes Tags gives twice with different values (conflictSql), as 'pi_email, fund_org'.
  const conflicts =
    rules.conflicting_tags && core.length > 0
      ? `SELECT *, CASE WHEN _tags_raw IS NULL OR tags_invalid THEN NULL ELSE nullif(concat_ws(', ', ${core
          .map((a) => `CASE WHEN ${conflictSql(config, a)} THEN '${a}' END`)
          .join(', ')}), '') END AS tags_conflict
      FROM (SELECT *, lower(_tags_raw) AS _tags_lower FROM (${fast}))`
      : `SELECT *, NULL::VARCHAR AS tags_conflict FROM (${fast})`;

  const found = `SELECT *${attributes.map((a) => `,\n      ${tagSql(config, a)} AS _j_${a}`).join('')}
    FROM (${conflicts})`;

  const decoded = `SELECT *${attributes.map((a) => `,\n      ${tagTextSql(`_j_${a}`)} AS _t_${a}`).join('')}
    FROM (${found})`;

  // Which core attributes Tags gives as no text (tagNotTextSql), as 'project_id, fund_org': the flag's message names them.
  const notText = core.length
    ? `nullif(concat_ws(', ', ${core.map((a) => `CASE WHEN ${tagNotTextSql(`_j_${a}`)} THEN '${a}' END`).join(', ')}), '')`
    : 'NULL::VARCHAR';
  const attributed = `SELECT *,
      ${ATTRIBUTES.map((a) => `${attributes.includes(a) ? trimmedSql(`_t_${a}`) : 'NULL::VARCHAR'} AS ${a}`).join(',\n      ')},
      ${notText} AS tags_not_text
    FROM (${decoded})`;

  // A control character anywhere: one regular expression over the values, not one each (the
  // email pattern refuses control characters itself, so pi_email needs no check of its own).
  const controlChecked = core.filter((a) => a !== 'pi_email');
  const invalidAttribution = core.length
    ? [
        'tags_not_text IS NOT NULL',
        ...(controlChecked.length ? [`coalesce(regexp_matches(concat(${controlChecked.join(', ')}), '${CONTROL_PATTERN}'), false)`] : []),
        ...(core.includes('pi_email') ? [`coalesce(NOT regexp_full_match(pi_email, ${sqlString(EMAIL_PATTERN)}), false)`] : []),
      ].join(' OR ')
    : 'false';

  return `SELECT *,
      ${rules.invalid_tags ? 'tags_invalid' : 'false'} AS r_invalid_tags,
      tags_conflict IS NOT NULL AS r_conflicting_tags,
      ${rules.missing_pi_email ? 'pi_email IS NULL' : 'false'} AS r_missing_pi_email,
      ${rules.missing_project_id ? 'project_id IS NULL' : 'false'} AS r_missing_project_id,
      ${rules.missing_fund_org ? 'fund_org IS NULL' : 'false'} AS r_missing_fund_org,
      ${rules.invalid_attribution ? `(${invalidAttribution})` : 'false'} AS r_invalid_attribution,
      ${
        fundPatterns !== null ? `fund_org IS NOT NULL AND NOT regexp_full_match(fund_org, ${params.add(fundPatterns)})` : 'false'
      } AS r_invalid_fund_org
    FROM (${attributed})`;
}

/**
 * Adds `flagged` (one of `rules` holds, or `also`) and, for flagged rows, `row_hash`, to the
 * rows of `from`.
 */
export function flaggedSql(from: string, f: ChargeFile, config: Config, params: Params, rules: readonly FlagRule[], also?: string): string {
  return `SELECT *,
      ${anyRuleSql(rules)}${also ? ` OR ${also}` : ''} AS flagged,
      CASE WHEN flagged THEN ${rowIdentitySql(f, config, params)} END AS row_hash
    FROM (${from})`;
}

/** SQL listing the flag rules a row triggers, as a VARCHAR[] in FLAG_RULES order. */
export const RULES_LIST_SQL = `list_filter([${FLAG_RULES.map((r) =>
  r === 'pattern_match' ? `CASE WHEN pattern_index IS NOT NULL THEN 'pattern_match' END` : `CASE WHEN r_${r} THEN '${r}' END`,
).join(', ')}], x -> x IS NOT NULL)`;
