/**
 * Rendered pages kept between builds, per period: a period's pages (its PI pages, statements,
 * period page and charge browser) depend on its own figures, the periods before it, the
 * repository's settings and the code that renders them, and on nothing else. So a build after a
 * new month renders that month (and the dashboard) and reuses every other period's pages from
 * .cache/site/, which a CI cache keeps between runs. Asset files (content-hashed) are kept
 * beside them, so that a reused page always finds its stylesheet and scripts.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { forEachLimit } from '../core/parallel.ts';
import { layout } from '../repo/layout.ts';
import { PACKAGE_ROOT } from './astro.ts';
import type { PeriodView, SiteModel } from './model.ts';

/** What renders pages: a change to any of these renders every period again. */
const RENDER_SOURCES = [
  'src/pages',
  'src/components',
  'src/layouts',
  'src/styles',
  'src/site/client',
  'src/site/data.ts',
  'package-lock.json',
];
const DONE = '.complete';

async function filesUnder(path: string): Promise<string[]> {
  if (!existsSync(path)) return [];
  const entries = await readdir(path, { withFileTypes: true, recursive: true }).catch(() => null);
  if (entries === null) return [path]; // a file
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The version of the rendering code: a hash of its sources (and of the locked packages). */
export async function renderVersion(): Promise<string> {
  const hash = createHash('sha256');
  const files = (await Promise.all(RENDER_SOURCES.map((s) => filesUnder(join(PACKAGE_ROOT, s))))).flat().sort();
  for (const f of files)
    hash
      .update(relative(PACKAGE_ROOT, f))
      .update('\0')
      .update(await readFile(f))
      .update('\0');
  return hash.digest('hex');
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

/**
 * The sha256 of a value's JSON, computed piece by piece: a period of millions of charges has a
 * view whose JSON would exceed the longest string V8 can hold.
 */
function hashJson(value: unknown): string {
  const hash = createHash('sha256');
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      hash.update('[');
      for (const item of v) {
        walk(item);
        hash.update(',');
      }
      hash.update(']');
    } else if (v !== null && typeof v === 'object') {
      hash.update('{');
      for (const [k, item] of Object.entries(v)) {
        if (item === undefined) continue;
        hash.update(JSON.stringify(k)).update(':');
        walk(item);
        hash.update(',');
      }
      hash.update('}');
    } else hash.update(JSON.stringify(v) ?? 'undefined');
  };
  walk(value);
  return hash.digest('hex');
}

/** Each file from one tree into another: a link where the file system allows (pages are never changed in place), else a copy. */
async function linkAll(from: string, to: string, files: string[]): Promise<void> {
  const dirs = [...new Set(files.map((f) => dirname(join(to, f))))];
  await forEachLimit(dirs, 16, (d) => mkdir(d, { recursive: true }));
  await forEachLimit(files, 32, (f) => link(join(from, f), join(to, f)).catch(() => copyFile(join(from, f), join(to, f))));
}

export class PageCache {
  private readonly dir: string;

  constructor(root: string, audience: string) {
    this.dir = layout.cacheDir(root, 'site', audience);
  }

  /**
   * Each period's key: everything its pages show. The settings every page shows, the base path,
   * the period's notes, its figures, and the PI totals of the periods before it.
   */
  keys(model: SiteModel, version: string, base: string, notes: Map<string, string>): Map<string, string> {
    const global = JSON.stringify([
      version,
      base,
      model.audience,
      model.organization,
      model.logo ?? null,
      model.accent ?? null,
      model.footer ?? null,
      model.paper,
    ]);
    const keys = new Map<string, string>();
    // What the periods before each one show of themselves, as a running hash (one pass, not P²).
    let earlier = '';
    for (const p of [...model.periods].sort((a, b) => a.period.localeCompare(b.period))) {
      keys.set(
        p.period,
        createHash('sha256')
          .update(global)
          .update('\0')
          .update(notes.get(p.period) ?? '')
          .update('\0')
          // Each PI's statements are the period's own, listed again: hashed once, named by number under the PI.
          .update(hashJson({ ...p, pis: p.pis.map((pi) => ({ ...pi, statements: pi.statements.map((x) => x.number) })) }))
          .update('\0')
          .update(earlier)
          .digest('hex')
          .slice(0, 32),
      );
      const summary = [p.period, p.label, p.pis.map((pi) => [pi.email, pi.piPage, pi.totals.map((t) => t.amount_due.text)])];
      earlier = createHash('sha256').update(earlier).update(JSON.stringify(summary)).digest('hex');
    }
    return keys;
  }

  private periodDir(period: string, key: string): string {
    return join(this.dir, period, key);
  }

  has(period: string, key: string): boolean {
    return existsSync(join(this.periodDir(period, key), DONE));
  }

  /** Copies a kept period's pages into the site being built; returns how many. */
  async restore(period: string, key: string, site: string, files: string[]): Promise<number> {
    await linkAll(this.periodDir(period, key), site, files);
    return files.length;
  }

  /** Keeps a rendered period's pages (and forgets its older renderings). */
  async save(period: string, key: string, site: string, files: string[]): Promise<void> {
    await rm(join(this.dir, period), { recursive: true, force: true });
    const to = this.periodDir(period, key);
    await linkAll(site, to, files);
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

/**
 * The model Astro reads: whole for the periods it renders; for the others, what the dashboard and
 * the PI pages of later periods show (totals, and each PI's totals and page), without the
 * statements: a model of three years is then a few megabytes, not hundreds.
 */
export function modelForRender(model: SiteModel, render: string[]): SiteModel {
  return {
    ...model,
    render,
    periods: model.periods.map((p) =>
      render.includes(p.period)
        ? p
        : {
            ...p,
            statements: [],
            pis: p.pis.map((pi) => ({ ...pi, statements: [] })),
          },
    ),
  };
}
