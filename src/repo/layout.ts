/** Where things live in a billing repository. Names of stored files come from domain/identity.ts. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { FIRST_YEAR, isPeriod, LAST_YEAR } from '../domain/period.ts';

/** A period given to a command (YYYY-MM, 1900–2199), checked; `option` names it in the error. */
export function checkPeriod(period: string, option = 'period'): string {
  if (!isPeriod(period))
    throw new UserError(
      `${option} ${JSON.stringify(period)}: expected a month as YYYY-MM between ${FIRST_YEAR} and ${LAST_YEAR}, such as 2025-01`,
    );
  return period;
}

/** A period's folders are named by a month only (checkPeriod): a period that reached here unchecked (`../x`) names no folder outside data/ and periods/. */
const month = checkPeriod;

export const layout = {
  dataDir: (root: string) => join(root, 'data'),
  periodDataDir: (root: string, period: string) => join(root, 'data', month(period)),
  periodsDir: (root: string) => join(root, 'periods'),
  periodDir: (root: string, period: string) => join(root, 'periods', month(period)),
  flagsFile: (root: string, period: string) => join(root, 'periods', month(period), 'flags.yaml'),
  periodFile: (root: string, period: string) => join(root, 'periods', month(period), 'period.yaml'),
  notesFile: (root: string, period: string) => join(root, 'periods', month(period), 'notes.mdx'),
  deliveriesFile: (root: string, period: string) => join(root, 'periods', month(period), 'deliveries.yaml'),
  adjustmentsFile: (root: string, period: string) => join(root, 'periods', month(period), 'adjustments.yaml'),
  creditsFile: (root: string) => join(root, 'credits.yaml'),
  cacheDir: (root: string, ...parts: string[]) => join(root, '.cache', ...parts),
};

/** Files and folders of the repository that no output may replace (besides data/, periods/ and .git/). */
export const REPOSITORY_FILES = [
  'config.yaml',
  'pis.yaml',
  'rates.yaml',
  'accounts.yaml',
  'credits.yaml',
  'schemas',
  '.gitignore',
  '.gitattributes',
];
/** Folders holding the repository's records: no output may be written inside them. */
export const RECORD_DIRS = ['data', 'periods', '.git'];

/**
 * The caches CI keeps between runs (the workflows restore and save exactly these): reports by
 * content hash, PDFs, rendered pages per period, and the data files whose bytes passed
 * validate's check, by content. A publish after one new month then checks, queries, renders and
 * prints only that month.
 */
export const CACHE_KINDS = ['report', 'pdf', 'site', 'checked'] as const;
export const CI_CACHE_PATHS = CACHE_KINDS.map((k) => `.cache/${k}`);
/** The CI cache key's fixed part; the rest is a hash of what the caches are made from. */
export const CI_CACHE_KEY_PREFIX = 'openchargeback-cache-v1-';

/** Repository-relative path with forward slashes, as recorded in flags and shown to people. */
export function relPath(...parts: string[]): string {
  return parts.join('/');
}

/**
 * The YYYY-MM folders directly under `dir`, sorted (none if it does not exist). Links named as
 * periods are listed too, so that the readers refuse them rather than pass over their data.
 */
export async function periodFolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && isPeriod(e.name))
    .map((e) => e.name)
    .sort();
}
