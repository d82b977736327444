/**
 * `ingest`: validate a FOCUS export, store it byte-for-byte under data/<period>/, and record
 * the charges its rows hold for review in periods/<period>/flags.yaml.
 * Read → plan → apply: nothing is written until every check has passed.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type Config, MAX_FLAGS_LIMIT, type SourceConfig, sourceSlug } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { formatUnits, parseDecimal, SCALE } from '../core/money.ts';
import { gzipInflatedSize, storedGzipSize } from '../core/zlib.ts';
import type { Database } from '../db/duckdb.ts';
import { dataFileName, parseDataFileName } from '../domain/identity.ts';
import { canonicalJson, compareText } from '../domain/order.ts';
import { buildFlags, mergeFlags } from '../flags/build.ts';
import { replaceFlagsText } from '../flags/edit.ts';
import {
  flagsDisplay,
  formatFlagItems,
  formatFlags,
  hasCrlf,
  hasHandComments,
  readFlags,
  readFlagsWithHash,
  withLineBreaks,
} from '../flags/file.ts';
import type { Flag } from '../flags/schema.ts';
import type { ChargeFile } from '../focus/charges-sql.ts';
import { costColumn, mapColumns, requiredColumns } from '../focus/columns.ts';
import { type SniffedFile, sniffFile } from '../focus/file.ts';
import { type PeriodTotals, type ScanResult, scanFile, TooManyHeld } from '../focus/scan.ts';
import { rememberedHashesDir, rememberValue } from '../repo/content-id.ts';
import { sameBytes, sha256File } from '../repo/hash.ts';
import { checkPeriod, layout, relPath } from '../repo/layout.ts';
import { type LockOptions, withRepositoryLock } from '../repo/lock.ts';
import { assertOpen } from '../repo/period-file.ts';
import { copyStamp, keepPlainCopy, type MadeCopy } from '../repo/plain-copy.ts';
import { heldExport, INFLATED_BYTES, ORIGINAL_SUFFIX, readOriginal, sameExportTwice, sameHeld } from '../repo/stored-export.ts';
import {
  commitWrites,
  type OriginalFile,
  type PlannedWrite,
  type StagedCompressed,
  type StagedCopy,
  stageCompressed,
  stageCopy,
  stageTarget,
} from '../repo/write.ts';
import { checkBranchName, commitIngest, planCommit } from './commit.ts';
import { type SharedRows, sharedRows } from './overlap.ts';

export interface IngestFile {
  path: string;
  /** Path shown in messages. */
  display: string;
  /** A temporary file the caller hands over (an upload): stored by a link instead of a copy where it can be. */
  handedOver?: boolean;
}

export interface IngestOptions {
  root: string;
  /** One export: a single file, or its parts in order (stored and replaced together). */
  files: IngestFile[];
  source: string;
  period?: string;
  replace?: boolean;
  dryRun?: boolean;
  /** Commit what was written on a branch of its own (checked before anything is written). */
  commit?: { branch?: string };
  lock?: LockOptions;
}

/** `reflagged`: the export was stored already, but its flags were no longer what it holds for review (rules changed, or a hand edit), and were written again. */
export type IngestOutcome = 'ingested' | 'replaced' | 'reflagged' | 'unchanged' | 'dry-run';

export interface CurrencyTotal {
  currency: string;
  rows: number;
  billed: string;
  list: string;
  flagged_rows: number;
  flagged_amount: string;
}

export interface IngestReport {
  outcome: IngestOutcome;
  source: string;
  period: string;
  /** The file ingested (its parts, comma-separated, for an export in parts). */
  file: string;
  /** Where it is stored (likewise). */
  stored_as: string;
  /** Each file of the export, in order. */
  parts: { file: string; stored_as: string; rows: number }[];
  rows: number;
  periods: { period: string; rows: number }[];
  totals: CurrencyTotal[];
  flags: { total: number; new: number; decisions_kept: number; decisions_dropped: number; by_rule: Record<string, number> };
  warnings: string[];
  /** With `commit`: the branch and commit made. */
  committed?: { branch: string; commit: string };
}

export function findSource(config: Config, name: string): SourceConfig {
  const wanted = name.toLowerCase();
  const source = config.sources.find((s) => s.name.toLowerCase() === wanted || sourceSlug(s) === wanted);
  if (!source) {
    throw new UserError(`unknown source ${JSON.stringify(name)}: expected one of ${config.sources.map((s) => s.name).join(', ')}`, {
      hint: 'add it under `sources:` in config.yaml',
    });
  }
  return source;
}

