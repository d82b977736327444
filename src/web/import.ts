/**
 * What the app's import does with a file: tells what it is (a FOCUS export, or a raw export one
 * of the converters reads), guesses its source and period from its name and content, converts a
 * raw export with the repository's rates.yaml and accounts.yaml, and runs `ingest` on it: the
 * same code the CLI runs, a dry run for the preview.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { type Config, sourceSlug } from '../config/schema.ts';
import { ACCOUNTS_FILE, loadAccounts } from '../convert/accounts.ts';
import type { ConvertReport } from '../convert/focus-writer.ts';
import { convertStorage, type NestedMode, nestedMode } from '../convert/storage.ts';
import { checkTimeZone } from '../convert/time.ts';
import { UserError } from '../core/errors.ts';
import type { Database } from '../db/duckdb.ts';
import { isPeriod } from '../domain/period.ts';
import { type IngestReport, ingest } from '../ingest/ingest.ts';
import { loadRates, RATES_FILE } from '../rates/rates.ts';
import type { LockOptions } from '../repo/lock.ts';

export const KINDS = ['focus', 'slurm', 'storage-isilon', 'storage-qumulo', 'storage-csv', 'vms', 'usage'] as const;
export type Kind = (typeof KINDS)[number];

export const KIND_LABELS: Record<Kind, string> = {
  focus: 'FOCUS export',
  slurm: 'Slurm accounting (sacct)',
  'storage-isilon': 'Isilon quota report',
  'storage-qumulo': 'Qumulo quota report',
  'storage-csv': 'storage samples (date,path,used_bytes)',
  vms: 'VM inventory',
  usage: 'usage table',
};

/** The first bytes of a file, as text (gzip and Parquet are FOCUS exports: converters read text). */
async function head(path: string): Promise<{ text: string; binary: 'gzip' | 'parquet' | null }> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(16 * 1024);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const bytes = buf.subarray(0, bytesRead);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) return { text: '', binary: 'gzip' };
    if (bytes.subarray(0, 4).toString('latin1') === 'PAR1') return { text: '', binary: 'parquet' };
    return { text: bytes.toString('utf8').replace(/^\uFEFF/, ''), binary: null };
  } finally {
    await handle.close();
  }
}

