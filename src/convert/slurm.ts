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
import { UserError } from '../core/errors.ts';
import type { Rates } from '../rates/rates.ts';
import { anyRate, priceSpan } from '../rates/rates.ts';
import type { Unit } from '../rates/schema.ts';
import { type AccountsFile, accountOwner } from './accounts.ts';
import { type Charge, type ConvertReport, FocusWriter, quantity, quantityText } from './focus-writer.ts';
import { textLines } from './lines.ts';
import { periodSpan, wallTime } from './time.ts';

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
  /** GPUs by type ('' for untyped). */
  gpus: Map<string, bigint>;
  /** Memory in MiB. */
  memMiB: bigint;
}

const MEM_UNITS: Record<string, bigint> = { K: 1n, M: 1024n, G: 1024n * 1024n, T: 1024n * 1024n * 1024n, P: 1024n ** 4n };

/** AllocTRES (`billing=4,cpu=4,gres/gpu:a100=2,mem=16G,node=1`): what the allocation holds. */
export function parseTres(text: string): Tres | null {
  const tres: Tres = { cpu: 0n, gpus: new Map(), memMiB: 0n };
  const typed = new Map<string, bigint>();
  let untyped = 0n;
  if (!text) return tres;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === 'cpu') {
      if (!/^\d+$/.test(value)) return null;
      tres.cpu = BigInt(value);
    } else if (key === 'mem') {
      const m = /^(\d+(?:\.\d+)?)([KMGTP])?$/.exec(value);
      if (!m) return null;
      // In KiB (exact for fractional values such as 1.50G), then MiB rounded up.
      const [whole, frac = ''] = (m[1] as string).split('.');
      const scale = 10n ** BigInt(frac.length);
      const kib = (BigInt(`${whole}${frac}`) * (MEM_UNITS[m[2] ?? 'M'] as bigint) * 1024n) / scale / 1024n;
      tres.memMiB = (kib + 1023n) / 1024n;
    } else if (key === 'gres/gpu') {
      if (!/^\d+$/.test(value)) return null;
      untyped = BigInt(value);
    } else if (key.startsWith('gres/gpu:')) {
      if (!/^\d+$/.test(value)) return null;
      typed.set(key.slice('gres/gpu:'.length), BigInt(value));
    }
  }
  // Slurm lists GPUs both in all and by type: count the typed ones, or the total when none is typed.
  if (typed.size > 0) tres.gpus = typed;
  else if (untyped > 0n) tres.gpus.set('', untyped);
  return tres;
}

const HOUR = 3_600_000n;

