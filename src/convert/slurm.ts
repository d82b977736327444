/**
 * Slurm accounting (`sacct --parsable2`) to FOCUS: each job allocation's CPUs (core-hours), GPUs
 * (GPU-hours, by type) and, where a rate asks for it, memory (GB-hours), for the part of its run
 * inside the month, priced by rates.yaml and attributed by accounts.yaml.
 *
 * Which jobs are billed (documented in docs/sources/slurm.md):
 * - a job that started is billed for the time it ran inside the month, whatever its end state
 *   (RUNNING up to the month's end; COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL,
 *   PREEMPTED, CANCELLED, DEADLINE, REQUEUED, SUSPENDED, SPECIAL_EXIT, RESIZING);
 * - PENDING jobs, jobs that never started (no Start), BOOT_FAIL and REVOKED are not;
 * - each line is one allocation: an array task (123_4), a heterogeneous component (123+0) and
 *   each run of a requeued job are billed once each; the same allocation listed twice is billed
 *   once; job steps (123.batch) are not billed beside their allocation.
 */
import { createReadStream, readdirSync, rmSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../core/errors.ts';
import { pow10 } from '../core/money.ts';
import { moduleWorker } from '../core/worker.ts';
import { compareText } from '../domain/order.ts';
import type { Rates } from '../rates/rates.ts';
import { matchingRates, type PricedRate, splitSpan } from '../rates/rates.ts';
import type { Unit } from '../rates/schema.ts';
import { onInterrupt } from '../repo/cleanup.ts';
import { type AccountsFile, accountOwner, type Owner } from './accounts.ts';
import { type ConvertReport, FocusWriter, quantity, quantityText, type RawTotal, Totals } from './focus-writer.ts';
import { textLineBatches } from './lines.ts';
import { RecordProblems } from './problems.ts';
import { periodSpan, wallTime, wallTimes } from './time.ts';

export const SACCT_FIELDS = ['JobID', 'JobName', 'Account', 'Partition', 'State', 'Start', 'End', 'Elapsed', 'AllocTRES'] as const;

const BILLED_STATES = new Set([
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
  'CANCELLED',
  'DEADLINE',
  'REQUEUED',
  'SUSPENDED',
  'SPECIAL_EXIT',
  'RESIZING',
]);
const UNBILLED_STATES = new Set(['PENDING', 'BOOT_FAIL', 'REVOKED', 'REQUEUE_HOLD', 'REQUEUE_FED']);

export type { ConvertReport } from './focus-writer.ts';

export interface ConvertInput {
  files: { path: string; display: string }[];
  period: string;
  rates: Rates;
  accounts: AccountsFile;
  /** The FOCUS CSV to write; stdout when absent. */
  out?: string;
  /** How to show `out` in the report. */
  outDisplay?: string;
  timezone?: string;
  provider?: string;
  progress?: (text: string) => void;
}

interface Tres {
  cpu: bigint;
  /** GPUs by type ('' for untyped), in the order AllocTRES lists them. */
  gpus: { type: string; count: bigint; text: string }[];
  /** Memory in MiB. */
  memMiB: bigint;
  /** How charges describe them: "8 CPUs", "2 a100 GPUs", "512 GiB memory". */
  cpuText: string;
  memText: string;
}

const MEM_UNITS: Record<string, bigint> = { K: 1n, M: 1024n, G: 1024n * 1024n, T: 1024n * 1024n * 1024n, P: 1024n ** 4n };

/**
 * A count of CPUs or GPUs: Slurm records them in 32 bits, so a larger one (cpu=99999999999999999999)
 * is no allocation's, and would bill, or show as a list price fully subsidised, quadrillions.
 */
const MAX_COUNT = 2n ** 32n - 1n;
const countOf = (value: string): bigint | null => (/^\d{1,10}$/.test(value) && BigInt(value) <= MAX_COUNT ? BigInt(value) : null);

/** AllocTRES (`billing=4,cpu=4,gres/gpu:a100=2,mem=16G,node=1`): what the allocation holds. */
export function parseTres(text: string): Tres | null {
  let cpu = 0n;
  let memMiB = 0n;
  const typed = new Map<string, bigint>();
  let untyped = 0n;
  const keys = new Set<string>();
  for (const part of text ? text.split(',') : []) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    // A resource listed twice (cpu=4,cpu=8) has no one count to bill.
    if (keys.has(key)) return null;
    keys.add(key);
    if (key === 'cpu') {
      const n = countOf(value);
      if (n === null) return null;
      cpu = n;
    } else if (key === 'mem') {
      const m = /^(\d+(?:\.\d+)?)([KMGTP])?$/.exec(value);
      if (!m) return null;
      // In KiB (exact for fractional values such as 1.50G), then MiB rounded up.
      const [whole, frac = ''] = (m[1] as string).split('.');
      const scale = pow10(frac.length);
      const kib = (BigInt(`${whole}${frac}`) * (MEM_UNITS[m[2] ?? 'M'] as bigint) * 1024n) / scale / 1024n;
      memMiB = (kib + 1023n) / 1024n;
    } else if (key === 'gres/gpu') {
      const n = countOf(value);
      if (n === null) return null;
      untyped = n;
    } else if (key.startsWith('gres/gpu:')) {
      const n = countOf(value);
      if (n === null) return null;
      typed.set(key.slice('gres/gpu:'.length), n);
    }
  }
  // Slurm lists GPUs both in all and by type: count the typed ones, or the total when none is typed.
  const gpus = typed.size > 0 ? [...typed] : untyped > 0n ? [['', untyped] as const] : [];
  return {
    cpu,
    gpus: gpus.map(([type, count]) => ({ type, count, text: `${count} ${type ? `${type} ` : ''}GPU${count === 1n ? '' : 's'}` })),
    memMiB,
    cpuText: `${cpu} CPU${cpu === 1n ? '' : 's'}`,
    memText: `${memMiB % 1024n === 0n ? `${memMiB / 1024n} GiB` : `${memMiB} MiB`} memory`,
  };
}

