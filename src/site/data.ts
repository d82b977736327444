/** The site model for the pages, read once per build from the file `focus-billing build` wrote. */
import { readFileSync } from 'node:fs';
import type { SiteModel } from './model.ts';

// Keyed by file: one process may build several sites (tests, the demo), and this module can
// outlive a build.
let cached: { path: string; model: SiteModel } | undefined;

export function siteModel(): SiteModel {
  const path = process.env.OCB_SITE_MODEL;
  if (!path) throw new Error('OCB_SITE_MODEL is not set: build the site with `focus-billing build`');
  if (cached?.path !== path) cached = { path, model: JSON.parse(readFileSync(path, 'utf8')) as SiteModel };
  return cached.model;
}

/** A URL inside the site, under the configured base path. */
export function href(path: string): string {
  const base = import.meta.env.BASE_URL.endsWith('/') ? import.meta.env.BASE_URL : `${import.meta.env.BASE_URL}/`;
  return `${base}${path}`;
}

/** JSON for a <script type="application/json"> block: `<` escaped so no value can close the tag. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Paths of the staff-only pages made once per period (period page, charge browser): none for PIs. */
export function adminPeriodPaths() {
  const model = siteModel();
  if (model.audience !== 'admin') return [];
  return model.periods.map((p) => ({ params: { period: p.period }, props: { period: p } }));
}