export async function ingest(db: Database, config: Config, options: IngestOptions): Promise<IngestReport> {
  const source = findSource(config, options.source);
  const slug = sourceSlug(source);
  if (options.period !== undefined) checkPeriod(options.period, '--period');
  if (options.commit?.branch !== undefined && !options.dryRun) await checkBranchName(options.root, options.commit.branch);
  if (options.files.length === 0) throw new UserError('no file to ingest', { hint: 'name the FOCUS export, or all its parts' });
  // One file named twice is refused before any is read; two copies of one part, once the scans
  // have counted what each .gz inflates to (ingestParts).
  refuseNamedTwice(await sameExportTwice(options.files, { sameFileOnly: true }).catch(() => null)); // a file that cannot be read is sniffFile's to report
  const required = requiredColumns(config.billing.cost_basis);
  const parts: Part[] = [];
  const compressAbove = config.data_files.compress_above_mb * MIB;
  for (const f of options.files) {
    const sniffed = await sniffFile(f.path, f.display, db);
    const columns = mapColumns(sniffed, required);
    // A large plain CSV is stored gzip-compressed (git hosts refuse files over 100 MB).
    const compress = sniffed.format === 'csv' && sniffed.compression === 'none' && sniffed.size > compressAbove;
    const store = compress ? { format: sniffed.format, compression: 'gzip' as const } : sniffed;
    parts.push({ input: f, sniffed, columns, store, target: { file: sniffed, columns, sourceSlug: slug, relPath: f.display } });
  }
  // The byte-for-byte copies into data/ run while DuckDB reads the files; they are renamed into
  // place only if every check and write succeeds, and removed otherwise. A data/ missing is made
  // (a large export stored without staging was its plain bytes under a .csv.gz name), and removed
  // again if nothing lands in it.
  const dataDir = layout.dataDir(options.root);
  const makesDataDir = !options.dryRun && !existsSync(dataDir);
  const sizing = new AbortController();
  try {
    // A dry run compresses nothing, but counts what a large export would be stored as, beside
    // the scan, when that could be over the LFS threshold: what a write would refuse, it refuses.
    if (options.dryRun && !(await dataInLfs(options.root)))
      for (const part of parts)
        if (part.store.compression !== part.sniffed.compression && mayExceed(part.sniffed.size, config.data_files.lfs_above_mb * MIB)) {
          part.storedSize = storedGzipSize(part.input.path, sizing.signal);
          part.storedSize.catch(() => {}); // awaited by checkSize, or abandoned with the ingest
        }
    if (!options.dryRun)
      for (const part of parts) {
        part.staged =
          part.store.compression !== part.sniffed.compression
            ? await stageCompressed(part.input.path, dataDir, { plain: config.data_files.plain_copy })
            : await stageCopy(part.input.path, dataDir, { link: part.input.handedOver });
        if (await keepsInflated(config, part)) part.inflated = await stageTarget(dataDir);
      }
    return await ingestParts(db, config, options, source, parts);
  } finally {
    sizing.abort();
    for (const part of parts) {
      await part.staged?.discard();
      await part.inflated?.discard();
    }
    if (makesDataDir) await rmdir(dataDir).catch(() => {}); // only if empty: nothing was stored
  }
}

/** Refuses a part of the export named twice, or stored twice (a copy). */
function refuseNamedTwice(twice: { files: [IngestFile, IngestFile]; sameFile: boolean } | null): void {
  if (!twice) return;
  const [first, second] = twice.files;
  throw new UserError(
    first.path === second.path
      ? `${second.display} is named twice`
      : `${second.display} ${twice.sameFile ? 'is the same file as' : 'holds the same bytes as'} ${first.display}`,
    { hint: 'name each part of the export once: two parts never hold the same rows, which would be billed twice' },
  );
}

/**
 * Parts that hold the same rows (overlap.ts): refused when they share at least 10 rows and 1%
 * of the smaller part's (two versions of the export, whose shared charges would be billed twice);
 * fewer are a warning, as a provider's export may hold two rows alike that its split put apart.
 */