const HOUR = 3_600_000n;

/** What a malformed AllocTRES was expected to be. */
const TRES_EXPECTED = 'TRES such as cpu=4,mem=16G,gres/gpu:a100=1, each resource once, CPU and GPU counts under 2^32';

/** parseTres, remembered: clusters run many jobs of the same shape. */
const tresCache = new Map<string, Tres | null>();
function cachedTres(text: string): Tres | null {
  let tres = tresCache.get(text);
  if (tres === undefined) {
    if (tresCache.size > 50_000) tresCache.clear();
    tres = parseTres(text);
    tresCache.set(text, tres);
  }
  return tres;
}

/** What jobs of one account, partition and QOS share: the owner, and per unit and GPU type the rates and Tags. */
interface Shape {
  owner: Owner | undefined;
  partition: string;
  account: string;
  qos: string | undefined;
  units: Map<string, ShapeUnit>;
}

interface ShapeUnit {
  /** `tags` as a FOCUS cell, once made (FocusWriter.tagsCell). */
  cell?: string;
  unit: Unit;
  gpuType: string | undefined;
  /** The rates that may price it, by start date. */
  rates: PricedRate[];
  tags: Record<string, string>;
}

/**
 * The conversion loop is written for a million allocations a month: no object per job beyond
 * its fields, jobs alike share their owner, rates and Tags (a Shape), and rows go straight to
 * the writer. A conversion refused half way writes nothing (the writer's temporary file).
 */
export async function convertSlurm(input: ConvertInput): Promise<ConvertReport> {
  const split = await splitPlan(input);
  if (split) {
    const report = await convertSplit(input, split);
    if (report) return report;
    input.progress?.('  the halves could not be joined, or hold problems: converting the month again in one pass');
  }
  const part = await convertPart(input, {});
  return reportOf(input, [part]);
}

/** One stretch of the input, as a part of a conversion converts it. */
interface PartOptions {
  /** Bytes [start, end) of the one input file (the whole of every file when absent). */
  range?: { start: number; end: number };
  /** The columns, for a stretch after the header line. */
  columns?: Columns;
  /** Where this part's rows go (input.out when absent), and whether they start with the header row. */
  out?: string;
  header?: boolean;
  /**
   * The file of rows that follow this part's (the next part's, once it is done), appended before
   * the output is renamed into place; null: the next part cannot follow (this part's rows are
   * discarded, and convertPart throws SplitAbandoned).
   */
  append?: (mine: Listings) => Promise<string | null>;
}

/** What a part found, for the report: merged in file order. */
interface PartResult {
  records: number;
  billed: number;
  charges: number;
  /** Reasons not billed, in the order first met, with their counts. */
  notBilled: [string, number][];
  unmapped: Map<string, { coreMs: bigint; records: number }>;
  totals: RawTotal[];
  listings: Listings;
}

