/**
 * Every identifier the billing repository and the PIs keep: flag ids (decisions in flags.yaml
 * hang on them), statement numbers (printed on PDFs PIs attach to grant reports), the PI key,
 * data-file, PDF and `.eml` names, page paths and delivery-log keys. Each rule is written here
 * once and locked by golden tests (test/identity.test.ts) that assert literal values: a change
 * that would detach recorded decisions or renumber issued statements fails there first.
 */
import { createHash, createHmac } from 'node:crypto';
import { compareText } from './order.ts';

// ── Flags ────────────────────────────────────────────────────────────────────────────────

/**
 * Version of the flag-id scheme, written into flags.yaml. A file of another version is refused
 * with a message rather than silently matched against ids it cannot have.
 */
export const FLAG_SCHEME = 1;

/**
 * The FOCUS columns whose text makes a row's identity, in order, after the source's slug. A
 * re-export that adds, drops or reorders other columns keeps every id (and every decision).
 * `costColumn` is the column billed under the configured cost basis.
 */
export function rowIdentityColumns(costColumn: 'BilledCost' | 'EffectiveCost'): string[] {
  return [
    'BillingPeriodStart',
    'ChargePeriodStart',
    costColumn,
    'ListCost',
    'BillingCurrency',
    'ChargeCategory',
    'ServiceName',
    'ResourceId',
    'ResourceName',
    'Tags',
  ];
}

/** Joins the identity's parts (record separator); a column the file lacks, or a null value, counts as NUL. */
export const IDENTITY_SEPARATOR = '\u001e';
export const IDENTITY_ABSENT = '\u0000';

/**
 * The identity hash of a row: sha256 (hex) of the source slug and the identity columns' text
 * as read from the file (null for an absent column or a null token). DuckDB computes the same
 * in SQL for every flagged row; this is the reference the golden tests hold it to.
 */
export function rowIdentityHash(sourceSlug: string, cells: readonly (string | null)[]): string {
  return createHash('sha256')
    .update([sourceSlug, ...cells.map((c) => c ?? IDENTITY_ABSENT)].join(IDENTITY_SEPARATOR))
    .digest('hex');
}

export const FLAG_ID_PATTERN = /^[0-9a-f]{16}(-[1-9]\d*)?$/;

/** Flag id of the n-th (1-based, in file order) of identical rows: 16 hex digits, then -2, -3… */
export function flagId(rowHash: string, n: number): string {
  const base = rowHash.slice(0, 16);
  return n === 1 ? base : `${base}-${n}`;
}

// ── PIs and statements ───────────────────────────────────────────────────────────────────

/** A PI is one person whatever the spelling: the email, in Unicode's composed form (NFC), trimmed and lower-cased. */
export function piKey(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

/**
 * An identifier (project, fund/org) as people read it: in Unicode's composed form (NFC). "café"
 * can reach an export as 4 code points or as 5 (an e and a combining accent); both look the
 * same, and must be one project, on one statement.
 */
export function composed<T extends string | null>(text: T): T {
  return (text === null ? null : text.normalize('NFC')) as T;
}

export interface StatementIdentity {
  /** The PI key (see piKey). */
  pi: string;
  project_id: string;
  fund_org: string;
  currency: string;
}

/**
 * A statement number, the same on every build of the same data: the period and 16 hex digits
 * (64 bits) of a hash of the PI, project, fund/org and currency. At 10,000 statements a period
 * the chance that two share a number is about 3 in 10^12; a build that finds two refuses.
 */
export function statementNumber(period: string, s: StatementIdentity): string {
  const h = createHash('sha256')
    .update(JSON.stringify([period, s.pi, s.project_id, s.fund_org, s.currency]))
    .digest('hex');
  return `${period.replace('-', '')}-${h.slice(0, 16).toUpperCase()}`;
}

/** Lower-case ASCII words joined by dashes, for file names and URLs ("x" when nothing is left). */
export function slugify(text: string, max = 40): string {
  const s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return s || 'x';
}

/**
 * A PI's slug: the email's local part, readable, and 6 hex digits of a hash of the whole key,
 * so two PIs with the same local part (j.smith@a.edu, j.smith@b.edu) never share a page or file.
 */
export function piSlug(pi: string): string {
  const key = piKey(pi);
  const [local = key] = key.split('@');
  return `${slugify(local, 30)}-${createHash('sha256').update(key).digest('hex').slice(0, 6)}`;
}

/** The secret-link token of a PI's pages for a period: unguessable without the link secret. */
export function linkToken(secret: string, period: string, pi: string): string {
  return createHmac('sha256', secret)
    .update(`${period}\n${piKey(pi)}`)
    .digest('base64url')
    .slice(0, 22);
}

/**
 * Why a link secret is too weak to keep statement links unguessable (null when it is fine): a
 * PI holds one HMAC token made with it, and a short or repetitive secret can be recovered from
 * that token in seconds, and every other PI's link computed.
 */
export function linkSecretProblem(secret: string): string | null {
  if (secret.length < 32) return `it has ${secret.length} characters; at least 32 are needed`;
  const counts = new Map<string, number>();
  for (const ch of secret) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...secret].length;
  const bitsPerChar = [...counts.values()].reduce((h, c) => h - (c / n) * Math.log2(c / n), 0);
  if (counts.size < 12 || bitsPerChar < 3) return 'it repeats too few characters to be random';
  if (/(.{1,4})\1{3,}/.test(secret)) return 'it repeats a short pattern';
  return null;
}