function sharedRowsProblem(found: SharedRows | null, parts: Part[], scans: ScanResult[]): string[] {
  if (!found) return [];
  const [a, b] = [parts[found.first] as Part, parts[found.second] as Part].map((p) => p.input.display);
  const rows = (i: number) => totalRows(scans[i]?.periods ?? []);
  const smaller = Math.min(rows(found.first), rows(found.second));
  const what = `${a} and ${b} hold ${found.shared.toLocaleString('en-US')} of the same row${found.shared === 1 ? '' : 's'}, alike to every column (such as ${found.example})`;
  const also = found.total > found.shared ? `; ${found.total.toLocaleString('en-US')} rows are in more than one part in all` : '';
  if (found.shared >= 10 && found.shared * 100 >= smaller)
    throw new UserError(
      `${what}${also}: parts of one export never hold the same row, so these are two versions of the export, and their shared charges would be billed twice`,
      {
        hint: 'ingest the latest version of the month alone (providers write the whole month again as it goes); files of different months or accounts are ingested one by one',
      },
    );
  return [`${what}${also}: check that these are parts of one export, not two versions of it, whose shared charges would be billed twice`];
}

/** One file of the export, checked and (unless a dry run) being copied before its rows are read. */
interface Part {
  input: IngestFile;
  sniffed: SniffedFile;
  columns: ChargeFile['columns'];
  target: ChargeFile;
  /** How it is stored: as delivered, or gzip-compressed when large. */
  store: { format: SniffedFile['format']; compression: SniffedFile['compression'] };
  staged?: StagedCopy | StagedCompressed;
  /** For a large .csv.gz stored as delivered: where the scan writes the bytes it inflates, kept as the month's plain copy. */
  inflated?: { path: string; discard: () => Promise<void> };
  /** A dry run's count of the bytes it would store compressed, where they might need Git LFS. */
  storedSize?: Promise<number>;
}

/**
 * Whether `size` bytes might still be over `limit` gzip-compressed: deflate never grows data by
 * more than its stored blocks' 5 bytes in 16 KB and gzip's 18 of header and trailer.
 */
const mayExceed = (size: number, limit: number) => size + Math.ceil(size / 1000) + 1024 > limit;

/**
 * A .csv.gz stored as delivered gets a plain copy too (repo/plain-copy.ts) when it inflates past
 * data_files.compress_above_mb, the size at which a plain export would be compressed: reading the
 * 10M-row month's .csv.gz made DuckDB inflate 3.5 GB on one thread for every read. The scan
 * inflates the file anyway (to count its lines and check its gzip checksums), and writes it out.
 */
async function keepsInflated(config: Config, part: Part): Promise<boolean> {
  if (!config.data_files.plain_copy || part.sniffed.format !== 'csv') return false;
  if (part.sniffed.compression !== 'gzip' || part.store.compression !== 'gzip') return false;
  return ((await gzipInflatedSize(part.input.path)) ?? 0) > config.data_files.compress_above_mb * MIB;
}

/**
 * The plain copy made of a part (repo/plain-copy.ts), with the sha256 of the file stored: the
 * bytes its compression read, or those its scan inflated from a .csv.gz stored as delivered.
 */
async function plainCopyOf(part: Part, scan: ScanResult | undefined): Promise<{ made: MadeCopy; storedSha256: string } | null> {
  const inflated = scan?.plain;
  if (inflated) {
    const s = await stat(inflated.path, { bigint: true }).catch(() => null);
    return s && { made: { path: inflated.path, stamp: copyStamp(s) }, storedSha256: inflated.sha256 };
  }
  const staged = part.staged;
  if (!staged || !('plain' in staged)) return null;
  const made = await staged.plain;
  return made && { made, storedSha256: await staged.stored };
}

