/**
 * `focus-billing build`: report model from DuckDB → site model → Astro static site → charge
 * browser data and journals → PDFs. Everything is built in a staging folder beside the output
 * and swapped in only when every step succeeded, so a failed build leaves the last good site
 * published; and only a folder this tool built, or an empty one, is ever replaced (out-dir.ts).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import type { Config } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { makeDir } from '../core/make-dir.ts';
import type { Database } from '../db/duckdb.ts';
import { compareText } from '../domain/order.ts';
import { isPeriod } from '../domain/period.ts';
import { JOURNAL_FORMATS } from '../journal/journal.ts';
import { writeJournals } from '../journal/write.ts';
import type { PrintResult } from '../pdf/statements.ts';
import { loadCredits } from '../policy/load.ts';
import { sha256Text } from '../repo/hash.ts';
import { issueDates } from '../repo/issue-date.ts';
import { layout } from '../repo/layout.ts';
import { listPeriods, type PeriodReport } from '../report/period-report.ts';
import { runAstro } from './astro.ts';
import { chargeTableFile, writeChargeTable } from './charge-table.ts';
import { loadPeriodView, modelContext, modelFrame } from './load-model.ts';
import { type Audience, assertDistinctIdentities, type PeriodView, type SiteModel } from './model.ts';
import { writeModelFile } from './model-file.ts';
import { checkOutDir, readSiteMarker, swapInto } from './out-dir.ts';
import {
  globalKey,
  PageCache,
  type PeriodSummary,
  periodInputs,
  periodKey,
  periodPageFiles,
  periodSummaryHash,
  siteFolders,
  withoutStatements,
} from './page-cache.ts';

export interface BuildOptions {
  root: string;
  out: string;
  periods?: string[];
  pdf: boolean;
  audience: Audience;
  linkSecret?: string;
  /** A date for every statement (--date); else each period's own issue date. */
  date?: string;
  progress: (text: string) => void;
}

