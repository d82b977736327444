/**
 * `focus-billing build`: report model from DuckDB → site model → Astro static site → charge
 * browser data and journals → PDFs. Everything is built in a staging folder beside the output
 * and swapped in only when every step succeeded, so a failed build leaves the last good site
 * published; and only a folder this tool built, or an empty one, is ever replaced (out-dir.ts).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import type { Config } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import type { Database } from '../db/duckdb.ts';
import { isPeriod } from '../domain/period.ts';
import { writeJournals } from '../journal/write.ts';
import type { PrintResult } from '../pdf/statements.ts';
import { layout } from '../repo/layout.ts';
import { listPeriods } from '../report/period-report.ts';
import { runAstro } from './astro.ts';
import { writeChargeTables } from './charge-table.ts';
import { loadSiteModel } from './load-model.ts';
import type { Audience } from './model.ts';
import { writeModelFile } from './model-file.ts';
import { checkOutDir, swapInto } from './out-dir.ts';
import { modelForRender, PageCache, periodPageFiles, renderVersion } from './page-cache.ts';

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
  const out = resolve(options.out);
  await checkOutDir(options.root, out);
  if (options.audience === 'pi' && !options.linkSecret) {
    throw new UserError('--audience pi needs STATEMENT_LINK_SECRET: without it statement addresses could be guessed', {
      hint: 'set STATEMENT_LINK_SECRET to a long random value (`openssl rand -base64 32`) and keep it secret',
    });
  }
  const periods = await chosenPeriods(options.root, options.periods);

  const { model, reports, dates } = await lap('report', () =>
    loadSiteModel(db, config, {
      root: options.root,
      periods,
      audience: options.audience,
      date: options.date,
      linkSecret: options.linkSecret,
      progress: options.progress,
    }),
  );
  const statements = model.periods.reduce((n, p) => n + p.statements.length, 0);

  await mkdir(dirname(out), { recursive: true });
  const staging = await mkdtemp(join(dirname(out), `.${basename(out)}.building-`));
  const work = await mkdtemp(join(tmpdir(), 'ocb-build-'));
  let browser: Browser | undefined;
  try {
    // Only periods whose pages changed are rendered; the others' pages come from the page cache.
    const pageCache = new PageCache(options.root, options.audience);
    const notes = new Map<string, string>();
    for (const p of model.notes) notes.set(p, await readFile(layout.notesFile(options.root, p), 'utf8').catch(() => ''));
    const keys = pageCache.keys(model, await renderVersion(), config.site.base_path, notes);
    const reused = model.periods.filter((p) => pageCache.has(p.period, keys.get(p.period) as string));
    const render = model.periods.filter((p) => !reused.includes(p)).map((p) => p.period);
    const modelPath = join(work, 'site-model.jsonl');
    await lap('model', () => writeModelFile(modelPath, modelForRender(model, render)));
    options.progress(
      `Building the site (${statements} statements${reused.length ? `; the pages of ${reused.length} unchanged period${reused.length === 1 ? '' : 's'} reused` : ''})…`,
    );
    let pages = await lap('site', () =>
      runAstro({
        root: options.root,
        outDir: staging,
        base: config.site.base_path,
        cacheDir: join(work, 'astro-cache'),
        modelPath,
        periodsDir: layout.periodsDir(options.root),
      }),
    );
    await lap('page-cache', async () => {
      for (const p of reused) pages += await pageCache.restore(p.period, keys.get(p.period) as string, staging, periodPageFiles(model, p));
      for (const p of model.periods.filter((x) => render.includes(x.period)))
        await pageCache.save(p.period, keys.get(p.period) as string, staging, periodPageFiles(model, p));
      await pageCache.mergeAssets(staging);
      await pageCache.prune(await listPeriods(options.root)); // not the periods left out of this build
    });
    const warnings: string[] = [];
    if (options.audience === 'admin') {
      await lap('charges', () => writeChargeTables(staging, model.periods, config));
      warnings.push(...(await lap('journals', () => writeJournals(staging, reports, config, dates))));
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
      pdfs = { ...result, files: jobs.length };
    }
    await lap('swap', () => swapInto(options.root, staging, out, { audience: options.audience, pages: String(pages) }));
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