async function ingestParts(
  db: Database,
  config: Config,
  options: IngestOptions,
  source: SourceConfig,
  parts: Part[],
): Promise<IngestReport> {
  const slug = sourceSlug(source);
  const scans: ScanResult[] = [];
  const maxFlagged = config.flag_rules.max_flags;
  // A part holding more rows than max_flags is refused below, unless this very export is stored
  // already (with the limit lowered since): re-ingesting it changes nothing, so says so.
  const refused: TooManyHeld[] = [];
  for (const part of parts) {
    try {
      scans.push(await scanFile(db, part.target, config, options.period ?? null, { maxFlagged, keepPlain: part.inflated?.path }));
    } catch (e) {
      if (!(e instanceof TooManyHeld)) throw e;
      refused.push(e);
      scans.push({ periods: e.periods, flagged: [], plain: null, bytes: null, located: null });
    }
  }
  const overlap: string[] = [];
  if (parts.length > 1) {
    const inflated = scans.map((s) => s.bytes);
    refuseNamedTwice(
      await sameExportTwice(
        parts.map((p) => p.input),
        { inflated },
      ),
    );
    overlap.push(
      ...sharedRowsProblem(
        await sharedRows(
          db,
          parts.map((p) => p.target),
          costColumn(config.billing.cost_basis),
        ),
        parts,
        scans,
      ),
    );
  }
  const allPeriods = scans.flatMap((s) => s.periods);

  let period: string;
  try {
    period = options.period ?? singlePeriod(allPeriods, parts.length === 1 ? (parts[0] as Part).sniffed.display : undefined);
  } catch (e) {
    throw refused[0] ?? e;
  }
  const stored = parts.map((part, i) => relPath('data', period, dataFileName(slug, part.store, { index: i + 1, count: parts.length })));
  const targets = stored.map((s) => join(options.root, s));
  const report = (outcome: IngestOutcome, flags: IngestReport['flags']): IngestReport => ({
    outcome,
    source: source.name,
    period,
    file: parts.map((p) => p.input.display).join(', '),
    stored_as: stored.join(', '),
    parts: parts.map((p, i) => ({ file: p.input.display, stored_as: stored[i] as string, rows: totalRows(scans[i]?.periods ?? []) })),
    rows: totalRows(allPeriods),
    periods: periodCounts(allPeriods),
    totals: currencyTotals(allPeriods),
    flags,
    warnings: [
      ...parts
        .filter((p) => p.columns.tags === undefined)
        .map((p) => `${p.input.display} has no Tags column, so no charge in it is attributed: every row is flagged for review`),
      ...overlap,
    ],
  });

  // From here to the end the repository is read and written under its lock: another ingest of
  // the same source, or a review of the same period, waits rather than losing this one's work.
  const apply = async (): Promise<IngestReport> => {
    await assertOpen(options.root, period, 'ingest into it');
    const existing = await existingDataFiles(options.root, period, slug);
    // The export stored already: its data stays, and so do its flags unless they are no longer
    // what it holds for review (the rules changed since, or a hand edit), which are written again.
    const storedAlready = existing.length > 0 && (await sameExport(existing, parts));
    const unchanged = (mine: Flag[]) =>
      report('unchanged', { total: mine.length, new: 0, decisions_kept: 0, decisions_dropped: 0, by_rule: countByRule(mine) });
    if (storedAlready && refused[0]) return unchanged((await readFlags(options.root, period)).flags.filter((f) => f.source === slug));
    if (refused[0]) throw refused[0];
    if (!storedAlready) {
      await refuseStoredElsewhere(options.root, period, slug, parts, scans);
      if (existing.length > 0 && !options.replace) {
        const held = existing.map((e) => relPath('data', period, basename(e))).join(', ');
        throw new UserError(`${held} already ${existing.length > 1 ? 'hold' : 'holds'} a different ${source.name} export for ${period}`, {
          hint: 'pass --replace to replace it with this corrected export; decisions on unchanged rows are kept',
        });
      }
    }

    // Flag ids number identical rows across the parts, in order, as the report reads them.
    // Each held row is given its file in place (a copy of each of 100,000 rows was time spent collecting them).
    const rows = scans.flatMap((scan, i) => scan.flagged.map((row) => Object.assign(row, { file: stored[i] as string })));
    const incoming = buildFlags(rows, { config, source: slug, period });
    const current = await readFlagsWithHash(options.root, period);
    const merged = mergeFlags(current.file.flags, incoming, slug);
    const before = current.file.flags.filter((f) => f.source === slug);
    if (
      storedAlready &&
      sameFlags(
        before,
        merged.flags.filter((f) => f.source === slug),
      )
    )
      return unchanged(before);
    // Only an export that adds flags past the limit is refused: one that adds none, or fewer than it replaces, makes nothing worse.
    if (merged.flags.length > maxFlagged && merged.flags.length > current.file.flags.length)
      throw tooManyFlags(period, merged.flags.length, incoming.length, maxFlagged);
    const previousIds = new Set(current.file.flags.filter((f) => f.source === slug).map((f) => f.id));
    const flagSummary = {
      total: incoming.length,
      new: incoming.filter((f) => !previousIds.has(f.id)).length,
      decisions_kept: merged.kept,
      decisions_dropped: merged.dropped,
      by_rule: countByRule(incoming),
    };
    // What a write would refuse, a dry run refuses too.
    for (const [i, part] of parts.entries()) await checkSize(options.root, config, part, stored[i] as string);
    let flagsText: string | undefined;
    if (merged.flags.length > 0 || current.file.flags.length > 0) {
      // Its texts alone can be too many to write as one string (600 MB of resource names was).
      checkFlagsSize(config, period, flagsTextBytes(merged.flags), 'at least');
      // A flags.yaml saved with Windows line breaks keeps them, so that its diff shows only what changed;
      // one with comments of its own keeps them too, and every other source's flag as it is written.
      const mine = merged.flags.filter((f) => f.source === slug);
      const crlf = current.text !== null && hasCrlf(current.text);
      const spliced =
        current.text !== null && hasHandComments(current.text)
          ? replaceFlagsText(current.text, (f) => f.source === slug, withLineBreaks(formatFlagItems(mine), crlf))
          : null;
      flagsText = spliced ?? withLineBreaks(formatFlags({ version: current.file.version, period, flags: merged.flags }), crlf);
      checkFlagsSize(config, period, Buffer.byteLength(flagsText));
    }
    if (options.dryRun) return report('dry-run', flagSummary);
    const plan = options.commit ? await planCommit(options.root, { period, slug }, options.commit.branch) : undefined;

    const writes: PlannedWrite[] = [];
    for (const [i, part] of storedAlready ? [] : parts.entries()) {
      const target = targets[i] as string;
      // A real ingest stages every part (b3fe5bf): its copy or compression began with the scan.
      if (!part.staged) throw new Error(`ingest: ${part.input.display} was not staged`);
      writes.push({ target, staged: part.staged });
      if ('original' in part.staged) {
        // What the compressed file holds, so that it is still the export byte for byte.
        const original = await part.staged.original;
        writes.push({ target: `${target}${ORIGINAL_SUFFIX}`, content: originalRecord(basename(part.input.display), original) });
      }
    }
    if (flagsText !== undefined) {
      writes.push({
        target: layout.flagsFile(options.root, period),
        content: flagsText,
        expect: { sha256: current.sha256, display: flagsDisplay(period) },
      });
    }
    await commitWrites(writes);
    if (!storedAlready) {
      for (const [i, part] of parts.entries()) {
        const copy = await plainCopyOf(part, scans[i]);
        if (copy) await keepPlainCopy(options.root, copy.made, targets[i] as string, copy.storedSha256);
        // What a .gz stored as delivered inflates to, as its scan counted: later checks for one export stored twice need not inflate it.
        const inflated = scans[i]?.bytes;
        if (part.sniffed.compression === 'gzip' && part.store.compression === 'gzip' && typeof inflated === 'number')
          await rememberValue(rememberedHashesDir(options.root), targets[i] as string, INFLATED_BYTES, String(inflated));
      }
      // The replaced export's files that this one does not overwrite (other parts, or compression),
      // and the records of originals no longer compressed here.
      const records = new Set(
        targets.filter((_, i) => parts[i]?.store.compression !== parts[i]?.sniffed.compression).map((t) => `${t}${ORIGINAL_SUFFIX}`),
      );
      for (const old of existing) {
        if (!targets.includes(old)) await rm(old);
        if (!records.has(`${old}${ORIGINAL_SUFFIX}`)) await rm(`${old}${ORIGINAL_SUFFIX}`, { force: true });
      }
    }
    const done = report(storedAlready ? 'reflagged' : existing.length > 0 ? 'replaced' : 'ingested', flagSummary);
    if (plan) done.committed = await commitIngest(options.root, config, plan, { ...done, by_rule: flagSummary.by_rule });
    return done;
  };
  // A dry run writes nothing, so it needs no lock.
  return options.dryRun ? apply() : withRepositoryLock(options.root, `focus-billing ingest --source ${source.name}`, apply, options.lock);
}

