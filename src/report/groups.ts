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

/** A statement: what the details are ranked within. */
export const DETAIL_STATEMENT = ['pi_email', 'project_id', 'fund_org', 'currency'];

/**
 * A statement line (DETAIL_LINE) and a statement (DETAIL_STATEMENT) as 64-bit values: what the
 * details' groups are keyed by and ranked within. Keyed by the line's seven text columns, the ten
 * million groups of a 10M-row month took 61 s to make, against 48–52 s so; ranking them within
 * their statement's hash took 8.7–13.3 s, against 19.8–21.2 s with the columns joined back to
 * every group (the same rows, compared with `EXCEPT ALL`). The columns are joined to the listed
 * groups and the lines' sums only, from the report's groups (a few thousand rows). Two lines or
 * statements of one value would merge, so `make` checks that none share one, and groups by the
 * columns if some do.
 */
export const DETAIL_KEYS = { line: `hash(${DETAIL_LINE})`, statement: `hash(${DETAIL_STATEMENT.join(', ')})` };

let tables = 0;

export class PeriodGroups {
  /** The table holding the groups, once made (dropped by `drop`, or with the database). */
  table: string | null = null;
  /** Whether the details' groups are keyed by the hashes (`line`, `stmt`) or by the line's columns. */
  hashed = true;

  /** `keys`: SQL for the line's and statement's keys (tests pass ones that give two lines one value). */
  constructor(
    private readonly db: Database,
    private readonly keys = DETAIL_KEYS,
  ) {}

  /**
   * Groups the files' charges into a table, once; returns its name. One pass makes two sets of
   * groups (GROUPING SETS): the report's, per file, and the details', per source, day and
   * resource. Each is what its query reads, as it is: the details' set holds a row per
   * resource-day, ten million in a month of one-charge resources, and grouping them a second
   * time (to drop the file and account code) took 24 s of such a month's build.
   */
  async make(files: ChargeFile[], config: Config, period: string): Promise<string> {
    if (this.table) return this.table;
    const name = `_groups_${++tables}`;
    await this.group(name, files, config, period, true);
    const shared = (key: string, columns: string) =>
      `(SELECT count(*) FROM (SELECT ${key} FROM (SELECT DISTINCT ${key}, ${columns} FROM ${name} WHERE _report)
        GROUP BY ${key} HAVING count(*) > 1))`;
    try {
      const [check] = await this.db.query<{ n: string }>(
        `SELECT ${shared('line', DETAIL_LINE)} + ${shared('stmt', DETAIL_STATEMENT.join(', '))} AS n`,
      );
      if (Number(check?.n) > 0) {
        await this.db.query(`DROP TABLE ${name}`);
        await this.group(name, files, config, period, false);
      }
    } catch (e) {
      await this.db.query(`DROP TABLE IF EXISTS ${name}`).catch(() => {});
      throw e;
    }
    this.table = name;
    return name;
  }

  private async group(name: string, files: ChargeFile[], config: Config, period: string, hashed: boolean): Promise<void> {
    const params = new Params();
    const charges = files
      .map(
        (f) => `SELECT ${fileColumnsSql(f, params)}, ${GROUP_COLUMNS.join(', ')}, ${DETAIL_GRAIN}, cost, list_cost,
          ${this.keys.line} AS line, ${this.keys.statement} AS stmt, ${ROW_ERRORS.join(' OR ')} AS _invalid
        FROM (${chargesSql(f, { config, period, attributes: REPORT_ATTRIBUTES }, params)})`,
      )
      .join('\nUNION ALL\n');
    const detailKey = hashed ? 'line, stmt' : DETAIL_LINE;
    // No order to keep: grouped on a connection that need not (a table, so the others see it).
    await this.db.runUnordered(
      `CREATE TABLE ${name} AS
      SELECT source, file, ${GROUP_COLUMNS.join(', ')}, line, stmt, day, resource, GROUPING(file) = 0 AS _report,
        count(*) AS rows, sum(cost) AS cost, sum(list_cost) AS list, count(*) FILTER (WHERE _invalid) AS invalid
      FROM (${charges})
      GROUP BY GROUPING SETS ((source, file, ${GROUP_COLUMNS.join(', ')}, line, stmt), (${detailKey}, day, resource, row_hash))`,
      params.values,
    );
    this.hashed = hashed;
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
