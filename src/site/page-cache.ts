/**
 * A period's outputs kept between builds: its rendered pages (PI pages, statements, period page,
 * charge browser), its charge table and journals, and a summary of it (what the dashboard and
 * later periods' pages show, its PDFs, its closing credit balances). They are kept under a key
 * computed from what the period is made of, before anything is queried: the tool's code, the
 * repository's settings, the period's data files and records, its issue date, what the earlier
 * periods of the build show of themselves, and (where credit programs carry balances between
 * periods) every earlier period's inputs. So a build after a new month queries, renders and
 * writes that month (and the dashboard) and reuses every other period from .cache/site/, which
 * a CI cache keeps between runs. Asset files (content-hashed) are kept beside them, so that a
 * reused page always finds its stylesheet and scripts.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Config } from '../config/schema.ts';
import { placeFromCache } from '../repo/cache-dir.ts';
import { contentIds, rememberedHashesDir } from '../repo/content-id.ts';
import { sha256Text } from '../repo/hash.ts';
import { layout, REPOSITORY_FILES } from '../repo/layout.ts';
import { dataFileNames } from '../report/period-report.ts';
import { PACKAGE_ROOT } from './astro.ts';
import type { Audience, PeriodView, SiteModel } from './model.ts';

/** The tool's code: a change to any of these builds every period again. */
const CODE_SOURCES = ['src', 'package.json', 'package-lock.json', 'astro.config.mjs'];
const DONE = '.complete';
const SUMMARY = 'summary.json';

async function filesUnder(path: string): Promise<string[]> {
  if (!existsSync(path)) return [];
  const entries = await readdir(path, { withFileTypes: true, recursive: true }).catch(() => null);
  if (entries === null) return [path]; // a file
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** A hash of files' names (relative to `base`) and bytes, in name order. */
async function hashFiles(base: string, files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const f of [...files].sort())
    hash
      .update(relative(base, f))
      .update('\0')
      .update(await readFile(f))
      .update('\0');
  return hash.digest('hex');
}

/** The version of the tool's code: a hash of its sources and locked packages. */
export async function codeVersion(): Promise<string> {
  return hashFiles(PACKAGE_ROOT, (await Promise.all(CODE_SOURCES.map((s) => filesUnder(join(PACKAGE_ROOT, s))))).flat());
}

export interface KeyContext {
  root: string;
  config: Config;
  audience: Audience;
  date?: string;
  linkSecret?: string;
  /** organization.logo as read (a data: URI). */
  logo?: string;
}

/** What every period's outputs depend on alike: the code, the build's options, the repository's settings. */
export async function globalKey(ctx: KeyContext): Promise<string> {
  const settings = REPOSITORY_FILES.map((f) => join(ctx.root, f)).filter((f) => existsSync(f));
  const files = (await Promise.all(settings.map(filesUnder))).flat();
  return createHash('sha256')
    .update(
      JSON.stringify([
        await codeVersion(),
        ctx.audience,
        ctx.date ?? null,
        // The secret decides every PI page's address; only a hash of it enters the key.
        ctx.linkSecret ? sha256Text(ctx.linkSecret) : null,
        ctx.config,
        ctx.logo ?? null,
        await hashFiles(ctx.root, files),
      ]),
    )
    .digest('hex');
}

/** What one period is made of: its data files' content, its records (not its delivery log), its issue date. */
export async function periodInputs(root: string, period: string, issued: string): Promise<string> {
  const dataDir = layout.periodDataDir(root, period);
  const names = await dataFileNames(root, period);
  const ids = await contentIds(
    names.map((n) => join(dataDir, n)),
    rememberedHashesDir(root),
  );
  const records = (await filesUnder(layout.periodDir(root, period))).filter((f) => f !== layout.deliveriesFile(root, period));
  return createHash('sha256')
    .update(JSON.stringify([period, issued, names, ids, await hashFiles(root, records)]))
    .digest('hex');
}

/** What a period's pages show of itself on later periods' pages: each PI's page and amounts due. */
export function periodSummaryHash(earlier: string, p: PeriodView): string {
  const summary = [p.period, p.label, p.pis.map((pi) => [pi.email, pi.piPage, pi.totals.map((t) => t.amount_due.text)])];
  return createHash('sha256').update(earlier).update(JSON.stringify(summary)).digest('hex');
}

