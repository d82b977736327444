/**
 * Every charge of a period, billed or not, for the app's charge browser: the period's files read
 * by the same SQL as statements (one table per file, so a row's rowid is its record number), each
 * flagged row joined to its flag (by file and line, as flags.yaml records it), and one charge in
 * full: every column of its row, its raw Tags, its flag and the commits that changed it.
 */
import { simpleGit } from 'simple-git';
import type { Config } from '../config/schema.ts';
import type { Database } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import type { Flag } from '../flags/schema.ts';
import { csvBytes } from '../focus/file.ts';
import { recordLines } from '../focus/lines.ts';
import { type ChargeFile, col, readFileSql } from '../focus/read-sql.ts';
import { dataFiles, periodChargesSql } from '../report/period-report.ts';
import { HttpError } from './upload.ts';

export const CHARGE_STATUSES = ['billed', 'pending', 'approved', 'rejected', 'unattributed'] as const;
export type ChargeStatus = (typeof CHARGE_STATUSES)[number];

export interface ChargeRow {
  file: string;
  /** 1 = the first data row. */
  record: number;
  source: string;
  status: ChargeStatus;
  flag_id: string | null;
  date: string | null;
  pi_email: string | null;
  project_id: string | null;
  fund_org: string | null;
  service: string | null;
  category: string;
  resource: string | null;
  currency: string;
  amount: string;
}

export interface ChargePage {
  period: string;
  total: number;
  offset: number;
  rows: ChargeRow[];
}

/** The period's charges loaded into DuckDB (one table per file), with each flagged row's flag. */
async function load(db: Database, root: string, config: Config, period: string, flags: Flag[]): Promise<ChargeFile[]> {
  const files = await dataFiles(db, root, config, period);
  const byLine = new Map(flags.map((f) => [`${f.file}#${f.line}`, f]));
  await db.query('CREATE OR REPLACE TEMP TABLE web_flagged (file VARCHAR, record BIGINT, flag_id VARCHAR, status VARCHAR)');
  for (const [i, f] of files.entries()) {
    const params = new Params();
    const charges = periodChargesSql([f], config, period, params, { inFileOrder: true });
    await db.query(`CREATE OR REPLACE TEMP TABLE web_c${i} AS ${charges}`, params.values);
    const flagged = await db.query<{ record: string }>(`SELECT rowid + 1 AS record FROM web_c${i} WHERE row_hash IS NOT NULL`);
    if (flagged.length === 0) continue;
    const records = flagged.map((r) => Number(r.record));
    const lines = f.file.format === 'csv' ? await recordLines(csvBytes(f.file), records) : new Map(records.map((r) => [r, r]));
    const values: string[] = [];
    const params2 = new Params();
    for (const r of records) {
      const flag = byLine.get(`${f.relPath}#${lines.get(r)}`);
      if (flag) values.push(`(${params2.add(f.relPath)}, ${r}, ${params2.add(flag.id)}, ${params2.add(flag.status)})`);
    }
    for (let k = 0; k < values.length; k += 500)
      await db.query(`INSERT INTO web_flagged VALUES ${values.slice(k, k + 500).join(', ')}`, params2.values);
  }
  return files;
}

/** The union of the loaded files, each row with its record number and status. */
function unionSql(files: ChargeFile[]): string {
  return files
    .map(
      (_, i) => `SELECT c.file, c.rowid + 1 AS record, c.source, f.flag_id,
        CASE WHEN c.row_hash IS NULL THEN
          CASE WHEN c.pi_email IS NOT NULL AND c.project_id IS NOT NULL AND c.fund_org IS NOT NULL THEN 'billed' ELSE 'unattributed' END
        ELSE coalesce(f.status, 'pending') END AS status,
        strftime(make_timestamp(epoch_us(c.charge_start)), '%Y-%m-%d') AS date,
        c.pi_email, c.project_id, c.fund_org, c.service, c.category,
        coalesce(c.resource_name, c.resource_id) AS resource, c.currency, c.cost::VARCHAR AS amount
      FROM web_c${i} c LEFT JOIN web_flagged f ON f.file = c.file AND f.record = c.rowid + 1`,
    )
    .join(' UNION ALL ');
}

