/**
 * Storage quota reports to FOCUS. A path's use for the month is the average of its daily samples
 * in the month (a report taken once, as `isi` and Qumulo give, counts for the whole month).
 * Paths map to owners by accounts.yaml `storage:` entries (globs, with an optional tier); a
 * project's paths on one rate are added up, the rate's free allowance (`free_tb`) is taken off,
 * and the rest is billed in TB-months (10^12 bytes) or GB-months (10^9), as storage is sold.
 */
import { showValue, UserError } from '../core/errors.ts';
import { parseDecimal, pow10, SCALE } from '../core/money.ts';
import { compareText } from '../domain/order.ts';
import { pathSpelling } from '../domain/path-spelling.ts';
import { anyRate, priceSpan, type Rates } from '../rates/rates.ts';
import { type AccountsFile, storageOwner } from './accounts.ts';
import { type ConvertReport, FocusWriter, quantity, quantityText } from './focus-writer.ts';
import { csvRecord, readUtf8, separatorError, textLines } from './lines.ts';
import { RecordProblems } from './problems.ts';
import { calendarDay, periodSpan } from './time.ts';

export const STORAGE_FORMATS = ['isilon', 'qumulo', 'csv'] as const;
export type StorageFormat = (typeof STORAGE_FORMATS)[number];

/**
 * How a report's paths under one another count: `subtract` (a path's use holds the use of every
 * path under it, as directory quotas, du, ZFS and Ceph count) or `separate` (each path's bytes
 * are its own, as GPFS independent filesets count).
 */
export const NESTED_MODES = ['subtract', 'separate'] as const;
export type NestedMode = (typeof NESTED_MODES)[number];

/** A nested mode as given (`name` is the option or field that gave it); none given is the default, undefined. */
export function nestedMode(value: unknown, name: string): NestedMode | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const mode = NESTED_MODES.find((m) => m === value);
  if (mode === undefined) throw new UserError(`${name} ${JSON.stringify(value)}: expected ${NESTED_MODES.join(' or ')}`);
  return mode;
}

export interface StorageInput {
  files: { path: string; display: string }[];
  period: string;
  format: StorageFormat;
  /** Default `subtract`. */
  nested?: NestedMode;
  rates: Rates;
  accounts: AccountsFile;
  out?: string;
  outDisplay?: string;
  provider?: string;
}

/** A path's samples: bytes used, by day (a snapshot report has one, for the whole month). */
interface PathUse {
  path: string;
  samples: Map<string, bigint>;
  /** Where each day's sample was read. */
  at: Map<string, { file: string; line?: number }>;
  /** The reported paths under this one whose use was taken off its own (`subtract`). */
  inside: string[];
  where: string;
  /** Where its first sample was read, and how a message names that sample where the location has no line ("quota 3: "), or ''. */
  location: { file: string; line?: number };
  label: string;
}

/** The most bytes a file system reports (statfs and quota counts are 64-bit): a larger sample is no storage's use. */
const MAX_BYTES = 2n ** 64n;
const TB = 10n ** 12n;
const GB = 10n ** 9n;

