/**
 * `focus-billing build`: report model from DuckDB → site model → Astro static site → charge
 * browser data → PDFs. Everything is built in a staging folder beside the output and swapped in
 * only when every step succeeded, so a failed build leaves the last good site published.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { loadPiDirectory } from '../config/pi-directory.ts';
import type { Config } from '../config/schema.ts';
import { minorDigits } from '../core/currency.ts';
import { UserError } from '../core/errors.ts';
import { parseDecimal } from '../core/money.ts';
import type { Database } from '../db/duckdb.ts';
import { toCsv } from '../journal/csv.ts';
import { buildJournal, JOURNAL_FORMATS } from '../journal/journal.ts';
import type { PrintResult } from '../pdf/statements.ts';
import { PERIOD_RE } from '../repo/layout.ts';
import { periodDetails } from '../report/details.ts';
import { listPeriods, type PeriodReport, periodReport } from '../report/period-report.ts';
import type { ChargeTable } from './client/charges.ts';
import { type Audience, buildSiteModel, type PeriodView, type SiteModel } from './model.ts';

/** The project folder (Astro's root): found upwards, as this module may run from src/ or from the CLI bundle. */
export const PACKAGE_ROOT = findPackageRoot(import.meta.dirname);

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'astro.config.mjs')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no astro.config.mjs above ${from}`);
  }
}

export interface BuildOptions {
  root: string;
  out: string;
  periods?: string[];
  pdf: boolean;
  audience: Audience;
  linkSecret?: string;
  /** The date printed on statements (YYYY-MM-DD): an input, so builds are reproducible. */
  generated: string;
  progress: (text: string) => void;
}

export interface BuildReport {
  out: string;
  audience: Audience;
  periods: string[];
  statements: number;
  pages: number;
  pdfs: (PrintResult & { files: number }) | null;
  /** Per period and currency: what the statements bill. */
  totals: { period: string; currency: string; statements: number; list: string; discount: string; amount_due: string }[];
  /** Steps skipped with a reason (e.g. a GL journal without recharge fund/orgs). */
  warnings: string[];
  timings_ms: Record<string, number>;
}

export async function buildSite(db: Database, config: Config, options: BuildOptions): Promise<BuildReport> {
  const timings: Record<string, number> = {};
  const lap = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      timings[name] = Math.round(performance.now() - t);
    }
  };
  if (options.audience === 'pi' && !options.linkSecret) {
    throw new UserError('--audience pi needs STATEMENT_LINK_SECRET: without it statement addresses could be guessed', {
      hint: 'set STATEMENT_LINK_SECRET to a long random value (e.g. `openssl rand -hex 32`) and keep it secret',
    });
  }
  const all = await listPeriods(options.root);
  const periods = options.periods ?? all;
  for (const p of periods) {
    if (!PERIOD_RE.test(p)) throw new UserError(`--period ${JSON.stringify(p)}: expected YYYY-MM`);
    if (!all.includes(p))
      throw new UserError(`no data for period ${p}`, {
        hint: all.length ? `periods with data: ${all.join(', ')}` : 'ingest a FOCUS export first',
      });
  }
  if (periods.length === 0)
    throw new UserError('nothing to build: no periods with data', {
      hint: 'ingest a FOCUS export first: focus-billing ingest <file> --source <name>',
    });

  const { model, reports } = await lap('report', () =>
    loadSiteModel(db, config, {
      root: options.root,
      periods,
      audience: options.audience,
      generated: options.generated,
      linkSecret: options.linkSecret,
      progress: options.progress,
    }),
  );
  const statements = model.periods.reduce((n, p) => n + p.statements.length, 0);

  const out = resolve(options.out);
  await mkdir(dirname(out), { recursive: true });
  const staging = await mkdtemp(join(dirname(out), `.${basename(out)}.building-`));
  const work = await mkdtemp(join(tmpdir(), 'ocb-build-'));
  let browser: Browser | undefined;
  try {
    const modelFile = join(work, 'site-model.json');
    await writeFile(modelFile, JSON.stringify(model));
    options.progress(`Building the site (${statements} statements)…`);
    const pages = await lap('site', () => runAstro(options.root, staging, work, modelFile, config.site.base_path));
    const warnings: string[] = [];
    if (options.audience === 'admin') {
      await lap('charges', () => writeChargeTables(staging, model, config));
      warnings.push(...(await writeJournals(staging, reports, config, options.generated)));
    }
    let pdfs: BuildReport['pdfs'] = null;
    if (options.pdf) {
      const jobs = model.periods.flatMap((p) =>
        p.statements.map((s) => ({
          number: s.number,
          html: join(staging, s.paths.page, 'index.html'),
          target: join(staging, s.paths.pdf),
          contentHash: s.content_hash,
          title: `${model.organization.name}: statement ${s.number}, ${s.project_id}, ${s.period_label}`,
        })),
      );
      options.progress(`Printing PDF statements (${jobs.length})…`);
      // Loaded here: Playwright and pdf-lib cost most of a second to import, and only PDFs need them.
      const [{ launchChromium }, { printStatements }] = await Promise.all([import('../pdf/browser.ts'), import('../pdf/statements.ts')]);
      const result = await lap('pdf', () =>
        printStatements(
          async () => {
            browser ??= await launchChromium(config.pdf.chromium);
            return browser;
          },
          jobs,
          {
            siteDir: staging,
            base: config.site.base_path,
            cacheDir: join(options.root, '.cache', 'pdf'),
            generated: new Date(`${options.generated}T00:00:00Z`),
            author: model.organization.name,
            progress: (done, total) => options.progress(`  ${done}/${total} PDFs`),
          },
        ),
      );
      pdfs = { ...result, files: jobs.length };
    }
    await swapInto(staging, out);
    const totals = model.periods.flatMap((p) =>
      p.totals.map((t) => ({
        period: p.period,
        currency: t.currency,
        statements: t.statements,
        list: t.list.text,
        discount: t.discount.text,
        amount_due: t.amount_due.text,
      })),
    );
    return { out, audience: options.audience, periods, statements, pages, pdfs, totals, warnings, timings_ms: timings };
  } finally {
    await browser?.close();
    await rm(staging, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** Builds the Astro site into `outDir`; returns the number of pages. */
async function runAstro(root: string, outDir: string, work: string, modelFile: string, base: string): Promise<number> {
  process.env.ASTRO_TELEMETRY_DISABLED = '1';
  process.env.OCB_SITE_MODEL = modelFile;
  const periodsDir = join(root, 'periods');
  await mkdir(periodsDir, { recursive: true });
  process.env.OCB_PERIODS_DIR = periodsDir;
  const { build } = await import('astro');
  let pages = 0;
  // Astro writes its intermediate server bundle into outDir when outDir is below the working
  // directory, and imports it from there: from a billing repository outside this project, its
  // packages would not resolve. Building from the project folder puts that bundle in its .astro/.
  const cwd = process.cwd();
  process.chdir(PACKAGE_ROOT);
  try {
    await build({
      root: PACKAGE_ROOT,
      outDir,
      base,
      cacheDir: join(work, 'astro-cache'),
      logLevel: 'error',
      integrations: [
        {
          name: 'ocb-page-count',
          hooks: {
            'astro:build:done': ({ pages: built }) => {
              pages = built.length;
            },
          },
        },
      ],
    });
  } catch (e) {
    throw new UserError(`the site did not build: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'run with --debug for details; a notes.mdx with an MDX syntax error is a common cause',
      exitCode: 1,
    });
  } finally {
    process.chdir(cwd);
  }
  return pages;
}

