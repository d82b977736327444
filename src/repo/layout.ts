/** Where things live in a billing repository. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Compression, Format } from '../focus/file.ts';

export const PERIOD_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

export const layout = {
  dataDir: (root: string) => join(root, 'data'),
  periodDataDir: (root: string, period: string) => join(root, 'data', period),
  /** `<slug>.csv[.gz]` or `<slug>.parquet`; `<slug>.part-001.csv`… when an export comes in several parts. */
  dataFileName: (slug: string, file: { compression: Compression; format: Format }, part?: { index: number; count: number }) =>
    `${slug}${part && part.count > 1 ? `.part-${String(part.index).padStart(Math.max(3, String(part.count).length), '0')}` : ''}${
      file.format === 'parquet' ? '.parquet' : `.csv${file.compression === 'gzip' ? '.gz' : ''}`
    }`,
  periodsDir: (root: string) => join(root, 'periods'),
  periodDir: (root: string, period: string) => join(root, 'periods', period),
  flagsFile: (root: string, period: string) => join(root, 'periods', period, 'flags.yaml'),
  periodFile: (root: string, period: string) => join(root, 'periods', period, 'period.yaml'),
};

const DATA_FILE_RE = /^([a-z0-9][a-z0-9-]*)(?:\.part-\d+)?\.(?:csv|csv\.gz|parquet)$/;

/** The source slug a data file belongs to (`aws` for aws.csv, aws.parquet, aws.part-002.csv.gz), or null if it is no data file. */
export function dataFileSlug(name: string): string | null {
  return DATA_FILE_RE.exec(name)?.[1] ?? null;
}

/** Repository-relative path with forward slashes, as recorded in flags and shown to people. */
export function relPath(...parts: string[]): string {
  return parts.join('/');
}

/** The YYYY-MM folders directly under `dir`, sorted (none if it does not exist). */
export async function periodFolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && PERIOD_RE.test(e.name))
    .map((e) => e.name)
    .sort();
}