/** Two lists of one source's flags hold the same flags, whatever their order in the file or of their keys. */
function sameFlags(a: Flag[], b: Flag[]): boolean {
  if (a.length !== b.length) return false;
  const seen = new Map(a.map((f) => [f.id, canonicalJson(f)]));
  return b.every((f) => seen.get(f.id) === canonicalJson(f));
}

function totalRows(periods: PeriodTotals[]): number {
  return periods.reduce((n, p) => n + p.rows, 0);
}

function singlePeriod(periods: PeriodTotals[], file: string | undefined): string {
  const counts = periodCounts(periods);
  if (counts.length === 1) return (counts[0] as { period: string }).period;
  throw new UserError(
    `rows span ${counts.length} billing periods: ${counts.map((c) => `${c.period} (${c.rows} row${c.rows === 1 ? '' : 's'})`).join(', ')}; expected one`,
    {
      ...(file ? { location: { file } } : {}),
      hint: `pass --period ${counts.reduce((a, b) => (b.rows > a.rows ? b : a)).period} to store it under one period; rows of other periods are then flagged period_mismatch`,
    },
  );
}

function periodCounts(periods: PeriodTotals[]): { period: string; rows: number }[] {
  const m = new Map<string, number>();
  for (const p of periods) m.set(p.period, (m.get(p.period) ?? 0) + p.rows);
  return [...m].map(([period, rows]) => ({ period, rows })).sort((a, b) => compareText(a.period, b.period));
}

