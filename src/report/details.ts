/**
 * Charge details of a period's statements: charges grouped by day, resource and service. The
 * largest per statement are listed; the rest are summed per statement line so that the
 * details always add up. Exact amounts are apportioned to cents so that each line's details sum
 * to the rounded line shown above them (largest remainder).
 */
import type { Config } from '../config/schema.ts';
import type { Database } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import type { Flag } from '../flags/schema.ts';
import type { ChargeFile } from '../focus/charges-sql.ts';
import { type ChargeGroup, resolveGroup, statementKey } from '../statements/build.ts';
import { cachedQuery } from './cache.ts';
import { DETAIL_GRAIN, DETAIL_LINE, groupsDetailSql, type PeriodGroups } from './groups.ts';
import { periodChargesSql } from './period-report.ts';

export interface DetailRow {
  /** Statement key: pi_email, project_id, fund_org, currency. */
  key: string;
  source: string;
  service: string;
  category: string;
  date: string | null;
  resource: string | null;
  /** Set on the row summing charges not listed individually. */
  other_count?: number;
  charges: number;
  exactCost: bigint;
  exactList: bigint;
}

/**
 * A row of `detailsSql`, as an array: a 10M-row month's million details are 0.2 GB of JSON in the
 * cache so, and were 0.33 GB as objects (writing them took 14 s, reading them back 7 s).
 */
type DetailTuple = [
  source: string,
  currency: string,
  pi_email: string | null,
  project_id: string | null,
  fund_org: string | null,
  service: string | null,
  category: string,
  date: string | null,
  resource: string | null,
  row_hash: string | null,
  rows: string,
  cost: string,
  list: string,
  other_count: string | null,
];

/** The columns of `detailsSql`, in order: the DetailTuple. */
const DETAIL_COLUMNS = [...DETAIL_LINE.split(', '), 'date', 'resource', 'row_hash', 'rows', 'cost', 'list', 'other_count'];

function tuples(result: { columns: string[]; rows: unknown[][] }): { columns: string[]; rows: DetailTuple[] } {
  return { columns: result.columns, rows: result.rows as DetailTuple[] };
}

/**
 * The details query over `grouped` (charges grouped by source, statement, service, category,
 * `day`, resource and flag hash): the largest `cap` groups of each statement, every flagged one,
 * and the rest summed per statement line. Groups of equal amount are ranked by day, resource,
 * service, category and source: the order is total, so which are listed at the cap never
 * depends on the order DuckDB's threads deliver them in.
 *
 * Tried: ranking only the groups at least as large as each statement's cap-th (found by a
 * top-N aggregate, joined back). Faster over a table (0.8 s against 1.5 s for a 1M-row month),
 * but in one query the grouped charges are then read twice through a materialized CTE: 9.3 s
 * against 5.1 s. Over the build's table of groups (PeriodGroups) it lost too: 1.44 s against
 * 1.22 s for the 1M-row month.
 */
function detailsSql(grouped: string, cap: string): string {
  return `WITH d AS (${grouped}),
    r AS (SELECT *, row_number() OVER (PARTITION BY pi_email, project_id, fund_org, currency, row_hash IS NULL
        ORDER BY abs(cost) DESC, day, resource, service, category, source) AS rn FROM d)
    SELECT ${DETAIL_LINE}, strftime(day, '%Y-%m-%d') AS date, resource, row_hash,
        rows, cost, list, NULL AS other_count
      FROM r WHERE rn <= ${cap} OR row_hash IS NOT NULL
    UNION ALL
    SELECT ${DETAIL_LINE}, NULL, NULL, NULL, sum(rows), sum(cost), sum(list), count(*)
      FROM r WHERE rn > ${cap} AND row_hash IS NULL GROUP BY ALL`;
}

export async function periodDetails(
  db: Database,
  root: string,
  files: ChargeFile[],
  config: Config,
  period: string,
  flags: Flag[],
  perStatement = 200,
  groups?: PeriodGroups,
): Promise<DetailRow[]> {
  const params = new Params();
  const union = periodChargesSql(files, config, period, params);
  const cap = params.add(perStatement);
  const grouped = `SELECT ${DETAIL_LINE},
        ${DETAIL_GRAIN}, row_hash,
        count(*) AS rows, sum(cost) AS cost, sum(list_cost) AS list
      FROM (${union}) GROUP BY ALL`;
  const sql = detailsSql(grouped, cap);
  // Cached by content like the period's report: a build after a new month reads only that month.
  // When the report has just grouped the period's charges (PeriodGroups), the details come from
  // those groups instead of another pass over the files.
  const { columns, rows } = await cachedQuery<{ columns: string[]; rows: DetailTuple[] }>(
    root,
    { sql, params: params.values, files: files.map((f) => f.file.path) },
    async () => {
      const table = groups?.table;
      if (!table) return tuples(await db.queryRows(sql, params.values));
      const fromGroups = new Params();
      return tuples(await db.queryRows(detailsSql(groupsDetailSql(table), fromGroups.add(perStatement)), fromGroups.values));
    },
    () => true,
  );
  if (columns.join() !== DETAIL_COLUMNS.join())
    throw new Error(`charge details: columns ${columns.join(', ')}, expected ${DETAIL_COLUMNS.join(', ')}`);
  const decisions = new Map(flags.map((f) => [f.id, f]));
  const out: DetailRow[] = [];
  for (const [
    source,
    currency,
    pi_email,
    project_id,
    fund_org,
    service,
    category,
    date,
    resource,
    row_hash,
    count,
    cost,
    list,
    others,
  ] of rows) {
    const group: ChargeGroup = {
      source,
      currency,
      pi_email,
      project_id,
      fund_org,
      service,
      category,
      row_hash,
      rows: Number(count),
      cost,
      list,
    };
    for (const part of resolveGroup(group, decisions)) {
      if (part.outcome !== 'billed') continue;
      out.push({
        key: statementKey({ ...part.attribution, currency }),
        source,
        service: service ?? '(no service name)',
        category,
        date,
        resource,
        ...(others ? { other_count: Number(others) } : {}),
        charges: part.rows,
        exactCost: part.cost,
        exactList: part.list,
      });
    }
  }
  return out;
}