export interface BuildReport {
  out: string;
  audience: Audience;
  periods: string[];
  /** The periods whose pages were rendered (the others' were reused from .cache/site/). */
  rendered_periods: string[];
  statements: number;
  pages: number;
  pdfs: (PrintResult & { files: number }) | null;
  /** Per period and currency: what the statements bill. */
  totals: {
    period: string;
    currency: string;
    statements: number;
    list: string;
    discount: string;
    /** What prepayments paid, where they paid anything: amount_due = list − discount − prepaid. */
    prepaid: string | null;
    amount_due: string;
  }[];
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
      timings[name] = (timings[name] ?? 0) + Math.round(performance.now() - t);
    }
  };
  const out = resolve(options.out);
  await checkOutDir(options.root, out);
  if (options.audience === 'pi' && !options.linkSecret) {
    throw new UserError('--audience pi needs STATEMENT_LINK_SECRET: without it statement addresses could be guessed', {
      hint: 'set STATEMENT_LINK_SECRET to a long random value (`openssl rand -base64 32`) and keep it secret',
    });
  }
  const periods = await chosenPeriods(options.root, options.periods);

  // Period by period, in order: each one's outputs reused from .cache/site/ when its key (what it
  // is made of) is kept there, else queried and rendered.
  const ctx = await modelContext(config, { root: options.root, periods, audience: options.audience, linkSecret: options.linkSecret });
  const frame = modelFrame(config, ctx);
  const pageCache = new PageCache(options.root, options.audience);
  const built: { report: PeriodReport; view: PeriodView; key: string }[] = [];
  const kept: { summary: PeriodSummary; key: string }[] = [];
  const dates = await issueDates(options.root, periods, options.date);

  await makeDir(dirname(out));
  const staging = await mkdtemp(join(dirname(out), `.${basename(out)}.building-`));
  const work = await mkdtemp(join(tmpdir(), 'ocb-build-'));
  const modelPath = join(work, 'site-model.jsonl');
  // Astro starts now: it bundles the pages while the periods are read, and renders them once the
  // model file is written (runAstro), 6-7 s sooner.
  let modelFile: { written: () => void; abandoned: (e: unknown) => void } = { written: () => {}, abandoned: () => {} };
  const modelWritten = new Promise<void>((written, abandoned) => {
    modelFile = { written, abandoned };
  });
  modelWritten.catch(() => {});
  const site = runAstro(
    {
      root: options.root,
      outDir: staging,
      base: config.site.base_path,
      cacheDir: join(work, 'astro-cache'),
      modelPath,
      periodsDir: layout.periodsDir(options.root),
    },
    modelWritten,
  );
  site.catch(() => {}); // awaited below
  let browser: Browser | undefined;
  try {
    await lap('report', async () => {
      const global = await globalKey({ ...ctx, config, date: options.date });
      const credits = await loadCredits(options.root);
      // Credit programs carry balances from period to period: then every earlier period's inputs count.
      const carries = credits.credits.length + credits.prepayments.length > 0;
      let earlierViews = '';
      let earlierInputs = '';
      for (const period of await listPeriods(options.root)) {
        const chosen = periods.includes(period);
        if (!chosen && !carries) continue;
        const inputs = await periodInputs(options.root, period, dates.get(period) ?? '');
        if (chosen) {
          const key = periodKey(global, inputs, earlierViews, carries ? earlierInputs : '');
          const summary = await pageCache.summary(period, key);
          let view: PeriodView;
          if (summary) {
            kept.push({ summary, key });
            view = summary.view;
            if (summary.balances) ctx.balances.set(period, new Map(summary.balances.map(([id, b]) => [id, BigInt(b)])));
          } else {
            options.progress(`Reading ${period}…`);
            const done = await loadPeriodView(db, config, ctx, period, dates.get(period) as string);
            built.push({ ...done, key });
            view = done.view;
          }
          earlierViews = periodSummaryHash(earlierViews, view);
        }
        if (carries) earlierInputs = sha256Text(`${earlierInputs}\0${inputs}`);
      }
    });
    const render = built.map((b) => b.view.period);
    const model: SiteModel = {
      ...frame,
      periods: [...built.map((b) => b.view), ...kept.map((k) => k.summary.view)].sort((a, b) => compareText(b.period, a.period)),
      render,
    };
    assertDistinctIdentities(model);
    const statements = built.reduce((n, b) => n + b.view.statements.length, 0) + kept.reduce((n, k) => n + k.summary.statements, 0);
    await lap('model', () => writeModelFile(modelPath, model));
    modelFile.written();
    await modelWritten; // Astro, if it has asked (runAstro), is told before this process is busy with the charges
    options.progress(
      `Building the site (${statements} statements${kept.length ? `; ${kept.length} unchanged period${kept.length === 1 ? '' : 's'} reused` : ''})…`,
    );
    // The charge browser's data is made while Astro renders in its own process, and written once
    // Astro is done (it empties the folder as it starts): 2.5-5 s of a 10M-row month's build.
    const chargeFiles = new Map<string, { path: string; text: string }>();
    if (options.audience === 'admin')
      await lap('charges', async () => {
        for (const b of built) chargeFiles.set(b.view.period, chargeTableFile(b.view, config));
      });
    let pages = await lap('site', () => site);
    const warnings: string[] = [];
    const summaries = new Map<string, PeriodSummary>();
    for (const b of built) {
      const period = b.view.period;
      const files = periodPageFiles(model, b.view);
      const journalWarnings: string[] = [];
      if (options.audience === 'admin') {
        const charges = chargeFiles.get(period);
        if (charges) await lap('charges', () => writeChargeTable(staging, charges));
        journalWarnings.push(...(await lap('journals', () => writeJournals(staging, [b.report], config, dates))));
        for (const f of [`periods/${period}/charges.json`, ...JOURNAL_FORMATS.map((j) => `periods/${period}/journal-${j}.csv`)])
          if (existsSync(join(staging, f))) files.push(f);
      }
      const balances = ctx.balances.get(period);
      summaries.set(period, {
        view: withoutStatements(b.view),
        statements: b.view.statements.length,
        jobs: b.view.statements.map((s) => ({
          number: s.number,
          page: s.paths.page,
          pdf: s.paths.pdf,
          content_hash: s.content_hash,
          project_id: s.project_id,
          period_label: s.period_label,
          date: s.date,
        })),
        balances: balances ? [...balances].map(([id, v]) => [id, v.toString()]) : null,
        warnings: journalWarnings,
        files,
      });
    }
    // A kept period whose folders the site in `out` holds as this key built them (PDFs too, when
    // printing) is moved from there at the swap; the others are linked from the page cache.
    const previous = await readSiteMarker(out);
    const carried = kept.filter(
      (k) =>
        previous?.audience === options.audience &&
        previous.pdf === options.pdf &&
        previous.periods?.[k.summary.view.period] === k.key &&
        siteFolders(k.summary.files).every((f) => existsSync(join(out, f)) && !existsSync(join(staging, f))),
    );
    await lap('page-cache', async () => {
      for (const k of kept) {
        if (!carried.includes(k)) await pageCache.restore(k.summary.view.period, k.key, staging, k.summary.files);
        pages += k.summary.files.filter((f) => f.endsWith('.html')).length;
      }
      for (const b of built) await pageCache.save(b.view.period, b.key, staging, summaries.get(b.view.period) as PeriodSummary);
      await pageCache.mergeAssets(staging);
      await pageCache.prune(await listPeriods(options.root)); // not the periods left out of this build
    });
    // Every period's summary, newest first as the model lists them.
    for (const k of kept) summaries.set(k.summary.view.period, k.summary);
    const ordered = model.periods.map((p) => summaries.get(p.period) as PeriodSummary);
    for (const summary of [...ordered].reverse()) warnings.push(...summary.warnings);
    let pdfs: BuildReport['pdfs'] = null;
    if (options.pdf) {
      const carriedPeriods = new Set(carried.map((k) => k.summary.view.period));
      const jobs = ordered
        .filter((p) => !carriedPeriods.has(p.view.period))
        .flatMap((p) =>
          p.jobs.map((s) => ({
            number: s.number,
            html: join(staging, s.page, 'index.html'),
            target: join(staging, s.pdf),
            contentHash: s.content_hash,
            title: `${model.organization.name}: statement ${s.number}, ${s.project_id}, ${s.period_label}`,
            date: new Date(`${s.date}T00:00:00Z`),
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
            cacheDir: layout.cacheDir(options.root, 'pdf'),
            author: model.organization.name,
            progress: (done, total) => options.progress(`  ${done}/${total} PDFs`),
          },
        ),
      );
      // A character no font here has is an empty box in the PDFs: said at every build (the PDFs of
      // a period built before are kept), with the fonts to install.
      const { fontCoverage, missingFontsAdvice } = await import('../pdf/fonts.ts');
      const coverage = await fontCoverage([
        model.organization.name,
        ...model.periods.flatMap((p) =>
          p.statements.flatMap((s) => [s.pi_name, s.pi_department, s.project_id, s.fund_org, ...s.lines.map((l) => l.service)]),
        ),
      ]);
      if (coverage?.missing.length) {
        const { detail, fix } = missingFontsAdvice(coverage.missing, 'the statements’ names');
        warnings.push(`${detail}; ${fix}`);
      }
      // The carried periods' PDFs are in their folders, unchanged.
      const carriedPdfs = carried.reduce((n, k) => n + k.summary.jobs.length, 0);
      pdfs = { ...result, cached: result.cached + carriedPdfs, files: jobs.length + carriedPdfs };
    }
    const marker = {
      audience: options.audience,
      pages: String(pages),
      pdf: options.pdf,
      periods: Object.fromEntries([...built.map((b) => [b.view.period, b.key]), ...kept.map((k) => [k.summary.view.period, k.key])]),
    };
    await lap('swap', () =>
      swapInto(
        options.root,
        staging,
        out,
        marker,
        carried.flatMap((k) => siteFolders(k.summary.files)),
      ),
    );
    const totals = model.periods.flatMap((p) =>
      p.totals.map((t) => ({
        period: p.period,
        currency: t.currency,
        statements: t.statements,
        list: t.list.text,
        discount: t.discount.text,
        prepaid: t.prepaid?.text ?? null,
        amount_due: t.amount_due.text,
      })),
    );
    return {
      out,
      audience: options.audience,
      periods,
      statements,
      pages,
      rendered_periods: [...render].sort(),
      pdfs,
      totals,
      warnings,
      timings_ms: timings,
    };
  } finally {
    modelFile.abandoned(new Error('the build stopped')); // nothing, once written
    await site.catch(() => {}); // Astro stopped, or done, before its folder goes
    await browser?.close();
    await rm(staging, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** The periods to build (--period, checked), or every period with data. */
async function chosenPeriods(root: string, wanted?: string[]): Promise<string[]> {
  const all = await listPeriods(root);
  const periods = wanted ?? all;
  for (const p of periods) {
    if (!isPeriod(p)) throw new UserError(`--period ${JSON.stringify(p)}: expected YYYY-MM between 1900 and 2199`);
    if (!all.includes(p))
      throw new UserError(`no data for period ${p}`, {
        hint: all.length ? `periods with data: ${all.join(', ')}` : 'ingest a FOCUS export first',
      });
  }
  if (periods.length === 0)
    throw new UserError('nothing to build: no periods with data', {
      hint: 'ingest a FOCUS export first: focus-billing ingest <file> --source <name>',
    });
  return periods;
}