async function convertPart(input: ConvertInput, options: PartOptions): Promise<PartResult> {
  const [monthStart, monthEnd] = periodSpan(input.period);
  const zone = input.timezone ?? 'UTC';
  const writer = await FocusWriter.open(
    input.period,
    input.rates.currency,
    input.provider ?? 'Research Computing',
    options.out ?? input.out,
    options.header ?? true,
  );
  const notBilled: Record<string, number> = {};
  const count = (why: string) => {
    notBilled[why] = (notBilled[why] ?? 0) + 1;
  };
  const unmapped = new Map<string, { coreMs: bigint; records: number }>();
  const seen = new Listings();
  // Shapes by account, then partition, then QOS ('' for none).
  const shapes = new Map<string, Map<string, Map<string, Shape>>>();
  const shapeOf = (account: string, partition: string, qos: string | undefined): Shape => {
    let byPartition = shapes.get(account);
    if (!byPartition) {
      byPartition = new Map();
      shapes.set(account, byPartition);
    }
    let byQos = byPartition.get(partition);
    if (!byQos) {
      byQos = new Map();
      byPartition.set(partition, byQos);
    }
    let shape = byQos.get(qos ?? '');
    if (!shape) {
      const owner = account ? accountOwner(input.accounts, account) : undefined;
      shape = { owner, partition: partition.split(',')[0] ?? '', account, qos, units: new Map() };
      byQos.set(qos ?? '', shape);
    }
    return shape;
  };
  const unitOf = (shape: Shape, unit: Unit, gpuType: string | undefined): ShapeUnit => {
    const key = gpuType === undefined ? unit : `${unit}:${gpuType}`;
    let u = shape.units.get(key);
    if (!u) {
      const attrs = {
        partition: shape.partition,
        account: shape.account.toLowerCase() || undefined,
        qos: shape.qos?.toLowerCase(),
        gpu_type: gpuType,
      };
      u = {
        unit,
        gpuType,
        rates: matchingRates(input.rates, 'slurm', unit, attrs),
        tags: {
          ...(shape.owner ?? {}),
          slurm_account: shape.account,
          partition: shape.partition,
          ...(shape.qos ? { qos: shape.qos } : {}),
          ...(gpuType ? { gpu_type: gpuType } : {}),
        },
      };
      shape.units.set(key, u);
    }
    return u;
  };
  let records = 0;
  let billed = 0;
  const problems = new RecordProblems();
  try {
    for (const file of input.files) {
      let columns: Columns | null = options.columns ?? null;
      for await (const batch of textLineBatches(file.path, file.display, options.range)) {
        for (let i = 0; i < batch.lines.length; i++) {
          const line = batch.lines[i] as string;
          const n = batch.first + i;
          if (line.length === 0 || line.trim() === '') continue;
          const fields = line.split('|');
          if (columns === null) {
            if (fields[0] === 'JobID') {
              columns = columnsOf(headerColumns(fields, file.display));
              continue;
            }
            columns = columnsOf(Object.fromEntries(SACCT_FIELDS.map((f, k) => [f, k])));
          }
          records++;
          if (records % 100_000 === 0) input.progress?.(`  ${records.toLocaleString('en-US')} records`);
          try {
            const job = readJob(fields, columns, line, file.display, n);
            if (job.id.includes('.')) {
              count('job steps (billed as their allocation)');
              continue;
            }
            const state = stateWord(job.state);
            if (UNBILLED_STATES.has(state)) {
              count(state);
              continue;
            }
            if (!BILLED_STATES.has(state))
              throw new UserError(`unknown job state ${JSON.stringify(job.state)} for job ${job.id}`, {
                location: { file: file.display, line: n },
                hint: `expected a Slurm job state (${[...BILLED_STATES, ...UNBILLED_STATES].join(', ')}); is this sacct output?`,
              });
            if (job.start === 'Unknown' || job.start === 'None' || job.start === '') {
              count('never started');
              continue;
            }
            const noEnd = job.end === 'Unknown' || job.end === 'None' || job.end === '';
            const { start, ended } = runTimes(job, noEnd, zone, file.display, n);
            const end = ended ?? monthEnd;
            if (end < start) throw malformed(file.display, n, 'End', `a time after the job's Start (${job.start})`, job.end);
            if (seen.listed(job.id, start)) {
              count('listed twice (billed once)');
              continue;
            }
            const from = Math.max(start, monthStart);
            const to = Math.min(end, monthEnd);
            if (to <= from) {
              count('ran outside the month');
              continue;
            }
            const tres = cachedTres(job.tres);
            if (tres === null) throw malformed(file.display, n, 'AllocTRES', TRES_EXPECTED, job.tres);
            if (tres.cpu === 0n && tres.memMiB === 0n && !tres.gpus.some((g) => g.count > 0n)) {
              count('no CPU, GPU or memory in AllocTRES');
              continue;
            }
            const shape = shapeOf(job.account, job.partition, job.qos);
            const ms = BigInt(to - from);
            if (!shape.owner) {
              const u = unmapped.get(job.account) ?? { coreMs: 0n, records: 0 };
              u.coreMs += tres.cpu * ms;
              u.records++;
              unmapped.set(job.account, u);
            }
            // sacct's text is ISO 8601 already (UTC): a charge's start and end are it, with a Z.
            const utc = zone === 'UTC';
            const run: Run = {
              job,
              shape,
              from,
              to,
              ms,
              where: `, job ${job.id} on ${shape.partition} (${state})`,
              fromText: utc && from === start ? isoText(job.start) : undefined,
              toText: utc && to === ended ? isoText(job.end) : undefined,
              file: file.display,
              line: n,
            };
            if (tres.cpu > 0n) charge(writer, run, unitOf(shape, 'core-hour', undefined), tres.cpu, HOUR, true, tres.cpuText);
            for (const g of tres.gpus)
              if (g.count > 0n) charge(writer, run, unitOf(shape, 'gpu-hour', g.type || undefined), g.count, HOUR, true, g.text);
            // GB-hours (GiB, as Slurm counts memory): MiB × ms / (1024 × one hour).
            if (tres.memMiB > 0n) charge(writer, run, unitOf(shape, 'gb-hour', undefined), tres.memMiB, HOUR * 1024n, false, tres.memText);
            billed++;
          } catch (e) {
            problems.keep(e); // and on to the next line
          }
        }
        await writer.drain();
      }
    }
    problems.check();
    const next = options.append ? await options.append(seen) : undefined;
    if (next === null) throw new SplitAbandoned();
    await writer.close(next);
  } catch (e) {
    await writer.discard();
    throw e;
  }
  return {
    records,
    billed,
    charges: writer.rows,
    notBilled: Object.entries(notBilled),
    unmapped,
    totals: writer.totals.raw(),
    listings: seen,
  };
}

