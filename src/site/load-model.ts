/** The report of each period, read by DuckDB, and the site model built from them (for the site and the emails). */
import { existsSync } from 'node:fs';
import { loadPiDirectory } from '../config/pi-directory.ts';
import type { Config } from '../config/schema.ts';
import type { Database } from '../db/duckdb.ts';
import { issueDates } from '../repo/issue-date.ts';
import { layout } from '../repo/layout.ts';
import { periodDetails } from '../report/details.ts';
import { type PeriodReport, periodReport } from '../report/period-report.ts';
import { readLogo } from './logo.ts';
import { type Audience, buildSiteModel, type SiteModel } from './model.ts';

export interface ModelOptions {
  root: string;
  periods: string[];
  audience: Audience;
  /** A date for every statement (--date); else each period's own issue date. */
  date?: string;
  linkSecret?: string;
  progress: (text: string) => void;
}

export async function loadSiteModel(
  db: Database,
  config: Config,
  options: ModelOptions,
): Promise<{ model: SiteModel; reports: PeriodReport[]; dates: Map<string, string> }> {
  const directory = await loadPiDirectory(options.root);
  const dates = await issueDates(options.root, options.periods, options.date);
  const reports: PeriodReport[] = [];
  const inputs = [];
  const balances = new Map<string, Map<string, bigint>>(); // credit balances, carried from period to period
  for (const period of [...options.periods].sort()) {
    options.progress(`Reading ${period}…`);
    const report = await periodReport(db, options.root, config, period, { balances });
    const details = await periodDetails(db, options.root, report.files, config, period, report.flags, config.statements.detail_rows);
    reports.push(report);
    inputs.push({ report, details, issued: dates.get(period) as string });
  }
  const notes = options.periods.filter((p) => existsSync(layout.notesFile(options.root, p)));
  const model = buildSiteModel({
    config,
    directory,
    audience: options.audience,
    linkSecret: options.linkSecret,
    reports: inputs,
    notes,
    logo: await readLogo(options.root, config),
  });
  return { model, reports, dates };
}
