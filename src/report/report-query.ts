/**
 * The report's rows: a period's charges grouped per file by statement line and flagged charge.
 *
 * What Tags decides (the attributes, six of the flag rules) is most of the per-row work: the
 * JSON is parsed, keys found, values checked. Where a file's rows share few Tags texts, as
 * exports usually do (a project's resources carry the same tags), the rows are grouped by
 * their text first and Tags is read once per group. The rows whose text turns out to hold them
 * for review (and whose other columns did not already) need each their own row_hash: a second,
 * filtered read gives them. Both ways give the same rows; which one a file takes is chosen from
 * its first rows, and only decides the time.
 */
import type { Config } from '../config/schema.ts';
import type { Database, JsonRows } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import { CORE_ATTRIBUTES, ROW_ERRORS, ROW_RULES, TAG_RULES } from '../domain/rules.ts';
import { mentionsSql } from '../focus/attribution-sql.ts';
import { anyRuleSql, type ChargeFile, chargesSql, flaggedSql, rowChargesSql, tagsSql } from '../focus/charges-sql.ts';
import { fileColumnsSql } from '../focus/read-sql.ts';
import { tagsRepeat } from '../focus/tag-sample.ts';
import { GROUP_COLUMNS, REPORT_ATTRIBUTES } from './groups.ts';

/** The report's group columns but the row hash, which a grouping by Tags text sets apart (`_row_hash`). */
const COLUMNS_BUT_HASH = GROUP_COLUMNS.filter((c) => c !== 'row_hash').join(', ');

const SUMS = `count(*) AS rows, coalesce(sum(cost), 0) AS cost, coalesce(sum(list_cost), 0) AS list,
          count(*) FILTER (WHERE ${ROW_ERRORS.join(' OR ')}) AS invalid`;

/** One file's report rows, Tags read for every row. */
function perRowSql(f: ChargeFile, config: Config, period: string, params: Params): string {
  return `SELECT ${fileColumnsSql(f, params)}, *
        FROM (SELECT ${GROUP_COLUMNS.join(', ')}, ${SUMS}
        FROM (${chargesSql(f, { config, period, attributes: REPORT_ATTRIBUTES }, params)}) GROUP BY ALL)`;
}

/** The report's query as one statement, every file read row by row: what the rows are, and the cache's key. */
export function reportSql(files: ChargeFile[], config: Config, period: string, params: Params): string {
  return files.map((f) => perRowSql(f, config, period, params)).join('\nUNION ALL\n');
}

/**
 * A file's rows grouped by Tags text and everything else the report keeps, then Tags read per
 * group. `_row_hash` is the hash of a row its other columns flag; `_tag_flagged`, that its text does.
 */
function byTagsSql(f: ChargeFile, config: Config, period: string, params: Params): string {
  const options = { config, period, attributes: REPORT_ATTRIBUTES };
  const rows = flaggedSql(rowChargesSql(f, options, params), f, config, params, ROW_RULES, surelyHeldSql(config));
  const grouped = `SELECT _tags_raw, currency, service, category, ${anyRuleSql(ROW_RULES)} AS _row_flagged, row_hash AS _row_hash, ${SUMS}
    FROM (${rows}) GROUP BY ALL`;
  return `SELECT ${fileColumnsSql(f, params)}, _tags_raw, ${COLUMNS_BUT_HASH},
      _row_flagged, _row_hash, rows, cost, list, invalid, ${anyRuleSql(TAG_RULES)} AS _tag_flagged
    FROM (${tagsSql(grouped, f, options, params)})`;
}

/**
 * SQL: Tags all but certainly holds the row for review, seen without parsing it: it is absent, or never
 * mentions the key of an attribute whose absence is held. Such rows get their row_hash in the
 * grouping pass, so the commonest reason for a second read (untagged resources) needs none.
 */
function surelyHeldSql(config: Config): string {
  const rules = config.flag_rules;
  const required = CORE_ATTRIBUTES.filter((a) => rules[`missing_${a}`]);
  if (required.length === 0) return 'false';
  return `(_tags_raw IS NULL OR ${required.map((a) => `NOT (${mentionsSql(config, a)})`).join(' OR ')})`;
}

/**
 * Whether grouping a file's rows by Tags text pays for the report (see `tagsRepeat`). Either way
 * gives the same rows; a wrong guess costs only time.
 */
export function groupByTags(db: Database, f: ChargeFile, config: Config): Promise<boolean> {
  return tagsRepeat(db, f, config, REPORT_ATTRIBUTES);
}

let tables = 0;

/**
 * The report's rows for these files: what `reportSql` returns, each file read row by row or
 * grouped by Tags text as `grouped` says (every value as text: `Database.queryJson`).
 */
export async function reportRows<Row>(
  db: Database,
  files: ChargeFile[],
  config: Config,
  period: string,
  grouped: (f: ChargeFile) => boolean,
): Promise<JsonRows<Row>> {
  const byTags = files.filter(grouped);
  const params = new Params();
  if (byTags.length === 0) return db.queryJson<Row>(reportSql(files, config, period, params), params.values);
  const table = `_report_tags_${++tables}`;
  await db.query(
    `CREATE TEMP TABLE ${table} AS ${byTags.map((f) => byTagsSql(f, config, period, params)).join('\nUNION ALL\n')}`,
    params.values,
  );
  try {
    const recheck = new Set(
      (await db.query<{ file: string }>(`SELECT DISTINCT file FROM ${table} WHERE _tag_flagged AND _row_hash IS NULL`)).map((r) => r.file),
    );
    const q = new Params();
    const parts = [
      // A row_hash only where a rule holds: surelyHeldSql may hash a row no rule holds.
      `SELECT source, file, ${COLUMNS_BUT_HASH},
          CASE WHEN _row_flagged OR _tag_flagged THEN _row_hash END AS row_hash, rows, cost, list, invalid
        FROM ${table} WHERE NOT (_tag_flagged AND _row_hash IS NULL)`,
      // The rows Tags holds and nothing else did: read again, only those, each with its row_hash.
      ...byTags
        .filter((f) => recheck.has(f.relPath))
        .map((f) => {
          const texts = `(SELECT _tags_raw FROM ${table} WHERE file = ${q.add(f.relPath)} AND _tag_flagged AND _row_hash IS NULL)`;
          const charges = chargesSql(f, { config, period, attributes: REPORT_ATTRIBUTES, tagsIn: texts }, q);
          return `SELECT ${fileColumnsSql(f, q)}, ${GROUP_COLUMNS.join(', ')}, ${SUMS}
            FROM (${charges}) WHERE (${anyRuleSql(TAG_RULES)}) AND NOT (${anyRuleSql(ROW_RULES)}) GROUP BY ALL`;
        }),
      ...files.filter((f) => !grouped(f)).map((f) => perRowSql(f, config, period, q)),
    ];
    return await db.queryJson<Row>(
      `SELECT source, file, ${GROUP_COLUMNS.join(', ')}, sum(rows) AS rows, sum(cost) AS cost, sum(list) AS list, sum(invalid) AS invalid
      FROM (${parts.join('\nUNION ALL BY NAME\n')}) GROUP BY ALL`,
      q.values,
    );
  } finally {
    await db.query(`DROP TABLE IF EXISTS ${table}`);
  }
}