/** The report of a conversion from its parts, in file order. */
function reportOf(input: ConvertInput, parts: PartResult[]): ConvertReport {
  const notBilled: Record<string, number> = {};
  const unmapped = new Map<string, { coreMs: bigint; records: number }>();
  const totals = new Totals();
  for (const p of parts) {
    for (const [why, n] of p.notBilled) notBilled[why] = (notBilled[why] ?? 0) + n;
    for (const [account, u] of p.unmapped) {
      const sum = unmapped.get(account) ?? { coreMs: 0n, records: 0 };
      sum.coreMs += u.coreMs;
      sum.records += u.records;
      unmapped.set(account, sum);
    }
    totals.merge(p.totals, input.rates.rates);
  }
  return {
    converter: 'slurm',
    period: input.period,
    files: input.files.map((f) => f.display),
    out: input.outDisplay ?? input.out ?? null,
    records: parts.reduce((n, p) => n + p.records, 0),
    billed: parts.reduce((n, p) => n + p.billed, 0),
    charges: parts.reduce((n, p) => n + p.charges, 0),
    not_billed: notBilled,
    warnings: [],
    unmapped: [...unmapped]
      .sort(([a], [b]) => compareText(a, b))
      .map(([account, u]) => ({
        owner: account || '(no account)',
        quantity: quantityText(quantity(u.coreMs, HOUR)),
        unit: 'core-hour',
        records: u.records,
      })),
    rates: totals.rows(),
    currency: input.rates.currency,
    ...totals.sums(),
  };
}

/**
 * A large month is converted in two halves at once, one on a worker thread (two cores make it
 * nearly twice as fast): one plain file of 64 MB or more, UTC. The halves meet at a line break;
 * the second's rows are appended to the first's. Should the halves list the same allocation (a
 * duplicate across the cut), or either half find a problem, the whole is converted again in one
 * pass, which bills it once, or names every problem at its line as numbered in the file.
 */
/** From this size on (OCB_SPLIT_BYTES, for tests). */
const splitBytes = () => Number(process.env.OCB_SPLIT_BYTES ?? 64 << 20);

/**
 * The main thread's share of the file: a little over half, as the worker starts converting about
 * 0.4 s after it (it loads its modules first), of some 8 s for the bench's month.
 */
const FIRST_SHARE = 0.53;

interface SplitPlan {
  cut: number;
  size: number;
  columns: Columns;
}

