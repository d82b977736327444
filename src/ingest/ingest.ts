/**
 * `ingest`: validate a FOCUS export, store it byte-for-byte under data/<period>/, and record
 * the charges its rows hold for review in periods/<period>/flags.yaml.
 * Read → plan → apply: nothing is written until every check has passed.
 */
import { createReadStream, existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, SourceConfig } from '../config/schema.ts';
import { sourceSlug } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { formatUnits, parseDecimal, SCALE } from '../core/money.ts';
import type { Database } from '../db/duckdb.ts';
import { buildFlags, mergeFlags } from '../flags/build.ts';
import { formatFlags, readFlags } from '../flags/file.ts';
import type { Flag } from '../flags/schema.ts';
import type { ChargeFile } from '../focus/charges-sql.ts';
import { mapColumns, requiredColumns } from '../focus/columns.ts';
import { type SniffedFile, sniffFile } from '../focus/file.ts';
import { type PeriodTotals, scanFile } from '../focus/scan.ts';
import { assertOpen } from '../periods/status.ts';
import { layout, PERIOD_RE, relPath } from '../repo/layout.ts';
import { commitWrites, type PlannedWrite, type StagedCopy, stageCopy } from '../repo/write.ts';

export interface IngestOptions {
  root: string;
  file: string;
  /** Path shown in messages. */
  display: string;
  source: string;
  period?: string;
  replace?: boolean;
  dryRun?: boolean;
}

export type IngestOutcome = 'ingested' | 'replaced' | 'unchanged' | 'dry-run';

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
  file: string;
  stored_as: string;
  rows: number;
  periods: { period: string; rows: number }[];
  totals: CurrencyTotal[];
  flags: { total: number; new: number; decisions_kept: number; decisions_dropped: number; by_rule: Record<string, number> };
  warnings: string[];
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
  if (options.period !== undefined && !PERIOD_RE.test(options.period)) {
    throw new UserError(`--period ${JSON.stringify(options.period)}: expected a month as YYYY-MM, such as 2025-01`);
  }
  const sniffed = await sniffFile(options.file, options.display);
  const required = requiredColumns(config.billing.cost_basis);
  const columns = mapColumns(sniffed, required);
  const scanTarget: ChargeFile = { file: sniffed, columns, sourceSlug: slug, relPath: options.display };
  // The byte-for-byte copy into data/ runs while DuckDB reads the file; it is renamed into place
  // only if every check and write succeeds, and removed otherwise.
  const dataDir = layout.dataDir(options.root);
  const staged = options.dryRun || !existsSync(dataDir) ? undefined : await stageCopy(options.file, dataDir);
  try {
    return await ingestPrepared(db, config, options, { source, slug, sniffed, columns, scanTarget, staged });
  } finally {
    await staged?.discard();
  }
}

/** What `ingest` has checked and started before reading the rows. */
interface Prepared {
  source: SourceConfig;
  slug: string;
  sniffed: SniffedFile;
  columns: ChargeFile['columns'];
  scanTarget: ChargeFile;
  staged: StagedCopy | undefined;
}