export function currencyTotals(periods: PeriodTotals[]): CurrencyTotal[] {
  const m = new Map<string, { rows: number; billed: bigint; list: bigint; flagged_rows: number; flagged: bigint }>();
  for (const p of periods) {
    const t = m.get(p.currency) ?? { rows: 0, billed: 0n, list: 0n, flagged_rows: 0, flagged: 0n };
    t.rows += p.rows;
    t.billed += parseDecimal(p.cost);
    t.list += parseDecimal(p.list);
    t.flagged_rows += p.flagged_rows;
    t.flagged += parseDecimal(p.flagged_cost);
    m.set(p.currency, t);
  }
  return [...m].map(([currency, t]) => ({
    currency,
    rows: t.rows,
    billed: formatUnits(t.billed, SCALE),
    list: formatUnits(t.list, SCALE),
    flagged_rows: t.flagged_rows,
    flagged_amount: formatUnits(t.flagged, SCALE),
  }));
}

function countByRule(flags: Flag[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of flags) for (const r of [f.rule, ...(f.also ?? [])]) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** The files stored for a source and period: `<slug>.csv[.gz]` or its parts, in part order (or, where two exports were merged, all of them). */
export async function existingDataFiles(root: string, period: string, slug: string): Promise<string[]> {
  const dir = layout.periodDataDir(root, period);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => parseDataFileName(n)?.slug === slug)
    .sort()
    .map((n) => join(dir, n));
}

/**
 * Refuses an export already stored in the period under another source (ingested as AWS, then
 * again as GCP): every statement would bill it twice. An export without rows bills nothing, and
 * two sources' empty months can be the same header alone.
 */
async function refuseStoredElsewhere(root: string, period: string, slug: string, parts: Part[], scans: ScanResult[]): Promise<void> {
  const dir = layout.periodDataDir(root, period);
  const others = (await readdir(dir).catch(() => [] as string[])).filter((n) => {
    const parsed = parseDataFileName(n);
    return parsed !== null && parsed.slug !== slug;
  });
  if (others.length === 0) return;
  const remember = rememberedHashesDir(root);
  const stored = await Promise.all(others.map((n) => heldExport(join(dir, n), { remember })));
  for (const [i, part] of parts.entries()) {
    if (totalRows(scans[i]?.periods ?? []) === 0) continue;
    const mine = await heldExport(part.input.path, { inflated: scans[i]?.bytes });
    for (const other of stored)
      if (await sameHeld(mine, other))
        throw new UserError(
          `${part.input.display} is already stored as ${relPath('data', period, basename(other.path))}, another source's export: stored again, it would be billed twice`,
          {
            hint: `ingest each export once, as the source it came from; if the stored one is under the wrong source, take it out with its flags (focus-billing remove --period ${period} --source ${parseDataFileName(basename(other.path))?.slug}) and ingest this one`,
          },
        );
  }
}

/** The stored export is this one: as many files, each byte-identical (or, compressed, made from identical bytes), in order. */
async function sameExport(existing: string[], parts: Part[]): Promise<boolean> {
  if (existing.length !== parts.length) return false;
  for (const [i, part] of parts.entries()) {
    const stored = existing[i] as string;
    const original = await readOriginal(stored);
    if (original) {
      const s = await stat(part.input.path);
      if (s.size !== original.bytes || (await sha256File(part.input.path)) !== original.sha256) return false;
    } else if (!(await sameBytes(stored, part.input.path))) return false;
  }
  return true;
}