/** What a file is, from its first lines: a FOCUS export unless it looks like a converter's input. */
export async function detectKind(path: string): Promise<Kind> {
  const { text, binary } = await head(path);
  if (binary) return 'focus';
  const first = (text.split(/\r?\n/)[0] ?? '').trim();
  // A table a spreadsheet saved with semicolons or tabs is still the table it is (its converter says how it was saved).
  const quoted = first.toLowerCase().replace(/"/g, '');
  const lower = quoted.includes(',') ? quoted : quoted.replace(/\s*[;\t]\s*/g, ',');
  if (first.startsWith('JobID|') || /^\d+([_+][\w[\]\-,]+)?(\.\w+)?\|/.test(first)) return 'slurm';
  if (lower === 'date,path,used_bytes') return 'storage-csv';
  if (lower === 'date,pi_email,project_id,fund_org,service,resource,quantity,unit') return 'usage';
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') && /"quotas"\s*:/.test(trimmed)) return 'storage-qumulo';
  if (trimmed.startsWith('[') && /"usage"\s*:/.test(trimmed) && /"path"\s*:/.test(trimmed)) return 'storage-isilon';
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return 'vms';
  const columns = lower.split(',');
  if ((columns.includes('name') || columns.includes('vmname')) && (columns.includes('size') || columns.includes('tier'))) return 'vms';
  return 'focus';
}

/** A YYYY-MM in the file name (2025-01, 202501, 2025_01), if it names a month. */
export function guessPeriod(name: string): string | undefined {
  const m = /(?:^|[^0-9])((?:19|20|21)\d{2})[-_.]?(0[1-9]|1[0-2])(?![0-9])/.exec(name);
  const period = m ? `${m[1]}-${m[2]}` : undefined;
  return period && isPeriod(period) ? period : undefined;
}

/** The configured source a file belongs to: named in its file name, or the usual one for a converter's input. */
export function guessSource(config: Config, name: string, kind: Kind): string | undefined {
  const words = name.toLowerCase().split(/[^a-z0-9]+/);
  const joined = name.toLowerCase();
  for (const s of config.sources) {
    const slug = sourceSlug(s);
    if (words.includes(slug) || words.includes(s.name.toLowerCase()) || joined.includes(`${slug}_`) || joined.startsWith(`${slug}-`))
      return s.name;
  }
  const usual: Partial<Record<Kind, string[]>> = {
    slurm: ['hpc', 'slurm', 'cluster'],
    'storage-isilon': ['storage'],
    'storage-qumulo': ['storage'],
    'storage-csv': ['storage'],
    vms: ['vms', 'vm', 'local-vms', 'virtual-machines'],
  };
  for (const want of usual[kind] ?? []) {
    const s = config.sources.find((x) => sourceSlug(x) === want);
    if (s) return s.name;
  }
  return undefined;
}

/** What a raw export's converter is told beyond the period, as the CLI's options tell it. */
export interface ConvertChoices {
  /** For a storage report: how paths under one another count (convert storage --nested). */
  nested?: NestedMode;
  /** For sacct output: the zone its times are in (convert slurm --timezone); UTC when absent. */
  timezone?: string;
}

/** The converter's choices in a request (fields of a form, or of a JSON body), each checked as its CLI option is. */
export function convertChoices(fields: { nested?: unknown; timezone?: unknown }): ConvertChoices {
  const empty = (v: unknown) => v === undefined || v === null || v === '';
  return {
    nested: nestedMode(fields.nested, 'nested'),
    timezone: empty(fields.timezone) ? undefined : checkTimeZone(fields.timezone, 'timezone'),
  };
}

export interface Prepared {
  /** The FOCUS file to ingest, and how to name it in messages. */
  path: string;
  display: string;
  /** The converter's report, when the file was a raw export. */
  converted?: ConvertReport;
  /** The app's own temporary file: ingest may link it into data/ rather than copy it. */
  handedOver: boolean;
}

/** A FOCUS file for `ingest`: the file itself, or what the converter makes of it (written beside it). */
export async function prepare(
  root: string,
  file: { path: string; name: string },
  kind: Kind,
  period: string | undefined,
  choices: ConvertChoices = {},
): Promise<Prepared> {
  if (kind === 'focus') return { path: file.path, display: file.name, handedOver: true };
  const rates = await loadRates(join(root, RATES_FILE));
  const accounts = await loadAccounts(join(root, ACCOUNTS_FILE));
  const out = `${file.path}.focus.csv`;
  const input = { files: [{ path: file.path, display: file.name }], rates, accounts, out, outDisplay: `${file.name} (as FOCUS)` };
  const needPeriod = () => {
    if (!period) throw new UserError(`${file.name}: say which month it is`, { hint: 'choose the period (YYYY-MM) the usage is billed in' });
    return period;
  };
  let converted: ConvertReport;
  if (kind === 'slurm') {
    const { convertSlurm } = await import('../convert/slurm.ts');
    converted = await convertSlurm({ ...input, period: needPeriod(), timezone: choices.timezone });
  } else if (kind === 'vms') {
    const { convertVms } = await import('../convert/vms.ts');
    converted = await convertVms({ ...input, period: needPeriod() });
  } else if (kind === 'usage') {
    const { convertUsage } = await import('../convert/usage.ts');
    converted = await convertUsage({ ...input, period });
  } else {
    const format = kind === 'storage-isilon' ? 'isilon' : kind === 'storage-qumulo' ? 'qumulo' : 'csv';
    converted = await convertStorage({ ...input, period: needPeriod(), format, nested: choices.nested });
  }
  return { path: out, display: file.name, converted, handedOver: true };
}

export interface ImportRequest {
  root: string;
  file: { path: string; name: string };
  kind: Kind;
  source: string;
  period?: string;
  convert?: ConvertChoices;
  replace?: boolean;
  dryRun?: boolean;
  commit?: boolean;
  lock?: LockOptions;
}

/** Converts (when needed) and runs ingest: a dry run for the preview, else the import itself. */
export async function importFile(
  db: Database,
  config: Config,
  request: ImportRequest,
): Promise<{ report: IngestReport; converted?: ConvertReport }> {
  const prepared = await prepare(request.root, request.file, request.kind, request.period, request.convert);
  const report = await ingest(db, config, {
    root: request.root,
    files: [{ path: prepared.path, display: prepared.display, handedOver: prepared.handedOver }],
    source: request.source,
    // A raw export is converted for the period chosen: its rows carry it.
    period: request.kind === 'focus' ? request.period : undefined,
    replace: request.replace,
    dryRun: request.dryRun,
    commit: request.commit && !request.dryRun ? {} : undefined,
    lock: request.lock,
  });
  return { report, converted: prepared.converted };
}