async function splitPlan(input: ConvertInput): Promise<SplitPlan | null> {
  if (input.files.length !== 1 || (input.timezone ?? 'UTC') !== 'UTC' || availableParallelism() < 2) return null;
  const path = (input.files[0] as { path: string }).path;
  const handle = await open(path, 'r').catch(() => null);
  if (!handle) return null;
  try {
    const { size } = await handle.stat();
    if (size < splitBytes()) return null;
    const head = Buffer.alloc(64 << 10);
    await handle.read(head, 0, head.length, 0);
    if (head[0] === 0x1f && head[1] === 0x8b) return null; // gzip: read it in one pass
    const firstBreak = head.indexOf(10);
    if (firstBreak === -1) return null;
    const first = head.subarray(0, firstBreak).toString('utf8').replace(/\r$/, '');
    if (!first.startsWith('JobID|')) return null;
    const columns = columnsOf(headerColumns(first.split('|'), (input.files[0] as { display: string }).display));
    const probe = Buffer.alloc(64 << 10);
    const near = Math.floor(size * FIRST_SHARE);
    const { bytesRead } = await handle.read(probe, 0, probe.length, near);
    const at = probe.subarray(0, bytesRead).indexOf(10);
    if (at === -1) return null;
    return { cut: near + at + 1, size, columns };
  } finally {
    await handle.close();
  }
}

async function convertSplit(input: ConvertInput, plan: SplitPlan): Promise<ConvertReport | null> {
  const out = input.out ?? join(tmpdir(), `focus-billing-convert-${process.pid}-${Date.now()}.csv`);
  const second = join(dirname(out), `.${basename(out)}.${process.pid}.second-half`);
  const { progress: _progress, ...shared } = input;
  const worker = moduleWorker(import.meta.url, {
    kind: WORKER_KIND,
    input: shared,
    options: { range: { start: plan.cut, end: plan.size }, columns: plan.columns, out: second, header: false },
  });
  const later = new Promise<PartResult | Error>((resolve) => {
    worker.once('message', (m: { result?: PartResult; error?: string }) => resolve(m.result ? revive(m.result) : new Error(m.error)));
    worker.once('error', (e) => resolve(e));
  });
  // Signals reach the main thread only: it removes the worker's files too on Ctrl-C.
  const release = onInterrupt(() => {
    for (const f of readdirSync(dirname(second)))
      if (f.startsWith(`.${basename(second)}`)) rmSync(join(dirname(second), f), { force: true });
    rmSync(second, { force: true });
  });
  let rest: PartResult | Error | undefined;
  try {
    input.progress?.('  converting the two halves of the month at once');
    const first = await convertPart(
      { ...input, out },
      {
        range: { start: 0, end: plan.cut },
        // The second half's rows follow, unless it failed or lists an allocation this one does.
        append: async (mine) => {
          rest = await later;
          return rest instanceof Error || mine.overlaps(rest.listings) ? null : second;
        },
      },
    ).catch(async (e: unknown) => {
      await later;
      // A problem in the first half: the one pass names every problem, on lines as numbered in the file.
      if (e instanceof SplitAbandoned || e instanceof UserError) return null;
      throw e;
    });
    if (!first || !rest || rest instanceof Error) return null;
    if (!input.out) await pipeline(createReadStream(out), process.stdout, { end: false });
    return reportOf(input, [first, rest]);
  } finally {
    await worker.terminate();
    release();
    await rm(second, { force: true });
    if (!input.out) await rm(out, { force: true });
  }
}

/** The halves of a split conversion cannot be joined: it is converted again in one pass. */
class SplitAbandoned extends Error {}

const WORKER_KIND = 'openchargeback:slurm-half';

/** A part's result after the trip from a worker thread (classes arrive as plain objects). */
function revive(r: PartResult): PartResult {
  return { ...r, listings: Listings.from(r.listings) };
}

// On a worker thread started by convertSplit: convert its half and hand the result back.
if (!isMainThread && (workerData as { kind?: string } | null)?.kind === WORKER_KIND) {
  const { input, options } = workerData as { input: ConvertInput; options: PartOptions };
  convertPart(input, options).then(
    (result) => parentPort?.postMessage({ result }),
    (e: unknown) => parentPort?.postMessage({ error: e instanceof Error ? e.message : String(e) }),
  );
}

/** A job's run inside the month, as its charges need it. */
interface Run {
  job: Job;
  shape: Shape;
  from: number;
  to: number;
  ms: bigint;
  /** The end of each charge's description: ", job 123 on gpu (COMPLETED)". */
  where: string;
  /** from and to as FOCUS text, where sacct's own text gives them (UTC). */
  fromText: string | undefined;
  toText: string | undefined;
  file: string;
  line: number;
}

