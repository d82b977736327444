/** The site model for the pages, read once per build from the file `focus-billing build` wrote. */
import { modelPath } from 'virtual:openchargeback/site-input';
import { type PageModel, readModelFile } from './model-file.ts';

let cached: PageModel | undefined;

export function siteModel(): PageModel {
  if (!modelPath) throw new Error('no site model: build the site with `focus-billing build`');
  cached ??= readModelFile(modelPath);
  return cached;
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

/** The periods whose pages this build renders (the others are reused from an earlier build). */
export function renderedPeriods() {
  const model = siteModel();
  return model.render ? model.periods.filter((p) => model.render?.includes(p.period)) : model.periods;
}

/** Paths of the staff-only pages made once per period (period page, charge browser): none for PIs. */
export function adminPeriodPaths() {
  const model = siteModel();
  if (model.audience !== 'admin') return [];
  return renderedPeriods().map((p) => ({ params: { period: p.period }, props: { period: p } }));
}