export async function chargePage(
  db: Database,
  root: string,
  config: Config,
  period: string,
  flags: Flag[],
  query: { status?: string; q?: string; offset?: number; limit?: number },
): Promise<ChargePage> {
  const files = await load(db, root, config, period, flags);
  if (files.length === 0) return { period, total: 0, offset: 0, rows: [] };
  const params = new Params();
  const where: string[] = [];
  if (query.status) {
    if (!(CHARGE_STATUSES as readonly string[]).includes(query.status))
      throw new HttpError(400, `status ${JSON.stringify(query.status)}: expected one of ${CHARGE_STATUSES.join(', ')}`);
    where.push(`status = ${params.add(query.status)}`);
  }
  if (query.q?.trim()) {
    // The text as typed: contains(), not LIKE, where % and _ matched any text (gpu_a100 found gpu-a100; 50% found everything).
    const q = params.add(query.q.trim().toLowerCase());
    where.push(
      `contains(lower(concat_ws(' ', pi_email, project_id, fund_org, service, resource, source, flag_id, category, file || ':' || record)), ${q})`,
    );
  }
  // Written into the SQL as numbers: whole ones only (NaN or Infinity there was a failure of the query).
  const whole = (n: number | undefined, fallback: number) => (n !== undefined && Number.isSafeInteger(n) ? n : fallback);
  const offset = Math.max(0, whole(query.offset, 0));
  const limit = Math.min(500, Math.max(1, whole(query.limit, 100)));
  const filtered = `SELECT * FROM (${unionSql(files)}) ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
  const [count] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM (${filtered})`, params.values);
  const rows = await db.query<ChargeRow & { record: string }>(
    `${filtered} ORDER BY file, record LIMIT ${limit} OFFSET ${offset}`,
    params.values,
  );
  return { period, total: Number(count?.n ?? 0), offset, rows: rows.map((r) => ({ ...r, record: Number(r.record) })) };
}

export interface ChargeDetail {
  file: string;
  record: number;
  line: number | null;
  /** Every column of the row, by header name, as the file has it. */
  columns: { name: string; value: string | null }[];
  tags: string | null;
  flag: Flag | null;
  history: { commit: string; author: string; date: string; subject: string }[];
}

export async function chargeDetail(
  db: Database,
  root: string,
  config: Config,
  period: string,
  flags: Flag[],
  where: { file: string; record: number },
): Promise<ChargeDetail> {
  const files = await dataFiles(db, root, config, period);
  const f = files.find((x) => x.relPath === where.file);
  if (!f) {
    if (!where.file) throw new HttpError(400, 'file: name the data file, such as data/2025-03/aws.csv');
    throw new HttpError(404, `${where.file} is not a data file of ${period}`);
  }
  if (!Number.isSafeInteger(where.record) || where.record < 1) throw new HttpError(400, 'record: expected a row number from 1');
  const params = new Params();
  const [row] = await db.query<Record<string, string | null>>(
    `SELECT * FROM ${readFileSql(f, params)} LIMIT 1 OFFSET ${where.record - 1}`,
    params.values,
  );
  if (!row) throw new HttpError(404, `${where.file} has no row ${where.record}`);
  const columns = f.file.header.map((name, i) => ({ name, value: row[col(i)] ?? null }));
  const tagsIndex = f.file.header.findIndex((h) => h.toLowerCase() === 'tags');
  const line = f.file.format === 'csv' ? ((await recordLines(csvBytes(f.file), [where.record])).get(where.record) ?? null) : null;
  const flag = flags.find((x) => x.file === where.file && x.line === (line ?? where.record)) ?? null;
  return {
    file: where.file,
    record: where.record,
    line,
    columns,
    tags: tagsIndex >= 0 ? (row[col(tagsIndex)] ?? null) : null,
    flag,
    history: flag ? await flagHistory(root, period, flag.id) : [],
  };
}

/** The commits that changed a flag's entry in flags.yaml, newest first. */
export async function flagHistory(root: string, period: string, id: string): Promise<ChargeDetail['history']> {
  const marker = '@@openchargeback@@';
  const out = await simpleGit(root)
    .raw(['log', `--format=${marker}%h%x09%an%x09%aI%x09%s`, '-L', `/id: ${id}/,+14:periods/${period}/flags.yaml`])
    .catch(() => '');
  return out
    .split('\n')
    .filter((l) => l.startsWith(marker))
    .map((l) => {
      const [commit = '', author = '', date = '', subject = ''] = l.slice(marker.length).split('\t');
      return { commit, author, date, subject };
    });
}