/** Charges for `amount` units held over the run: quantity = amount × ms / per (an hour, or an hour of GiB in MiB). */
function charge(writer: FocusWriter, run: Run, u: ShapeUnit, amount: bigint, per: bigint, required: boolean, what: string): void {
  if (u.cell === undefined) u.cell = writer.tagsCell(u.tags);
  const { from, to, job } = run;
  const rates = u.rates;
  const only = rates.length === 1 ? (rates[0] as PricedRate) : undefined;
  if (only && only.from <= from && only.to >= to) {
    // One rate for the whole run: the common case, without the splitting.
    writer.add({
      start: from,
      end: to,
      startText: run.fromText,
      endText: run.toText,
      rate: only,
      quantity: quantity(amount * run.ms, per),
      resourceId: job.id,
      resourceName: job.name,
      description: what + run.where,
      tags: u.tags,
      tagsCell: u.cell,
      at: run,
    });
    return;
  }
  // Memory is billed only where a rate asks for it; CPUs and GPUs always need a rate.
  if (!required && !rates.some((r) => r.from < to && r.to > from)) return;
  const { shape } = run;
  const attrs = {
    partition: shape.partition,
    account: shape.account.toLowerCase() || undefined,
    qos: shape.qos?.toLowerCase(),
    gpu_type: u.gpuType,
  };
  const record = () => `job ${job.id} (account ${job.account || '(none)'}, partition ${shape.partition})`;
  for (const s of splitSpan(rates, { unit: u.unit, attrs, start: from, end: to, record, at: { file: run.file, line: run.line } }))
    writer.add({
      start: s.start,
      end: s.end,
      rate: s.rate,
      quantity: quantity(amount * BigInt(s.end - s.start), per),
      resourceId: job.id,
      resourceName: job.name,
      description: what + run.where,
      tags: u.tags,
      tagsCell: u.cell,
      at: run,
    });
}

/**
 * The allocations seen, by JobID and Start: a requeued job is listed again with a new Start (and
 * billed again), the same allocation listed twice is billed once. Plain numeric job ids (most of
 * them) are kept as numbers, which costs a million jobs far less than a million strings.
 */
/** A job id kept as a number: digits, no leading zero, exact as a double. */
const NUMERIC_ID = /^(0|[1-9]\d{0,14})$/;

class Listings {
  // Numeric ids in an open-addressing table of doubles (id, then Start): no object per job.
  private table: Float64Array = new Float64Array(1 << 17);
  private size = 0;
  private other = new Set<string>();

  /** Listings sent from a worker thread, as a Listings again. */
  static from(plain: Listings): Listings {
    const l = new Listings();
    const p = plain as unknown as { table: Float64Array; size: number; other: Set<string> };
    l.table = p.table;
    l.size = p.size;
    l.other = p.other;
    return l;
  }

  /** Whether some allocation is listed in both (the halves of a file). */
  overlaps(later: Listings): boolean {
    for (const key of later.other) {
      if (this.other.has(key)) return true;
      const bar = key.lastIndexOf('|');
      const id = key.slice(0, bar);
      if (NUMERIC_ID.test(id) && this.hasFirst(Number(id) + 1, Number(key.slice(bar + 1)))) return true;
    }
    const t = later.table;
    for (let k = 0; k < t.length; k += 2) {
      const n = t[k] as number;
      if (n === 0) continue;
      const start = t[k + 1] as number;
      if (this.hasFirst(n, start) || this.other.has(`${n - 1}|${start}`)) return true;
    }
    return false;
  }

  /** Whether numeric id n (stored + 1) was first listed with this Start. */
  private hasFirst(n: number, start: number): boolean {
    const at = this.find(n);
    return this.table[at] === n && this.table[at + 1] === start;
  }

  /** Whether this allocation was seen before (and remembers it). */
  listed(id: string, start: number): boolean {
    if (NUMERIC_ID.test(id)) {
      const n = Number(id) + 1; // 0 marks an empty slot
      const found = this.find(n);
      if (this.table[found] === 0) {
        this.insert(n, start);
        return false;
      }
      if (this.table[found + 1] === start) return true;
    }
    const key = `${id}|${start}`;
    if (this.other.has(key)) return true;
    this.other.add(key);
    return false;
  }

  /** The slot (even index) holding id n, or the empty one where it belongs. */
  private find(n: number): number {
    const slots = this.table.length / 2;
    let i = (Math.imul((n % 2147483647) | 0, 0x9e3779b1) >>> 0) % slots;
    while (this.table[2 * i] !== 0 && this.table[2 * i] !== n) i = (i + 1) % slots;
    return 2 * i;
  }