async function ingestPrepared(db: Database, config: Config, options: IngestOptions, ctx: Prepared): Promise<IngestReport> {
  const { source, slug, sniffed, columns, scanTarget, staged } = ctx;
  const scan = await scanFile(db, scanTarget, config, options.period ?? null);

  const period = options.period ?? singlePeriod(scan.periods, sniffed);
  await assertOpen(options.root, period, `ingest into it`);
  const fileName = layout.dataFileName(slug, sniffed.compression);
  const stored = relPath('data', period, fileName);
  const target = join(options.root, stored);
  const existing = await existingDataFile(options.root, period, slug);

  const report = (outcome: IngestOutcome, flags: IngestReport['flags']): IngestReport => ({
    outcome,
    source: source.name,
    period,
    file: options.display,
    stored_as: stored,
    rows: totalRows(scan.periods),
    periods: periodCounts(scan.periods),
    totals: currencyTotals(scan.periods),
    flags,
    warnings:
      columns.tags === undefined ? ['the file has no Tags column, so no charge is attributed: every row is flagged for review'] : [],
  });

  if (existing && (await sameBytes(existing, options.file))) {
    const flagsFile = await readFlags(layout.flagsFile(options.root, period), '', period);
    const mine = flagsFile.flags.filter((f) => f.source === slug);
    return report('unchanged', { total: mine.length, new: 0, decisions_kept: 0, decisions_dropped: 0, by_rule: countByRule(mine) });
  }
  if (existing && !options.replace) {
    throw new UserError(
      `${relPath('data', period, existing.split('/').pop() ?? '')} already holds a different ${source.name} export for ${period}`,
      {
        hint: 'pass --replace to replace it with this corrected export; decisions on unchanged rows are kept',
      },
    );
  }

  const incoming = buildFlags(scan.flagged, { config, source: slug, file: stored, period });
  const flagsPath = layout.flagsFile(options.root, period);
  const current = await readFlags(flagsPath, relPath('periods', period, 'flags.yaml'), period);
  const merged = mergeFlags(current.flags, incoming, slug);
  const previousIds = new Set(current.flags.filter((f) => f.source === slug).map((f) => f.id));
  const flagSummary = {
    total: incoming.length,
    new: incoming.filter((f) => !previousIds.has(f.id)).length,
    decisions_kept: merged.kept,
    decisions_dropped: merged.dropped,
    by_rule: countByRule(incoming),
  };
  if (options.dryRun) return report('dry-run', flagSummary);

  const writes: PlannedWrite[] = [staged ? { target, staged } : { target, copyFrom: options.file }];
  if (merged.flags.length > 0 || current.flags.length > 0) {
    writes.push({ target: flagsPath, content: formatFlags({ period, flags: merged.flags }) });
  }
  await commitWrites(writes);
  // A replaced export may have changed compression, and so its file name.
  if (existing && existing !== target) await rm(existing);
  return report(existing ? 'replaced' : 'ingested', flagSummary);
}

function totalRows(periods: PeriodTotals[]): number {
  return periods.reduce((n, p) => n + p.rows, 0);
}

function singlePeriod(periods: PeriodTotals[], file: SniffedFile): string {
  const counts = periodCounts(periods);
  if (counts.length === 1) return (counts[0] as { period: string }).period;
  throw new UserError(
    `rows span ${counts.length} billing periods: ${counts.map((c) => `${c.period} (${c.rows} row${c.rows === 1 ? '' : 's'})`).join(', ')}; expected one`,
    {
      location: { file: file.display },
      hint: `pass --period ${counts.reduce((a, b) => (b.rows > a.rows ? b : a)).period} to store it under one period; rows of other periods are then flagged period_mismatch`,
    },
  );
}

function periodCounts(periods: PeriodTotals[]): { period: string; rows: number }[] {
  const m = new Map<string, number>();
  for (const p of periods) m.set(p.period, (m.get(p.period) ?? 0) + p.rows);
  return [...m].map(([period, rows]) => ({ period, rows })).sort((a, b) => a.period.localeCompare(b.period));
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

async function existingDataFile(root: string, period: string, slug: string): Promise<string | undefined> {
  for (const compression of ['none', 'gzip'] as const) {
    const path = join(layout.periodDataDir(root, period), layout.dataFileName(slug, compression));
    if (
      await stat(path).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  return undefined;
}

/** Byte equality, streaming both files (sizes first). */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  if (sa.size !== sb.size) return false;
  const ra = createReadStream(a, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]();
  const rb = createReadStream(b, { highWaterMark: 1 << 20 });
  let pending: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of rb as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        if (pending.length === 0) {
          const next = await ra.next();
          if (next.done) return false;
          pending = next.value as Buffer;
        }
        const n = Math.min(pending.length, chunk.length - offset);
        if (!pending.subarray(0, n).equals(chunk.subarray(offset, offset + n))) return false;
        pending = pending.subarray(n);
        offset += n;
      }
    }
    return true;
  } finally {
    await ra.return?.();
  }
}
