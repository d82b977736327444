/** The report of each period, read by DuckDB, and the site model built from them (for the site and the emails). */
import { existsSync } from 'node:fs';
import { loadPiDirectory, type PiDirectory } from '../config/pi-directory.ts';
import type { Config } from '../config/schema.ts';
import type { Database } from '../db/duckdb.ts';
import { compareText } from '../domain/order.ts';
import { issueDates } from '../repo/issue-date.ts';
import { layout } from '../repo/layout.ts';
import { notesProblem } from '../repo/notes.ts';
import { periodDetails } from '../report/details.ts';
import { PeriodGroups } from '../report/groups.ts';
import { type PeriodReport, periodReport } from '../report/period-report.ts';
import { readLogo } from './logo.ts';
import { type Audience, assertDistinctIdentities, buildSiteModel, type PeriodView, type SiteModel } from './model.ts';

export interface ModelOptions {
  root: string;
  periods: string[];
  audience: Audience;
  /** A date for every statement (--date); else each period's own issue date. */
  date?: string;
  linkSecret?: string;
  progress: (text: string) => void;
}

/** What every period's view is built with: read once per command. */
export interface ModelContext {
  root: string;
  audience: Audience;
  linkSecret?: string;
  directory: PiDirectory;
  logo?: string;
  /** Periods with a notes.mdx from the billing office. */
  notes: string[];
  /** Credit and prepayment balances after each period, carried from period to period (see policy/load.ts). */
  balances: Map<string, Map<string, bigint>>;
}

export async function modelContext(config: Config, options: Omit<ModelOptions, 'progress' | 'date'>): Promise<ModelContext> {
  for (const period of options.periods) {
    const problem = await notesProblem(options.root, period);
    if (problem) throw problem;
  }
  return {
    root: options.root,
    audience: options.audience,
    linkSecret: options.linkSecret,
    directory: await loadPiDirectory(options.root),
    logo: await readLogo(options.root, config),
    notes: options.periods.filter((p) => existsSync(layout.notesFile(options.root, p))),
    balances: new Map(),
  };
}

/** The model without periods: the organization, branding and audience every page shows. */
export function modelFrame(config: Config, ctx: ModelContext): SiteModel {
  return buildSiteModel({ ...ctx, config, reports: [] });
}

/** One period's report (with the balances of the periods before it in `ctx`) and its view. */
export async function loadPeriodView(
  db: Database,
  config: Config,
  ctx: ModelContext,
  period: string,
  issued: string,
): Promise<{ report: PeriodReport; view: PeriodView }> {
  // The report and the details read the files once between them (when neither is cached).
  const groups = new PeriodGroups(db);
  try {
    const report = await periodReport(db, ctx.root, config, period, { balances: ctx.balances, groups });
    const details = await periodDetails(db, ctx.root, report.files, config, period, report.flags, config.statements.detail_rows, groups);
    const view = buildSiteModel({ ...ctx, config, reports: [{ report, details, issued }] }).periods[0] as PeriodView;
    return { report, view };
  } finally {
    await groups.drop();
  }
}

export async function loadSiteModel(
  db: Database,
  config: Config,
  options: ModelOptions,
): Promise<{ model: SiteModel; reports: PeriodReport[]; dates: Map<string, string> }> {
  const ctx = await modelContext(config, options);
  const dates = await issueDates(options.root, options.periods, options.date);
  const reports: PeriodReport[] = [];
  const views: PeriodView[] = [];
  for (const period of [...options.periods].sort()) {
    options.progress(`Reading ${period}…`);
    const { report, view } = await loadPeriodView(db, config, ctx, period, dates.get(period) as string);
    reports.push(report);
    views.push(view);
  }
  const model = { ...modelFrame(config, ctx), periods: views.sort((a, b) => compareText(b.period, a.period)) };
  assertDistinctIdentities(model);
  return { model, reports, dates };
}