  private insert(n: number, start: number): void {
    if (2 * (this.size + 1) > this.table.length / 2) {
      const old = this.table;
      this.table = new Float64Array(old.length * 2);
      for (let k = 0; k < old.length; k += 2) {
        if (old[k] === 0) continue;
        const at = this.find(old[k] as number);
        this.table[at] = old[k] as number;
        this.table[at + 1] = old[k + 1] as number;
      }
    }
    const at = this.find(n);
    this.table[at] = n;
    this.table[at + 1] = start;
    this.size++;
  }
}

/** sacct's 2025-03-30T10:00:00 as FOCUS writes it (with a Z), when it has that form. */
function isoText(text: string): string | undefined {
  return text.length === 19 && text.charCodeAt(10) === 84 ? `${text}Z` : undefined;
}

/**
 * A job's Start and, unless it runs on, End as instants. In a zone whose clocks change (not
 * UTC), a time they skipped is refused: sacct prints none, so the zone is not the one sacct ran
 * in. A time they read twice, in the hour after they go back, is told by Elapsed where sacct gives
 * it (01:30 to 01:45 with Elapsed 01:15:00 ran from before the change to after it); without it,
 * it is the earlier of the two.
 */
function runTimes(job: Job, noEnd: boolean, zone: string, file: string, line: number): { start: number; ended: number | null } {
  const startText = 'a time such as 2025-03-30T10:00:00';
  const endText = 'a time such as 2025-03-30T12:00:00, or Unknown for a running job';
  if (zone === 'UTC') {
    const start = sacctTime(job.start);
    if (start === null) throw malformed(file, line, 'Start', startText, job.start);
    const ended = noEnd ? null : sacctTime(job.end);
    if (ended === null && !noEnd) throw malformed(file, line, 'End', endText, job.end);
    return { start, ended };
  }
  const instants = (text: string, field: string, expected: string): number[] => {
    const all = wallTimes(text, zone);
    if (all === null) throw malformed(file, line, field, expected, text);
    if (all.length === 0)
      throw new UserError(`${field} ${text} is no time in ${zone}: its clocks skipped that hour`, {
        location: { file, line },
        hint: "sacct prints only times its clocks showed: pass the zone sacct ran in as --timezone (in the app, the file's Time zone field), or take the output with TZ=UTC and leave --timezone out",
      });
    return all;
  };
  const starts = instants(job.start, 'Start', startText);
  const first = starts[0] as number;
  if (noEnd) return { start: first, ended: null };
  const ends = instants(job.end, 'End', endText);
  const elapsed = elapsedMs(job.elapsed);
  const pairs = starts.flatMap((start) => ends.map((ended) => ({ start, ended })));
  return (
    (elapsed === null ? undefined : pairs.find((p) => p.ended - p.start === elapsed)) ??
    pairs.find((p) => p.ended >= p.start) ?? { start: first, ended: ends[0] as number }
  );
}

/** sacct's Elapsed ([D-]HH:MM:SS, or MM:SS) in ms, or null when it is absent or not so. */
function elapsedMs(text: string | undefined): number | null {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(text ?? '');
  if (!m) return null;
  const [, d = '0', h = '0', mi = '0', s = '0'] = m;
  return (((Number(d) * 24 + Number(h)) * 60 + Number(mi)) * 60 + Number(s)) * 1000;
}

/** A sacct time in UTC: 2025-03-30T10:00:00 read by hand (a million of them), anything else as wallTime reads it. */
function sacctTime(text: string): number | null {
  if (text.length === 19 && text.charCodeAt(10) === 84 /* T */) {
    const d = (k: number) => text.charCodeAt(k) - 48;
    const ok = (k: number) => d(k) >= 0 && d(k) <= 9;
    if (ok(0) && ok(1) && ok(2) && ok(3) && ok(5) && ok(6) && ok(8) && ok(9) && ok(11) && ok(12) && ok(14) && ok(15) && ok(17) && ok(18)) {
      if (text.charCodeAt(4) === 45 && text.charCodeAt(7) === 45 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58) {
        const y = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
        const mo = d(5) * 10 + d(6);
        const day = d(8) * 10 + d(9);
        const h = d(11) * 10 + d(12);
        const mi = d(14) * 10 + d(15);
        const sec = d(17) * 10 + d(18);
        if (mo >= 1 && mo <= 12 && day >= 1 && day <= 28 && h <= 23 && mi <= 59 && sec <= 59) return Date.UTC(y, mo - 1, day, h, mi, sec);
      }
    }
  }
  return wallTime(text);
}