function originalRecord(name: string, original: OriginalFile): string {
  return `${JSON.stringify({ stored: 'gzip -1, no name or time (gunzip gives the export back)', original: { name, bytes: original.bytes, sha256: original.sha256 } }, null, 2)}\n`;
}

const MIB = 1024 * 1024;

/** A stored file over the LFS threshold needs data/ in Git LFS: refused (exit 2, nothing written) otherwise. */
async function checkSize(root: string, config: Config, part: Part, stored: string): Promise<void> {
  if (part.staged) await part.staged.done;
  // A dry run compresses nothing: it counts what it would store where that may matter (see ingest).
  const size = part.staged
    ? (await stat(part.staged.tmp)).size
    : part.store.compression === part.sniffed.compression
      ? part.sniffed.size
      : await part.storedSize;
  if (size === undefined) return;
  const limit = config.data_files.lfs_above_mb * MIB;
  if (size <= limit || (await dataInLfs(root))) return;
  throw new UserError(
    `${stored} would be ${sizeText(size)}${part.store.compression === 'gzip' ? ' even compressed' : ''}, more than data_files.lfs_above_mb (${config.data_files.lfs_above_mb} MB): git hosts refuse files over 100 MB without Git LFS`,
    {
      hint: 'run `focus-billing init --lfs` to keep data/ in Git LFS (it writes .gitattributes), commit that, and ingest again',
    },
  );
}

/** The period's flags would be more than `flag_rules.max_flags` (one export's are refused as the scan counts them). */
function tooManyFlags(period: string, total: number, incoming: number, max: number): UserError {
  const n = (x: number) => x.toLocaleString('en-US');
  return new UserError(
    `${flagsDisplay(period)} would hold ${n(total)} flags (${n(incoming)} of them this export's), more than flag_rules.max_flags (${n(max)}) allows`,
    {
      hint: `decided flags stay in the file too: replace the other sources' exports with tagged ones (\`ingest --replace\`; \`focus-billing review list --period ${period}\` shows what is held), or raise flag_rules.max_flags (at most ${n(MAX_FLAGS_LIMIT)})`,
    },
  );
}

/** A file's size for a message: KB under a megabyte (a limit set that low is a test's), else MB. */
function sizeText(bytes: number): string {
  return bytes < MIB ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / MIB).toFixed(0)} MB`;
}

/**
 * flags.yaml is reviewed in pull requests, never in Git LFS: it must stay within what git hosts
 * accept. `bytes` is its size, or (`at least`) a size it cannot be smaller than.
 */
function checkFlagsSize(config: Config, period: string, bytes: number, bound?: 'at least'): void {
  if (bytes <= config.data_files.lfs_above_mb * MIB) return;
  throw new UserError(
    `${flagsDisplay(period)} would be ${bound ? `${bound} ` : ''}${sizeText(bytes)}, more than data_files.lfs_above_mb (${config.data_files.lfs_above_mb} MB): git hosts refuse files over 100 MB, and flags.yaml is reviewed in pull requests, so it is never kept in Git LFS`,
    {
      hint: 'hold fewer charges for review: lower flag_rules.max_flags, and see why so many are held (most often the export lacks its tags)',
    },
  );
}

/** Bytes flags.yaml takes at the least: each flag's free texts in UTF-8, as each is written at least once. */
export function flagsTextBytes(flags: Flag[]): number {
  let bytes = 0;
  const add = (t: string | null | undefined) => {
    if (t) bytes += Buffer.byteLength(t);
  };
  for (const f of flags) {
    add(f.message);
    add(f.note);
    add(f.decided_by);
    const c = f.charge;
    add(c.resource);
    add(c.service);
    add(c.pi_email);
    add(c.project_id);
    add(c.fund_org);
  }
  return bytes;
}

/** Whether .gitattributes routes data/ through Git LFS. */
export async function dataInLfs(root: string): Promise<boolean> {
  const text = await readFile(join(root, '.gitattributes'), 'utf8').catch(() => '');
  return text.split('\n').some((l) => /^data\/\*\*\s.*\bfilter=lfs\b/.test(l.trim()));
}