/** A period's key: the global key, its inputs, what earlier periods contribute. */
export function periodKey(global: string, inputs: string, earlierSummaries: string, earlierInputs: string): string {
  return createHash('sha256').update([global, inputs, earlierSummaries, earlierInputs].join('\0')).digest('hex').slice(0, 32);
}

/** A statement's PDF as printed from its page: all a reused period needs to print (or reuse) it. */
export interface PdfJobSummary {
  number: string;
  page: string;
  pdf: string;
  content_hash: string;
  project_id: string;
  period_label: string;
  date: string;
}

/** What is kept of a period beside its files. */
export interface PeriodSummary {
  /** The period as the dashboard and later periods' pages show it (no statements). */
  view: PeriodView;
  statements: number;
  jobs: PdfJobSummary[];
  /** Credit and prepayment balances after the period, when the policy computed them. */
  balances: [string, string][] | null;
  /** Why a journal of the period was not written. */
  warnings: string[];
  /** The period's files in the site. */
  files: string[];
}

/** The files a period's pages are written to, relative to the site. */
export function periodPageFiles(model: SiteModel, p: PeriodView): string[] {
  const dirs = [
    ...p.pis.map((pi) => pi.piPage),
    ...p.statements.map((s) => s.paths.page),
    ...(model.audience === 'admin' ? [`periods/${p.period}/`, `periods/${p.period}/charges/`] : []),
  ];
  return dirs.map((d) => `${d.replace(/\/?$/, '/')}index.html`);
}

/** The site's folders holding a period's files (the period's own, or each PI's under a link secret): the first two parts of each path. */
export function siteFolders(files: string[]): string[] {
  return [...new Set(files.map((f) => f.split('/').slice(0, 2).join('/')))];
}

/** A period's view without its statements: what the dashboard and later periods' PI pages show of it. */
export function withoutStatements(p: PeriodView): PeriodView {
  return { ...p, statements: [], pis: p.pis.map((pi) => ({ ...pi, statements: [] })) };
}

/** Each file from one tree into another (see placeFromCache). */
async function linkAll(from: string, to: string, files: string[]): Promise<void> {
  await placeFromCache(files.map((f) => ({ from: join(from, f), to: join(to, f) })));
}

export class PageCache {
  private readonly dir: string;

  constructor(root: string, audience: string) {
    this.dir = layout.cacheDir(root, 'site', audience);
  }

  private periodDir(period: string, key: string): string {
    return join(this.dir, period, key);
  }

  /** A kept period's summary, or null when the period is not kept under this key. */
  async summary(period: string, key: string): Promise<PeriodSummary | null> {
    const dir = this.periodDir(period, key);
    if (!existsSync(join(dir, DONE))) return null;
    try {
      return JSON.parse(await readFile(join(dir, SUMMARY), 'utf8')) as PeriodSummary;
    } catch {
      return null; // unreadable: built again
    }
  }

  /** Copies a kept period's pages into the site being built; returns how many. */
  async restore(period: string, key: string, site: string, files: string[]): Promise<number> {
    await linkAll(this.periodDir(period, key), site, files);
    return files.length;
  }

  /** Keeps a built period's files and summary (and forgets its older builds). */
  async save(period: string, key: string, site: string, summary: PeriodSummary): Promise<void> {
    await rm(join(this.dir, period), { recursive: true, force: true });
    const to = this.periodDir(period, key);
    await linkAll(site, to, summary.files);
    await writeFile(join(to, SUMMARY), JSON.stringify(summary));
    await writeFile(join(to, DONE), '');
  }

  /** Kept assets into the site (the pages reused may need them), and the site's into the keep. */
  async mergeAssets(site: string): Promise<void> {
    const kept = join(this.dir, '_astro');
    const built = join(site, '_astro');
    if (existsSync(kept)) await cp(kept, built, { recursive: true, force: false, errorOnExist: false });
    if (existsSync(built)) await cp(built, kept, { recursive: true, force: false, errorOnExist: false });
  }

  /** Forgets periods the repository no longer has. */
  async prune(periods: string[]): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [] as string[]))
      if (name !== '_astro' && !periods.includes(name)) await rm(join(this.dir, name), { recursive: true, force: true });
  }
}