interface Job {
  id: string;
  name: string;
  account: string;
  partition: string;
  state: string;
  start: string;
  end: string;
  tres: string;
  qos?: string;
  /** Elapsed, where the header names it (it tells a time the clocks read twice). */
  elapsed?: string;
}

function headerColumns(fields: string[], display: string): Record<string, number> {
  const columns = Object.fromEntries(fields.map((f, i) => [f, i]));
  const missing = SACCT_FIELDS.filter((f) => f !== 'Elapsed' && columns[f] === undefined);
  if (missing.length)
    throw new UserError(`sacct header lacks ${missing.join(', ')}`, {
      location: { file: display, line: 1 },
      hint: `take it with sacct --parsable2 --format=${SACCT_FIELDS.join(',')}`,
    });
  return columns;
}

/** Where each field is: the header's order, or the default --format's. */
interface Columns {
  count: number;
  id: number;
  name: number;
  account: number;
  partition: number;
  state: number;
  start: number;
  end: number;
  tres: number;
  qos: number;
  elapsed: number;
}

function columnsOf(names: Record<string, number>): Columns {
  const at = (name: string) => names[name] ?? -1;
  return {
    count: Object.keys(names).length,
    id: at('JobID'),
    name: at('JobName'),
    account: at('Account'),
    partition: at('Partition'),
    state: at('State'),
    start: at('Start'),
    end: at('End'),
    tres: at('AllocTRES'),
    qos: at('QOS'),
    elapsed: at('Elapsed'),
  };
}

/** A State field's state: its first word ("CANCELLED by 1001" is CANCELLED). */
function stateWord(text: string): string {
  const t = text.trim();
  const space = t.indexOf(' ');
  return space === -1 ? t : t.slice(0, space);
}

const JOB_ID = /^\d+([_+][\w[\]\-,]+)?(\.\w+)?$/;

function readJob(fields: string[], columns: Columns, line: string, file: string, lineNo: number): Job {
  const at = { file, line: lineNo }; // where an error points
  let f = fields;
  if (f.length > columns.count && columns.name >= 0) {
    // A job name with "|" in it (sacct does not escape it): the extra fields are the name's,
    // if the fields after it then read as sacct's (a state where State is). Otherwise the line
    // has fields the header does not, and says so, rather than that its state is a time.
    const extra = f.length - columns.count;
    const i = columns.name;
    const joined = [...f.slice(0, i), f.slice(i, i + extra + 1).join('|'), ...f.slice(i + extra + 1)];
    const state = stateWord(joined[columns.state] ?? '');
    if (columns.state < 0 || BILLED_STATES.has(state) || UNBILLED_STATES.has(state)) f = joined;
  }
  if (f.length !== columns.count)
    throw new UserError(`malformed sacct line: expected ${columns.count} fields separated by |, found ${fields.length}`, {
      location: at,
      hint: `take it with sacct --allusers --allocations --parsable2 --format=${SACCT_FIELDS.join(',')}; found ${JSON.stringify(line.slice(0, 80))}`,
    });
  const get = (i: number) => {
    const v = i < 0 ? '' : (f[i] ?? '');
    // Trimmed, but only where there is something to trim (a million lines).
    return v.length > 0 &&
      (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32 || v.charCodeAt(0) > 126 || v.charCodeAt(v.length - 1) > 126)
      ? v.trim()
      : v;
  };
  const job = {
    id: get(columns.id),
    name: get(columns.name),
    account: get(columns.account),
    partition: get(columns.partition),
    state: get(columns.state),
    start: get(columns.start),
    end: get(columns.end),
    tres: get(columns.tres),
    qos: columns.qos < 0 ? undefined : get(columns.qos) || undefined,
    elapsed: columns.elapsed < 0 ? undefined : get(columns.elapsed),
  };
  if (!JOB_ID.test(job.id))
    throw new UserError(`malformed sacct line: expected a job id such as 123, 123_4 or 123+0, found ${JSON.stringify(job.id)}`, {
      location: at,
      hint: `the first field is JobID: take it with sacct --parsable2 --format=${SACCT_FIELDS.join(',')}`,
    });
  return job;
}

function malformed(file: string, line: number, field: string, expected: string, found: string): UserError {
  const at = { file, line };
  return new UserError(`malformed sacct line: ${field}: expected ${expected}, found ${JSON.stringify(found)}`, {
    location: at,
    hint:
      field === 'AllocTRES'
        ? 'AllocTRES lists what the allocation holds, such as billing=4,cpu=4,mem=16G,gres/gpu:a100=1'
        : 'sacct prints times as YYYY-MM-DDTHH:MM:SS; take the output with --parsable2',
  });
}
