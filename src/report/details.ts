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
import { cachedJson } from './cache.ts';
import { DETAIL_GRAIN, DETAIL_LINE, type PeriodGroups, DETAIL_STATEMENT as STATEMENT } from './groups.ts';
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
 * A statement line with its details, as DuckDB gives them (`asJson`) and the cache keeps them:
 * each line's seven values once, not once per detail, and arrays, not objects.
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

/**
 * `detailsSql`'s rows as one JSON text per statement line (a DetailLine), written by DuckDB
 * with exact amounts as text. Converting each value from DuckDB's vectors cost 1–3 µs: the
 * million details of a 10M-row month took 10.2 s to read that way, 1.2 s to reshape and 2.5 s
 * to write to the cache as JSON; as text, 3.2 s to read, 0.4 s to join and 1.9 s to parse, and
 * the text is what is cached (at 1M rows it is even: 0.84 s against 0.8 s).
 */
function asJson(sql: string): string {
  const cell = 'date, resource, row_hash, rows::VARCHAR, cost::VARCHAR, list::VARCHAR, other_count::VARCHAR';
  return `SELECT json_array(${DETAIL_LINE}, list([${cell}]))::VARCHAR AS line FROM (${sql}) GROUP BY ${DETAIL_LINE}`;
}

/**
 * The details query over `grouped` (charges grouped by source, statement, service, category,
 * `day`, resource and flag hash): the largest `cap` groups of each statement, every flagged one,
 * and the rest summed per statement line. Groups of equal amount are ranked by day, resource,
 * service, category and source: the order is total, so which are listed at the cap never
 * depends on the order DuckDB's threads deliver them in.
 *
 * Only the candidates are ranked: the groups at least as large as their statement's cap-th
 * largest (a top-N aggregate), ties included; the rest are summed per line as every group less
 * the listed ones. Ranking every group sorted the ten million resource-days of a 10M-row month
 * by their text columns: 31.6 s over the build's table, against 15.7–18.7 s so (0.5–0.65 s
 * against 1.3–1.7 s at 1M rows; the same rows either way). `grouped` is read three times: a
 * table as it is (NOT MATERIALIZED: materializing it cost more than the ranking saved), the
 * files once (MATERIALIZED).
 */
function detailsSql(grouped: string, cap: string, materialized: boolean): string {
  const same = STATEMENT.map((c) => `d.${c} IS NOT DISTINCT FROM f.${c}`).join(' AND ');
  return `WITH d AS ${materialized ? '' : 'NOT '}MATERIALIZED (${grouped}),
    f AS (SELECT ${STATEMENT.join(', ')}, max(abs(cost), greatest(${cap}, 1))[${cap}] AS floor
      FROM d WHERE row_hash IS NULL GROUP BY ALL HAVING count(*) > ${cap}),
    listed AS (SELECT d.* FROM d LEFT JOIN f ON ${same}
      WHERE d.row_hash IS NOT NULL OR f.floor IS NULL OR abs(d.cost) >= f.floor
      QUALIFY d.row_hash IS NOT NULL OR row_number() OVER (PARTITION BY ${STATEMENT.map((c) => `d.${c}`).join(', ')}, d.row_hash IS NULL
        ORDER BY abs(d.cost) DESC, d.day, d.resource, d.service, d.category, d.source) <= ${cap})
    SELECT ${DETAIL_LINE}, strftime(day, '%Y-%m-%d') AS date, resource, row_hash, rows, cost, list, NULL AS other_count FROM listed
    UNION ALL
    SELECT ${DETAIL_LINE}, NULL, NULL, NULL, sum(rows), sum(cost), sum(list), sum(n) FROM (
      SELECT ${DETAIL_LINE}, rows, cost, list, 1 AS n FROM d WHERE row_hash IS NULL
      UNION ALL SELECT ${DETAIL_LINE}, -rows, -cost, -list, -1 FROM listed WHERE row_hash IS NULL
    ) GROUP BY ALL HAVING sum(n) > 0`;
}

/**
 * `detailsSql` over the build's groups (PeriodGroups): the same rows. Where the details' groups
 * are keyed by their line's and statement's hashes, they are ranked within the statement's hash,
 * and the line's columns are joined to the candidates and the lines' sums only (see DETAIL_KEYS).
 */