export interface StatementPaths {
  /** The PI's page for the period (every statement of theirs). */
  piPage: string;
  /** The statement's printable page. */
  page: string;
  /** The PDF, and its file name as attached to emails. */
  pdf: string;
  pdfFile: string;
}

/** The PI's page for a period, relative to the site's base (no leading slash). */
export function piPagePath(period: string, pi: string, secret?: string): string {
  return secret ? `s/${linkToken(secret, period, pi)}/` : `periods/${period}/pi/${piSlug(pi)}/`;
}

/** Paths of a statement, relative to the site's base (no leading slash). */
export function statementPaths(period: string, pi: string, project: string, number: string, secret?: string): StatementPaths {
  const pdfFile = `${period}_${piSlug(pi)}_${slugify(project)}_${number.slice(number.indexOf('-') + 1)}.pdf`;
  const piPage = piPagePath(period, pi, secret);
  if (secret) return { piPage, page: `${piPage}${number}/`, pdf: `${piPage}${pdfFile}`, pdfFile };
  return { piPage, page: `periods/${period}/statements/${number}/`, pdf: `periods/${period}/pdf/${pdfFile}`, pdfFile };
}

/** The .eml file a PI's email for a period is written to (without --send). */
export function emlFileName(pi: string): string {
  return `${piSlug(pi)}.eml`;
}

/** The key of a PI's entry in the period's delivery log. */
export function deliveryKey(pi: string): string {
  return piKey(pi);
}

// ── Data files ───────────────────────────────────────────────────────────────────────────

export type DataFormat = 'csv' | 'parquet';
export type DataCompression = 'none' | 'gzip';

/**
 * A stored export's file name: `<slug>.csv[.gz]` or `<slug>.parquet`; an export in several
 * parts `<slug>.part-001.csv`… (at least three digits, more for more parts).
 */
export function dataFileName(
  slug: string,
  file: { format: DataFormat; compression: DataCompression },
  part?: { index: number; count: number },
): string {
  const suffix = part && part.count > 1 ? `.part-${String(part.index).padStart(Math.max(3, String(part.count).length), '0')}` : '';
  const ext = file.format === 'parquet' ? '.parquet' : `.csv${file.compression === 'gzip' ? '.gz' : ''}`;
  return `${slug}${suffix}${ext}`;
}

/** A source slug: lower-case letters, digits and dashes, starting with a letter or digit. */
export const SOURCE_SLUG_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

const DATA_FILE_RE = /^([a-z0-9][a-z0-9-]*)(?:\.part-(\d+))?\.(csv|csv\.gz|parquet)$/;

export interface DataFileName {
  slug: string;
  /** The part number, or null for a whole export. */
  part: number | null;
  ext: 'csv' | 'csv.gz' | 'parquet';
}

/** What a name under data/<period>/ says, or null when it is no data file. */
export function parseDataFileName(name: string): DataFileName | null {
  const m = DATA_FILE_RE.exec(name);
  if (!m) return null;
  return { slug: m[1] as string, part: m[2] === undefined ? null : Number(m[2]), ext: m[3] as DataFileName['ext'] };
}

/** A name that looks like a stored export (a known extension), whether or not it is well formed. */
export function looksLikeDataFile(name: string): boolean {
  return /\.(csv|csv\.gz|parquet)$/.test(name) && !name.startsWith('.');
}

export interface ExportProblem {
  slug: string;
  files: string[];
  reason: string;
}

/**
 * One export per source and period: a whole file, or parts numbered 1…N. Two whole files (say
 * aws.csv and aws.csv.gz from two merged branches), a whole file beside parts, a part stored
 * twice or a missing part would bill a charge twice or not at all.
 */
export function exportProblems(names: readonly string[]): ExportProblem[] {
  const bySlug = new Map<string, { name: string; parsed: DataFileName }[]>();
  for (const name of names) {
    const parsed = parseDataFileName(name);
    if (!parsed) continue;
    bySlug.set(parsed.slug, [...(bySlug.get(parsed.slug) ?? []), { name, parsed }]);
  }
  const problems: ExportProblem[] = [];
  for (const [slug, files] of [...bySlug].sort(([a], [b]) => compareText(a, b))) {
    const whole = files.filter((f) => f.parsed.part === null).map((f) => f.name);
    const parts = files.filter((f) => f.parsed.part !== null);
    if (whole.length > 1) problems.push({ slug, files: whole.sort(), reason: 'two stored files of one export' });
    if (whole.length > 0 && parts.length > 0)
      problems.push({ slug, files: [...whole, ...parts.map((p) => p.name)].sort(), reason: 'a whole export beside parts of one' });
    if (whole.length === 0 && parts.length > 0) {
      const byNumber = new Map<number, string[]>();
      for (const p of parts) byNumber.set(p.parsed.part as number, [...(byNumber.get(p.parsed.part as number) ?? []), p.name]);
      for (const [n, same] of [...byNumber].sort(([a], [b]) => a - b)) {
        if (same.length > 1) problems.push({ slug, files: same.sort(), reason: `part ${n} stored twice` });
      }
      const max = Math.max(...byNumber.keys());
      const missing = Array.from({ length: max }, (_, i) => i + 1).filter((n) => !byNumber.has(n));
      if (missing.length > 0)
        problems.push({
          slug,
          files: parts.map((p) => p.name).sort(),
          reason: `part${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing`,
        });
    }
  }
  return problems;
}
