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

/** A listed group of `detailsSql`, or a line's sum of the rest (other_count set), as an array. */
type DetailCell = [
  date: string | null,
  resource: string | null,
  row_hash: string | null,
  rows: string,
  cost: string,
  list: string,
  other_count: string | null,
];

/**
 * A statement line with its details, as DuckDB gives them (`byLine`) and the cache keeps them:
 * each line's seven values once, not once per detail, and arrays, not objects. For the million
 * details of a 10M-row month, objects with every column took 0.33 GB of JSON (14 s to write,
 * 7 s to read back) and 19 s to convert from DuckDB's values; per line, that conversion takes
 * about half the time (0.8 s against 1.6 s for the 1M-row month's 101,000 details).
 */
type DetailLine = [
  source: string,
  currency: string,
  pi_email: string | null,
  project_id: string | null,
  fund_org: string | null,
  service: string | null,
  category: string,
  details: DetailCell[],
];

const CELL = ['date', 'resource', 'row_hash', 'rows', 'cost', 'list', 'other_count'] as const;

/** The columns of `byLine`, in order: the DetailLine. */
const LINE_COLUMNS = [...DETAIL_LINE.split(', '), 'details'];

/** `detailsSql`'s rows gathered per statement line. */
function byLine(sql: string): string {
  return `SELECT ${DETAIL_LINE}, list({${CELL.map((c) => `${c}: ${c}`).join(', ')}}) AS details FROM (${sql}) GROUP BY ALL`;
}

/** DuckDB's rows of `byLine` (each detail a struct, an object in JSON) as DetailLines. */
function detailLines(result: { columns: string[]; rows: unknown[][] }): { columns: string[]; rows: DetailLine[] } {
  const rows = result.rows.map((row) => {
    const cells = (row[7] as Record<(typeof CELL)[number], string | null>[]).map((d) => CELL.map((c) => d[c]) as DetailCell);
    return [...row.slice(0, 7), cells] as DetailLine;
  });
  return { columns: result.columns, rows };
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
  const { columns, rows } = await cachedQuery<{ columns: string[]; rows: DetailLine[] }>(
    root,
    { sql, params: params.values, files: files.map((f) => f.file.path) },
    async () => {
      const table = groups?.table;
      if (!table) return detailLines(await db.queryRows(byLine(sql), params.values));
      const fromGroups = new Params();
      return detailLines(await db.queryRows(byLine(detailsSql(groupsDetailSql(table), fromGroups.add(perStatement))), fromGroups.values));
    },
    () => true,
  );
  if (columns.join() !== LINE_COLUMNS.join())
    throw new Error(`charge details: columns ${columns.join(', ')}, expected ${LINE_COLUMNS.join(', ')}`);
  const decisions = new Map(flags.map((f) => [f.id, f]));
  const out: DetailRow[] = [];
  for (const [source, currency, pi_email, project_id, fund_org, service, category, cells] of rows)
    for (const [date, resource, row_hash, count, cost, list, others] of cells) {
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