export async function convertStorage(input: StorageInput): Promise<ConvertReport> {
  const uses = new Map<string, PathUse>();
  const notBilled: Record<string, number> = {};
  let records = 0;
  const problems = new RecordProblems();
  for (const file of input.files) {
    const read = input.format === 'csv' ? readCsv : readJsonReport;
    for (const r of await read(file, input.period, input.format, problems)) {
      records++;
      if (r.skip) {
        notBilled[r.skip] = (notBilled[r.skip] ?? 0) + 1;
        continue;
      }
      const path = storagePath(r.path);
      if (path instanceof UserError) {
        problems.keep(new UserError(path.message, { location: r.location, hint: path.hint }));
        continue;
      }
      const use = uses.get(path) ?? {
        path,
        samples: new Map(),
        at: new Map(),
        inside: [],
        where: r.where,
        location: r.location,
        label: r.label,
      };
      if (use.samples.has(r.day)) {
        problems.keep(
          r.day === REPORT_DAY
            ? new UserError(`${path} is listed twice in the quota reports (first in ${use.where})`, {
                location: r.location,
                hint: 'give one quota report per month: its use is billed for the whole month',
              })
            : new UserError(`${path} is sampled twice on ${r.day}: expected one sample a day`, {
                location: r.location,
                hint: 'keep one sample per path and day (the day’s last, say)',
              }),
        );
        continue;
      }
      use.samples.set(r.day, r.bytes);
      use.at.set(r.day, r.location);
      uses.set(path, use);
    }
  }
  if (records === 0) {
    problems.check();
    throw new UserError(`no quota records in ${input.files.map((f) => f.display).join(', ')}`, { hint: 'is this the right --format?' });
  }
  if ((input.nested ?? 'subtract') === 'subtract') ownUse(uses, problems);

  // Group paths by owner (project, or the path itself when nobody owns it) and tier.
  const groups = new Map<string, { owner: ReturnType<typeof storageOwner>; tier?: string; paths: PathUse[] }>();
  for (const use of [...uses.values()].sort((a, b) => compareText(a.path, b.path))) {
    const owner = storageOwner(input.accounts, use.path);
    const key = JSON.stringify(owner ? [owner.pi_email, owner.project_id, owner.fund_org, owner.tier ?? ''] : ['', use.path]);
    const g = groups.get(key) ?? { owner, tier: owner?.tier, paths: [] };
    g.paths.push(use);
    groups.set(key, g);
  }

  const [monthStart, monthEnd] = periodSpan(input.period);
  const month = BigInt(monthEnd - monthStart);
  const writer = await FocusWriter.open(input.period, input.rates.currency, input.provider ?? 'Research Computing', input.out);
  const unmapped: ConvertReport['unmapped'] = [];
  let billed = 0;
  try {
    for (const g of groups.values()) {
      try {
        // Average bytes of each path (exact: sum × (1 / samples) kept as a fraction), then the group's sum.
        let num = 0n;
        let den = 1n;
        for (const p of g.paths) {
          const sum = [...p.samples.values()].reduce((a, b) => a + b, 0n);
          const n = BigInt(p.samples.size);
          num = num * n + sum * den;
          den *= n;
        }
        const first = g.paths[0] as PathUse;
        const record = () => `${first.label}${g.paths.map((p) => p.path).join(', ')}`;
        const label = g.owner ? `${g.owner.project_id}${g.tier ? ` (${g.tier})` : ''}` : first.path;
        if (!g.owner)
          unmapped.push({ owner: first.path, quantity: quantityText(quantity(num, den * TB)), unit: 'tb-month', records: g.paths.length });
        // Rates: by tier and path; a group of several paths takes the rate of its first.
        const attrs = { tier: g.tier, path: first.path };
        const unit = pickUnit(input.rates, attrs, monthStart, monthEnd);
        for (const s of priceSpan(input.rates, 'storage', { unit, attrs, start: monthStart, end: monthEnd, record, at: first.location })) {
          const per = s.rate.unit === 'tb-month' ? TB : GB;
          const free = s.rate.free_tb === undefined ? 0n : (parseDecimal(s.rate.free_tb) * TB) / pow10(SCALE);
          // For the part of the month this rate covers: all the use (its list price), and the use
          // above the allowance (what is billed), so the allowance shows as a discount.
          const fraction = (bytes: bigint) => quantity(bytes * BigInt(s.end - s.start), den * per * month);
          const q = fraction(num);
          if (q === 0n) continue;
          const above = num - free * den;
          await writer.write({
            start: s.start,
            end: s.end,
            rate: s.rate,
            quantity: q,
            billedQuantity: above > 0n ? fraction(above) : 0n,
            resourceId: g.paths.map((p) => p.path).join(' '),
            resourceName: label,
            description: `${describeAverage(g.paths)}${s.rate.free_tb ? `, less ${s.rate.free_tb} TB free` : ''}`,
            tags: { ...(g.owner ? withoutTier(g.owner) : {}), ...(g.tier ? { storage_tier: g.tier } : {}) },
          });
        }
        billed += g.paths.length;
      } catch (e) {
        problems.keep(e); // and on to the next path
      }
    }
    problems.check();
    await writer.close();
  } catch (e) {
    await writer.discard();
    throw e;
  }
  return {
    converter: 'storage',
    period: input.period,
    files: input.files.map((f) => f.display),
    out: input.outDisplay ?? input.out ?? null,
    records,
    billed,
    charges: writer.rows,
    not_billed: notBilled,
    warnings: [],
    unmapped,
    rates: writer.totals.rows(),
    currency: input.rates.currency,
    ...writer.totals.sums(),
  };
}

function withoutTier(o: NonNullable<ReturnType<typeof storageOwner>>) {
  const { tier: _tier, ...owner } = o;
  return owner;
}

/** The unit this storage is priced in: GB-months where a rate asks for that, else TB-months. */
function pickUnit(rates: Rates, attrs: { tier?: string; path: string }, start: number, end: number): 'tb-month' | 'gb-month' {
  return !anyRate(rates, 'storage', 'tb-month', attrs, start, end) && anyRate(rates, 'storage', 'gb-month', attrs, start, end)
    ? 'gb-month'
    : 'tb-month';
}

