/**
 * The generic way in: a usage table `date,pi_email,project_id,fund_org,service,resource,quantity,unit`
 * to FOCUS, each row priced by the rate in rates.yaml whose `match.service` is the row's service
 * and whose unit is its unit, on its date. This is what a new source's exporter produces
 * (docs/sources/TEMPLATE.md): a table that anyone can check, priced by rates in git.
 */
import { UserError } from '../core/errors.ts';
import { parseDecimal } from '../core/money.ts';
import { isPeriod } from '../domain/period.ts';
import { priceSpan, type Rates } from '../rates/rates.ts';
import { UNITS, type Unit } from '../rates/schema.ts';
import type { AccountsFile } from './accounts.ts';
import { type ConvertReport, FocusWriter, QTY_SCALE, quantityText } from './focus-writer.ts';
import { csvRecord, separatorError, textLines } from './lines.ts';
import { RecordProblems } from './problems.ts';
import { calendarDay } from './time.ts';

export const USAGE_COLUMNS = ['date', 'pi_email', 'project_id', 'fund_org', 'service', 'resource', 'quantity', 'unit'] as const;

export interface UsageInput {
  files: { path: string; display: string }[];
  /** The month; by default the month of the first row (every row must be in it). */
  period?: string;
  rates: Rates;
  accounts: AccountsFile;
  out?: string;
  outDisplay?: string;
  provider?: string;
}

const DAY = 86_400_000;

export async function convertUsage(input: UsageInput): Promise<ConvertReport> {
  let period = input.period;
  let writer: FocusWriter | undefined;
  let records = 0;
  /** Rows without a full owner, by resource and unit. */
  const unmapped = new Map<string, { owner: string; unit: string; quantity: bigint; records: number }>();
  const problems = new RecordProblems();
  const repeats = new Repeats();
  try {
    for (const file of input.files) {
      let header = true;
      for await (const [line, n] of textLines(file.path, file.display)) {
        if (line.trim() === '') continue;
        const at = { file: file.display, line: n };
        if (header) {
          const separated = separatorError(line, at, (names) => names.join(',') === USAGE_COLUMNS.join(','));
          if (separated) throw separated;
          const fields = csvRecord(line, at);
          header = false;
          if (fields.map((f) => f.trim().toLowerCase()).join(',') !== USAGE_COLUMNS.join(','))
            throw new UserError(`expected the columns ${USAGE_COLUMNS.join(',')}, found ${JSON.stringify(line.slice(0, 100))}`, {
              location: at,
              hint: 'see docs/sources/TEMPLATE.md for the usage table',
            });
          continue;
        }
        try {
          const fields = csvRecord(line, at);
          if (fields.length !== USAGE_COLUMNS.length)
            throw new UserError(`malformed CSV: expected ${USAGE_COLUMNS.length} fields, found ${fields.length}`, {
              location: at,
              hint: 'values with commas must be quoted',
            });
          const row = Object.fromEntries(USAGE_COLUMNS.map((c, i) => [c, (fields[i] ?? '').trim()])) as Record<
            (typeof USAGE_COLUMNS)[number],
            string
          >;
          const col = (c: (typeof USAGE_COLUMNS)[number]) => ({ ...at, column: USAGE_COLUMNS.indexOf(c) + 1 });
          if (calendarDay(row.date) === null || !isPeriod(row.date.slice(0, 7)))
            throw new UserError(`date: expected a calendar day as YYYY-MM-DD, found ${JSON.stringify(row.date)}`, {
              location: col('date'),
              hint: 'dates are ISO 8601 days between 1900 and 2199, such as 2025-03-01',
            });
          period ??= row.date.slice(0, 7);
          if (!row.date.startsWith(`${period}-`))
            throw new UserError(`date ${row.date} is outside the period ${period}`, {
              location: col('date'),
              hint: input.period
                ? 'a month’s file holds that month’s usage only'
                : `the first row set the period to ${period}; split the file by month, or pass --period`,
            });
          if (!(UNITS as readonly string[]).includes(row.unit))
            throw new UserError(`unit: expected one of ${UNITS.join(', ')}, found ${JSON.stringify(row.unit)}`, {
              location: col('unit'),
              hint: 'count what you bill in one of these units; anything else (tokens, requests, jobs) is a unit',
            });
          let qty: bigint;
          try {
            qty = parseDecimal(row.quantity, QTY_SCALE);
          } catch {
            throw new UserError(
              `quantity: expected a decimal number with at most ${QTY_SCALE} places, found ${JSON.stringify(row.quantity)}`,
              { location: col('quantity'), hint: 'a number such as 12.5 or 1.5e3, in the unit of the row' },
            );
          }
          if (qty < 0n)
            throw new UserError(`quantity: expected zero or more, found ${row.quantity}`, {
              location: col('quantity'),
              hint: 'usage cannot be negative; a refund is an adjustment, not usage',
            });
          if (!row.service)
            throw new UserError('service: expected the service the usage is of, found an empty value', {
              location: col('service'),
              hint: 'the service names the rate in rates.yaml (match: { service: … })',
            });
          repeats.see(USAGE_COLUMNS.map((c) => row[c]).join('\u0000'), file.display, n);
          writer ??= await FocusWriter.open(period, input.rates.currency, input.provider ?? 'Research Computing', input.out);
          records++;
          const day = Date.parse(`${row.date}T00:00:00Z`);
          const record = () => `${row.quantity} ${row.unit} of ${row.service}`;
          if (!row.pi_email || !row.project_id || !row.fund_org) {
            const key = `${row.resource || row.service}|${row.unit}`;
            const u = unmapped.get(key) ?? { owner: row.resource || row.service, unit: row.unit, quantity: 0n, records: 0 };
            u.quantity += qty;
            u.records++;
            unmapped.set(key, u);
          }
          for (const s of priceSpan(input.rates, 'usage', {
            unit: row.unit as Unit,
            attrs: { service: row.service },
            start: day,
            end: day + DAY,
            record,
            at: { file: file.display, line: n },
          })) {
            const owner = Object.fromEntries(
              (['pi_email', 'project_id', 'fund_org'] as const).filter((k) => row[k]).map((k) => [k, row[k]]),
            );
            await writer.write({
              start: s.start,
              end: s.end,
              rate: s.rate,
              quantity: qty,
              resourceId: row.resource,
              resourceName: row.resource,
              description: `${row.quantity} ${row.unit}${row.quantity === '1' ? '' : 's'} of ${row.service}`,
              tags: owner,
              at,
            });
          }
        } catch (e) {
          problems.keep(e); // and on to the next row
        }
      }
    }
    problems.check();
    if (!writer || !period)
      throw new UserError(`no usage rows in ${input.files.map((f) => f.display).join(', ')}`, {
        hint: 'a header row, then one row per usage record',
      });
    await writer.close();
  } catch (e) {
    await writer?.discard();
    throw e;
  }
  return {
    converter: 'usage',
    period,
    files: input.files.map((f) => f.display),
    out: input.outDisplay ?? input.out ?? null,
    records,
    billed: records,
    charges: writer.rows,
    not_billed: {},
    warnings: repeats.said(),
    unmapped: [...unmapped.values()].map((u) => ({ ...u, quantity: quantityText(u.quantity) })),
    rates: writer.totals.rows(),
    currency: input.rates.currency,
    ...writer.totals.sums(),
  };
}