export async function convertSlurm(input: ConvertInput): Promise<ConvertReport> {
  const [monthStart, monthEnd] = periodSpan(input.period);
  const zone = input.timezone ?? 'UTC';
  const writer = await FocusWriter.open(input.period, input.rates.currency, input.provider ?? 'Research Computing', input.out);
  const notBilled: Record<string, number> = {};
  const count = (why: string) => {
    notBilled[why] = (notBilled[why] ?? 0) + 1;
  };
  const unmapped = new Map<string, { coreMs: bigint; records: number }>();
  const seen = new Set<string>();
  let records = 0;
  let billed = 0;
  try {
    for (const file of input.files) {
      let columns: Record<string, number> | null = null;
      for await (const [line, n] of textLines(file.path, file.display)) {
        if (line.trim() === '') continue;
        const fields = line.split('|');
        if (columns === null) {
          if (fields[0] === 'JobID') {
            columns = headerColumns(fields, file.display);
            continue;
          }
          columns = Object.fromEntries(SACCT_FIELDS.map((f, i) => [f, i]));
        }
        records++;
        const at = { file: file.display, line: n };
        const job = readJob(fields, columns, line, at);
        if (job.id.includes('.')) {
          count('job steps (billed as their allocation)');
          continue;
        }
        const state = job.state.split(' ')[0] as string;
        if (UNBILLED_STATES.has(state)) {
          count(state);
          continue;
        }
        if (!BILLED_STATES.has(state))
          throw new UserError(`unknown job state ${JSON.stringify(job.state)} for job ${job.id}`, {
            location: at,
            hint: `expected a Slurm job state (${[...BILLED_STATES, ...UNBILLED_STATES].join(', ')}); is this sacct output?`,
          });
        if (job.start === 'Unknown' || job.start === 'None' || job.start === '') {
          count('never started');
          continue;
        }
        const start = wallTime(job.start, zone);
        if (start === null) throw malformed(at, 'Start', 'a time such as 2025-03-30T10:00:00', job.start);
        const ended = job.end === 'Unknown' || job.end === 'None' || job.end === '' ? null : wallTime(job.end, zone);
        if (ended === null && state !== 'RUNNING' && state !== 'SUSPENDED' && state !== 'REQUEUED' && !/^(Unknown|None|)$/.test(job.end))
          throw malformed(at, 'End', 'a time such as 2025-03-30T12:00:00, or Unknown for a running job', job.end);
        const end = ended ?? monthEnd;
        if (end < start) throw malformed(at, 'End', `a time after the job's Start (${job.start})`, job.end);
        const key = `${job.id}|${start}`;
        if (seen.has(key)) {
          count('listed twice (billed once)');
          continue;
        }
        seen.add(key);
        const from = Math.max(start, monthStart);
        const to = Math.min(end, monthEnd);
        if (to <= from) {
          count('ran outside the month');
          continue;
        }
        const tres = parseTres(job.tres);
        if (tres === null) throw malformed(at, 'AllocTRES', 'TRES such as cpu=4,mem=16G,gres/gpu:a100=1', job.tres);
        const owner = job.account ? accountOwner(input.accounts, job.account) : undefined;
        const ms = BigInt(to - from);
        if (!owner) {
          const u = unmapped.get(job.account) ?? { coreMs: 0n, records: 0 };
          u.coreMs += tres.cpu * ms;
          u.records++;
          unmapped.set(job.account, u);
        }
        const attrs = { partition: job.partition.split(',')[0], account: job.account || undefined, qos: job.qos };
        const record = () => `${file.display}:${n}: job ${job.id} (account ${job.account || '(none)'}, partition ${attrs.partition})`;
        const tags: Record<string, string> = {
          ...(owner ?? {}),
          slurm_account: job.account,
          partition: attrs.partition ?? '',
          ...(job.qos ? { qos: job.qos } : {}),
        };
        const charges: Charge[] = [];
        /** Charges for `amount` units held over the run: quantity = amount × ms / per (an hour, or an hour of GiB in MiB). */
        const add = (
          unit: Unit,
          amount: bigint,
          per: bigint,
          extra: Record<string, string | undefined>,
          required: boolean,
          what: string,
        ) => {
          if (amount === 0n) return;
          // Memory is billed only where a rate asks for it; CPUs and GPUs always need a rate.
          if (!required && !anyRate(input.rates, 'slurm', unit, { ...attrs, ...extra }, from, to)) return;
          for (const s of priceSpan(input.rates, 'slurm', unit, { ...attrs, ...extra }, from, to, record)) {
            charges.push({
              start: s.start,
              end: s.end,
              rate: s.rate,
              quantity: quantity(amount * BigInt(s.end - s.start), per),
              resourceId: job.id,
              resourceName: job.name,
              description: `${what}, job ${job.id} on ${attrs.partition} (${state})`,
              tags: { ...tags, ...(extra.gpu_type ? { gpu_type: extra.gpu_type } : {}) },
            });
          }
        };
        add('core-hour', tres.cpu, HOUR, {}, true, `${tres.cpu} CPU${tres.cpu === 1n ? '' : 's'}`);
        for (const [type, gpus] of tres.gpus)
          add(
            'gpu-hour',
            gpus,
            HOUR,
            { gpu_type: type || undefined },
            true,
            `${gpus} ${type ? `${type} ` : ''}GPU${gpus === 1n ? '' : 's'}`,
          );
        // GB-hours (GiB, as Slurm counts memory): MiB × ms / (1024 × one hour).
        add('gb-hour', tres.memMiB, HOUR * 1024n, {}, false, `${tres.memMiB} MiB memory`);
        billed++;
        for (const c of charges) await writer.write(c);
        if (records % 100_000 === 0) input.progress?.(`  ${records.toLocaleString('en-US')} records`);
      }
    }
    await writer.close();
  } catch (e) {
    await writer.discard();
    throw e;
  }
  return {
    converter: 'slurm',
    period: input.period,
    files: input.files.map((f) => f.display),
    out: input.outDisplay ?? input.out ?? null,
    records,
    billed,
    charges: writer.rows,
    not_billed: notBilled,
    unmapped: [...unmapped]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([account, u]) => ({
        owner: account || '(no account)',
        quantity: quantityText(quantity(u.coreMs, HOUR)),
        unit: 'core-hour',
        records: u.records,
      })),
    rates: writer.totals.rows(),
    currency: input.rates.currency,
    ...writer.totals.sums(),
  };
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

function readJob(fields: string[], columns: Record<string, number>, line: string, at: { file: string; line: number }): Job {
  const expected = Object.keys(columns).length;
  let f = fields;
  if (f.length > expected && columns.JobName !== undefined) {
    // A job name with "|" in it (sacct does not escape it): the extra fields are the name's.
    const extra = f.length - expected;
    const i = columns.JobName;
    f = [...f.slice(0, i), f.slice(i, i + extra + 1).join('|'), ...f.slice(i + extra + 1)];
  }
  if (f.length !== expected)
    throw new UserError(`malformed sacct line: expected ${expected} fields separated by |, found ${fields.length}`, {
      location: at,
      hint: `take it with sacct --allusers --allocations --parsable2 --format=${SACCT_FIELDS.join(',')}; found ${JSON.stringify(line.slice(0, 80))}`,
    });
  const get = (name: string) => (columns[name] === undefined ? '' : (f[columns[name] as number] ?? '').trim());
  const job = {
    id: get('JobID'),
    name: get('JobName'),
    account: get('Account'),
    partition: get('Partition'),
    state: get('State'),
    start: get('Start'),
    end: get('End'),
    tres: get('AllocTRES'),
    qos: columns.QOS === undefined ? undefined : get('QOS') || undefined,
  };
  if (!/^\d+([_+][\w[\]\-,]+)?(\.\w+)?$/.test(job.id))
    throw new UserError(`malformed sacct line: expected a job id such as 123, 123_4 or 123+0, found ${JSON.stringify(job.id)}`, {
      location: at,
      hint: `the first field is JobID: take it with sacct --parsable2 --format=${SACCT_FIELDS.join(',')}`,
    });
  return job;
}

function malformed(at: { file: string; line: number }, field: string, expected: string, found: string): UserError {
  return new UserError(`malformed sacct line: ${field}: expected ${expected}, found ${JSON.stringify(found)}`, {
    location: at,
    hint: 'sacct prints times as YYYY-MM-DDTHH:MM:SS; take the output with --parsable2',
  });
}