/** Journals per period, for finance: in the staff site only. A GL that cannot balance is skipped and said. */
async function writeJournals(siteDir: string, reports: PeriodReport[], config: Config, generated: string): Promise<string[]> {
  const warnings: string[] = [];
  for (const report of reports) {
    const dir = join(siteDir, 'periods', report.period);
    await mkdir(dir, { recursive: true });
    for (const format of JOURNAL_FORMATS) {
      try {
        const journal = buildJournal(format, {
          period: report.period,
          statements: report.statements,
          config,
          digitsOf: (c) => minorDigits(c, config.billing.minor_units),
          buildDate: generated,
        });
        await writeFile(join(dir, `journal-${format}.csv`), toCsv(journal.columns, journal.rows, journal.numeric));
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        warnings.push(`${report.period}: no ${format} journal: ${e.message} (${e.hint ?? ''})`);
      }
    }
  }
  return warnings;
}

/** Charge browser data per period: columnar, dictionary-encoded, amounts in minor units. */
async function writeChargeTables(siteDir: string, model: SiteModel, config: Config): Promise<void> {
  for (const p of model.periods) {
    const currency = mainCurrency(p);
    const digits = minorDigits(currency, config.billing.minor_units);
    const dict = { source: [] as string[], pi: [] as string[], project: [] as string[], service: [] as string[] };
    const index = {
      source: new Map<string, number>(),
      pi: new Map<string, number>(),
      project: new Map<string, number>(),
      service: new Map<string, number>(),
    };
    const id = (k: keyof typeof dict, v: string) => {
      let i = index[k].get(v);
      if (i === undefined) {
        i = dict[k].push(v) - 1;
        index[k].set(v, i);
      }
      return i;
    };
    const rows: ChargeTable['rows'] = [];
    for (const s of p.statements.filter((st) => st.currency === currency)) {
      for (const d of s.details) {
        rows.push([
          id('source', d.source),
          id('pi', s.pi_name),
          id('project', s.project_id),
          id('service', d.service),
          d.date,
          d.resource,
          String(parseDecimal(d.amount.value, digits)),
        ]);
      }
    }
    const table: ChargeTable = { currency, digits, dict, rows };
    await mkdir(join(siteDir, 'periods', p.period), { recursive: true });
    await writeFile(join(siteDir, 'periods', p.period, 'charges.json'), JSON.stringify(table));
  }
}