function describeAverage(paths: PathUse[]): string {
  const samples = paths.reduce((n, p) => n + p.samples.size, 0);
  const inside = paths.reduce((n, p) => n + p.inside.length, 0);
  const own =
    inside === 0 ? '' : `, less ${inside === 1 ? 'the path' : `${inside} paths`} inside it billed on ${inside === 1 ? 'its' : 'their'} own`;
  return `${samples === paths.length ? 'use at the report' : `average of ${samples} daily samples`}${own}`;
}

/** Paths for a message: the first three, and how many more. */
const listed = (paths: string[]) => (paths.length > 3 ? `${paths.slice(0, 3).join(', ')} and ${paths.length - 3} more` : paths.join(', '));

/**
 * A report's path as accounts.yaml and rates.yaml globs match it (pathSpelling). A `.` or `..`
 * is refused: /projects/x/../y is y, not a path inside x, and a file system reports no such path.
 */
function storagePath(raw: string): string | UserError {
  const path = pathSpelling(raw);
  if (path.split('/').some((part) => part === '.' || part === '..'))
    return new UserError(`path ${raw}: a . or .. in it names another path than it seems (/p/y/../x is /p/x, not a path inside /p/y)`, {
      hint: 'give each path as the file system reports it, from the root (/ifs/projects/x, not /ifs/projects/y/../x)',
    });
  return path;
}

/**
 * Each byte billed once, to the innermost reported path that holds it. A directory quota's use
 * counts every file below it, nested quotas' files too (as do du, ZFS's `used` and Ceph's
 * rbytes), so a path's own use is its use less that of the nearest reported paths under it, day
 * by day: a lab's quota and its project's quota inside it are not both billed for the project's
 * bytes. A path whose use is less than that of the paths under it, on a day both were sampled,
 * cannot be a use that holds theirs: that is a problem at its line, not a guess.
 */
function ownUse(uses: Map<string, PathUse>, problems: RecordProblems): void {
  const full = new Map([...uses.values()].map((u) => [u.path, new Map(u.samples)]));
  for (const use of uses.values()) {
    let dir = use.path;
    let holder: PathUse | undefined;
    // Up one folder at a time, to the root (a quota on / holds every other path).
    while (holder === undefined && dir !== '/' && dir.includes('/')) {
      const cut = dir.lastIndexOf('/');
      dir = cut === 0 ? '/' : dir.slice(0, cut);
      holder = uses.get(dir);
    }
    if (holder === undefined) continue;
    holder.inside.push(use.path);
    for (const [day, bytes] of full.get(use.path) ?? []) {
      const left = holder.samples.get(day);
      if (left !== undefined) holder.samples.set(day, left - bytes);
    }
  }
  for (const use of uses.values()) {
    if (use.inside.length === 0) continue;
    for (const [day, left] of use.samples) {
      if (left >= 0n) continue;
      const held = full.get(use.path)?.get(day) ?? 0n;
      const when = day === REPORT_DAY ? 'in the quota report' : `on ${day}`;
      problems.keep(
        new UserError(
          `${use.label}${use.path} uses ${held} bytes ${when}, less than the ${held - left} bytes of the paths inside it (${listed(use.inside)})`,
          {
            location: use.at.get(day) ?? use.location,
            hint: "a path is taken to hold the use of the paths under it, as directory quotas and du count it; where each path counts only its own bytes (GPFS filesets), pass --nested separate (in the app, the file's Nested paths choice)",
          },
        ),
      );
      use.samples.set(day, 0n);
    }
  }
}

interface Sample {
  path: string;
  day: string;
  bytes: bigint;
  where: string;
  location: { file: string; line?: number };
  /** See PathUse. */
  label: string;
  /** Not billed, and why. */
  skip?: string;
}

const CSV_HEADER = ['date', 'path', 'used_bytes'];
/** The day of a quota report's sample, which counts for the whole month. */
const REPORT_DAY = 'report';