/** The most repeated lines a report names, one by one; the rest are counted. */
const REPEATS_NAMED = 10;

/**
 * Lines that repeat an earlier one exactly, every column alike. Two bookings of an instrument on
 * one day can be real, so both are billed; but a table exported twice into one file is billed
 * twice too, so each is said. A line is remembered by a 53-bit hash of its values, not its text:
 * a table of a million lines holds some 60 MB here, not 250 (and a million different lines
 * share a hash by chance, a false warning, in about one table of 18,000).
 */
class Repeats {
  /** hash → the first line with it, as file index × 2^32 + line number. */
  private readonly first = new Map<number, number>();
  private readonly files: string[] = [];
  private readonly named: string[] = [];
  private more = 0;

  see(key: string, file: string, line: number): void {
    if (this.files[this.files.length - 1] !== file) this.files.push(file);
    const hash = hash53(key);
    const first = this.first.get(hash);
    if (first === undefined) this.first.set(hash, (this.files.length - 1) * 0x100000000 + line);
    else if (this.named.length < REPEATS_NAMED) {
      const where = `${this.files[Math.floor(first / 0x100000000)]}:${first % 0x100000000}`;
      this.named.push(
        `${file}:${line}: the same usage as ${where}, every column alike: both are billed (remove one if it was written twice)`,
      );
    } else this.more++;
  }

  said(): string[] {
    return this.more
      ? [...this.named, `and ${this.more.toLocaleString('en-US')} more lines that repeat an earlier one exactly`]
      : this.named;
  }
}

/** A 53-bit hash of a text (two multiplicative 32-bit hashes, mixed), as a safe integer. */
function hash53(text: string): number {
  let a = 0x9e3779b9;
  let b = 0x85ebca6b;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  a = Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) ^ Math.imul(b ^ (b >>> 13), 0x297a2d39);
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b) ^ Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  return (b & 0x1fffff) * 0x100000000 + (a >>> 0);
}