function mainCurrency(p: PeriodView): string {
  return [...p.totals].sort((a, b) => b.statements - a.statements)[0]?.currency ?? 'USD';
}

/** Replaces `out` with `staging` (two renames; the old site is removed only after). */
async function swapInto(staging: string, out: string): Promise<void> {
  const old = `${out}.old-${process.pid}`;
  const hadOld = await rename(out, old).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );
  await rename(staging, out);
  await mkdir(staging, { recursive: true }); // so the caller's cleanup finds something to remove
  if (hadOld) await rm(old, { recursive: true, force: true });
}

export interface ModelOptions {
  root: string;
  periods: string[];
  audience: Audience;
  generated: string;
  linkSecret?: string;
  progress: (text: string) => void;
}

/** The report of each period, read by DuckDB, and the site model built from them. */
export async function loadSiteModel(
  db: Database,
  config: Config,
  options: ModelOptions,
): Promise<{ model: SiteModel; reports: PeriodReport[] }> {
  const directory = await loadPiDirectory(options.root);
  const reports: PeriodReport[] = [];
  const withDetails = [];
  for (const period of options.periods) {
    options.progress(`Reading ${period}…`);
    const report = await periodReport(db, options.root, config, period);
    const details = await periodDetails(db, report.files, config, period, report.flags, config.statements.detail_rows);
    reports.push(report);
    withDetails.push({ report, details });
  }
  const notes = options.periods.filter((p) => existsSync(join(options.root, 'periods', p, 'notes.mdx')));
  const model = buildSiteModel({
    config,
    directory,
    audience: options.audience,
    generated: options.generated,
    linkSecret: options.linkSecret,
    reports: withDetails,
    notes,
  });
  return { model, reports };
}