function groupsDetailsSql(groups: PeriodGroups, table: string, cap: string): string {
  if (!groups.hashed)
    return detailsSql(`SELECT ${DETAIL_LINE}, day, resource, row_hash, rows, cost, list FROM ${table} WHERE NOT _report`, cap, false);
  const line = DETAIL_LINE.split(', ')
    .map((c) => `l.${c}`)
    .join(', ');
  return `WITH d AS NOT MATERIALIZED (SELECT line, stmt, day, resource, row_hash, rows, cost, list FROM ${table} WHERE NOT _report),
    lines AS (SELECT DISTINCT line, ${DETAIL_LINE} FROM ${table} WHERE _report),
    f AS (SELECT stmt, max(abs(cost), greatest(${cap}, 1))[${cap}] AS floor
      FROM d WHERE row_hash IS NULL GROUP BY stmt HAVING count(*) > ${cap}),
    listed AS (SELECT ${line}, c.* FROM (SELECT d.* FROM d LEFT JOIN f ON d.stmt = f.stmt
        WHERE d.row_hash IS NOT NULL OR f.floor IS NULL OR abs(d.cost) >= f.floor) c JOIN lines l ON c.line = l.line
      QUALIFY c.row_hash IS NOT NULL OR row_number() OVER (PARTITION BY c.stmt, c.row_hash IS NULL
        ORDER BY abs(c.cost) DESC, c.day, c.resource, l.service, l.category, l.source) <= ${cap}),
    rest AS (SELECT line, sum(rows) AS rows, sum(cost) AS cost, sum(list) AS list, sum(n) AS n FROM (
        SELECT line, rows, cost, list, 1 AS n FROM d WHERE row_hash IS NULL
        UNION ALL SELECT line, -rows, -cost, -list, -1 FROM listed WHERE row_hash IS NULL
      ) GROUP BY line HAVING sum(n) > 0)
    SELECT ${DETAIL_LINE}, strftime(day, '%Y-%m-%d') AS date, resource, row_hash, rows, cost, list, NULL AS other_count FROM listed
    UNION ALL
    SELECT ${line}, NULL, NULL, NULL, r.rows, r.cost, r.list, r.n FROM rest r JOIN lines l ON r.line = l.line`;
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
  const sql = detailsSql(grouped, cap, true);
  // Cached by content like the period's report: a build after a new month reads only that month.
  // A build's details come from the period's groups (PeriodGroups), made once for the report and
  // the details, or now when the report was cached.
  const rows = await cachedJson<DetailLine[]>(root, { sql, params: params.values, files: files.map((f) => f.file.path) }, async () => {
    let lines: { line: string }[];
    if (groups) {
      const own = new Params();
      const table = await groups.make(files, config, period);
      lines = await db.query(asJson(groupsDetailsSql(groups, table, own.add(perStatement))), own.values);
    } else lines = await db.query(asJson(sql), params.values);
    return `[${lines.map((l) => l.line).join(',')}]`;
  });
  const decisions = new Map(flags.map((f) => [f.id, f]));
  const out: DetailRow[] = [];
  for (const [source, currency, pi_email, project_id, fund_org, service, category, cells] of rows) {
    const line = { source, currency, pi_email, project_id, fund_org, service, category };
    // Most details are billed to their own line's statement: its key is made once per line.
    const lineKey = statementKey(line);
    const shown = service ?? '(no service name)';
    for (const [date, resource, row_hash, count, cost, list, others] of cells) {
      // Spelled out: `{ ...line, row_hash, … }` for each of the million groups of a 10M-row month
      // took 18 s of its details, against 5 s so (and 1.3 s more with `other_count` spread in).
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
        const key = part.attribution === group ? lineKey : statementKey({ ...part.attribution, currency });
        const row: DetailRow = {
          key,
          source,
          service: shown,
          category,
          date,
          resource,
          charges: part.rows,
          exactCost: part.cost,
          exactList: part.list,
        };
        if (others) row.other_count = Number(others);
        out.push(row);
      }
    }
  }
  return out;
}