async function readCsv(
  file: { path: string; display: string },
  period: string,
  _format: StorageFormat,
  problems: RecordProblems,
): Promise<Sample[]> {
  const out: Sample[] = [];
  let header = true;
  for await (const [line, n] of textLines(file.path, file.display)) {
    if (line.trim() === '') continue;
    const at = { file: file.display, line: n };
    if (header) {
      const separated = separatorError(line, at, (names) => names.join(',') === CSV_HEADER.join(','));
      if (separated) throw separated;
      const fields = csvRecord(line, at);
      header = false;
      if (fields.map((f) => f.trim().toLowerCase()).join(',') !== CSV_HEADER.join(','))
        throw new UserError(`expected the columns ${CSV_HEADER.join(',')}, found ${JSON.stringify(line.slice(0, 80))}`, {
          location: at,
          hint: 'one sample per path and day: date (YYYY-MM-DD), path, used_bytes',
        });
      continue;
    }
    try {
      const fields = csvRecord(line, at);
      if (fields.length !== 3)
        throw new UserError(`expected 3 fields (${CSV_HEADER.join(',')}), found ${fields.length}`, {
          location: at,
          hint: 'one sample per line: date,path,used_bytes (quote a path with a comma)',
        });
      const [day = '', path = '', used = ''] = fields.map((f) => f.trim());
      if (calendarDay(day) === null)
        throw new UserError(`date: expected a calendar day as YYYY-MM-DD, found ${JSON.stringify(day)}`, {
          location: { ...at, column: 1 } as typeof at,
          hint: 'dates are ISO 8601 days, such as 2025-03-01',
        });
      if (!day.startsWith(`${period}-`))
        throw new UserError(`date ${day} is outside the period ${period}`, {
          location: at,
          hint: `a month's report holds samples of that month only; pass the right --period or split the file`,
        });
      if (!/^\d+$/.test(used))
        throw new UserError(`used_bytes: expected a whole, non-negative number of bytes, found ${JSON.stringify(used)}`, {
          location: at,
          hint: 'bytes, not TB or GB; a negative use is not possible',
        });
      if (used.length > 64 || BigInt(used) > MAX_BYTES)
        throw new UserError(
          `used_bytes: expected at most 2^64 bytes (16 EiB, the most a file system reports), found ${showValue(used, 30)}`,
          {
            location: at,
            hint: 'bytes, not a smaller unit; check the sample',
          },
        );
      if (!path)
        throw new UserError('path: expected a storage path, found an empty value', {
          location: at,
          hint: 'every sample names the path it measures',
        });
      out.push({ path, day, bytes: BigInt(used), where: `${file.display}:${n}`, location: at, label: '' });
    } catch (e) {
      problems.keep(e); // and on to the next line
    }
  }
  return out;
}

async function readJsonReport(
  file: { path: string; display: string },
  _period: string,
  format: StorageFormat,
  problems: RecordProblems,
): Promise<Sample[]> {
  let doc: unknown;
  const text = await readUtf8(file.path, file.display);
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UserError(`not JSON: ${(e as Error).message}`, {
      location: { file: file.display },
      hint: format === 'isilon' ? 'take it with isi quota quotas list --format json' : 'save the API response of /v1/files/quotas/status/',
    });
  }
  const list = Array.isArray(doc) ? doc : (doc as { quotas?: unknown[] })?.quotas;
  if (!Array.isArray(list))
    throw new UserError(
      `expected ${format === 'isilon' ? 'a JSON list of quotas' : 'an object with a "quotas" list (or a list of quotas)'}`,
      {
        location: { file: file.display },
        hint:
          format === 'isilon' ? 'take it with isi quota quotas list --format json' : 'save the API response of /v1/files/quotas/status/',
      },
    );
  const sample = (q: unknown, i: number): Sample => {
    const where = `${file.display} (quota ${i + 1})`;
    const label = `quota ${i + 1}: `;
    const location = { file: file.display };
    const item = q as Record<string, unknown>;
    const path = typeof item.path === 'string' ? item.path : '';
    if (!path) throw new UserError(`quota ${i + 1} has no path`, { location, hint: `expected a "path" in every ${format} quota` });
    if (format === 'isilon') {
      if (item.type !== undefined && item.type !== 'directory')
        return { path, day: REPORT_DAY, bytes: 0n, where, location, label, skip: `${item.type} quotas` };
      const usage = item.usage as Record<string, unknown> | undefined;
      const used = usage?.fslogical ?? usage?.logical ?? usage?.applogical;
      return { path, day: REPORT_DAY, bytes: bytesOf(used, label, location, 'usage.logical'), where, location, label };
    }
    return { path, day: REPORT_DAY, bytes: bytesOf(item.capacity_used, label, location, 'capacity_used'), where, location, label };
  };
  const out: Sample[] = [];
  for (const [i, q] of list.entries()) {
    try {
      out.push(sample(q, i));
    } catch (e) {
      problems.keep(e); // and on to the next quota
    }
  }
  return out;
}

/** A quota's bytes; `label` names the quota in a message ("quota 3: "), as its location has no line. */
function bytesOf(value: unknown, label: string, location: { file: string }, field: string): bigint {
  // A JSON number past 2^53 is not the number written (12345678901234567890 reads as …7000).
  if (typeof value === 'number' && value > Number.MAX_SAFE_INTEGER)
    throw new UserError(`${label}${field}: ${value} bytes is past what a JSON number holds exactly (2^53, about 9 PB)`, {
      location,
      hint: 'report this quota in a CSV (date,path,used_bytes: --format csv), whose numbers are read exactly',
    });
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text))
    throw new UserError(`${label}${field}: expected a whole, non-negative number of bytes, found ${JSON.stringify(value)}`, {
      location,
      hint: 'is this the report the --format names? see docs/sources/storage.md',
    });
  return BigInt(text);
}
