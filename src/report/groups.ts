/**
 * A period's charges grouped once, finely enough for both its report (statement lines) and its
 * charge details (day and resource). A build needs both for every period it queries; grouping
 * once reads the files once, where the report and the details would each read them.
 */
import type { Config } from '../config/schema.ts';
import type { Database } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import { CORE_ATTRIBUTES, ROW_ERRORS } from '../domain/rules.ts';
import { type ChargeFile, chargesSql } from '../focus/charges-sql.ts';
import { fileColumnsSql } from '../focus/read-sql.ts';

/**
 * The details' grain of a charge: its day (UTC) as a DATE, grouped and ordered as a 4-byte value
 * and spelled as text only for the groups listed (formatting it for every charge cost a tenth of
 * the grouping), and its resource.
 */
export const DETAIL_GRAIN = 'make_timestamp(epoch_us(charge_start))::DATE AS day, coalesce(resource_name, resource_id) AS resource';

/** A statement line, as the details group and sum by it: source, currency, statement and service. */
export const DETAIL_LINE = 'source, currency, pi_email, project_id, fund_org, service, category';

/** The attributes a report reads from Tags. */
export const REPORT_ATTRIBUTES = [...CORE_ATTRIBUTES, 'account_code'] as const;

/** The report's group columns, per file (`source` and `file` are added to each file's groups). */
export const GROUP_COLUMNS = ['currency', 'pi_email', 'project_id', 'fund_org', 'account_code', 'service', 'category', 'row_hash'];

let tables = 0;

export class PeriodGroups {
  /** The table holding the groups, once made (dropped by `drop`, or with the database). */
  table: string | null = null;

  constructor(private readonly db: Database) {}

  /**
   * Groups the files' charges into a temporary table, once; returns its name. One pass makes two
   * sets of groups (GROUPING SETS): the report's, per file, and the details', per source, day
   * and resource. Each is what its query reads, as it is: the details' set holds a row per
   * resource-day, ten million in a month of one-charge resources, and grouping them a second
   * time (to drop the file and account code) took 24 s of such a month's build.
   */
  async make(files: ChargeFile[], config: Config, period: string): Promise<string> {
    if (this.table) return this.table;
    const name = `_groups_${++tables}`;
    const params = new Params();
    const charges = files
      .map(
        (f) => `SELECT ${fileColumnsSql(f, params)}, ${GROUP_COLUMNS.join(', ')}, ${DETAIL_GRAIN}, cost, list_cost,
          ${ROW_ERRORS.join(' OR ')} AS _invalid
        FROM (${chargesSql(f, { config, period, attributes: REPORT_ATTRIBUTES }, params)})`,
      )
      .join('\nUNION ALL\n');
    // No order to keep: grouped on a connection that need not (a table, so the others see it).
    await this.db.runUnordered(
      `CREATE TABLE ${name} AS
      SELECT source, file, ${GROUP_COLUMNS.join(', ')}, day, resource, GROUPING(file) = 0 AS _report,
        count(*) AS rows, sum(cost) AS cost, sum(list_cost) AS list, count(*) FILTER (WHERE _invalid) AS invalid
      FROM (${charges})
      GROUP BY GROUPING SETS ((source, file, ${GROUP_COLUMNS.join(', ')}), (${DETAIL_LINE}, day, resource, row_hash))`,
      params.values,
    );
    this.table = name;
    return name;
  }

  async drop(): Promise<void> {
    if (this.table) await this.db.query(`DROP TABLE IF EXISTS ${this.table}`);
    this.table = null;
  }
}

/** The report's rows (per file, grouped by GROUP_COLUMNS) from the groups: what the report's own query returns. */
export function groupsReportSql(table: string): string {
  return `SELECT source, file, ${GROUP_COLUMNS.join(', ')}, rows, coalesce(cost, 0) AS cost, coalesce(list, 0) AS list, invalid
    FROM ${table} WHERE _report`;
}

/** The details' groups (per source, day and resource) from the groups. */
export function groupsDetailSql(table: string): string {
  return `SELECT ${DETAIL_LINE}, day, resource, row_hash, rows, cost, list FROM ${table} WHERE NOT _report`;
}
