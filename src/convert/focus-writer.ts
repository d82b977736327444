/**
 * What every converter writes: FOCUS 1.2 charges, one CSV row each, that `ingest` reads like any
 * cloud export, and the report of what was converted. Quantities are decimals with 6 places
 * (rounded half up from the measured usage: 0.0036 s of an hour); each cost is the exact product
 * of the quantity shown and the unit price, so every row, and the file, reconcile to the cent.
 */
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { quoteCsv } from '../core/csv.ts';
import { showValue, UserError } from '../core/errors.ts';
import { makeDir } from '../core/make-dir.ts';
import { AMOUNT_DIGITS, decimalText, pow10, SCALE } from '../core/money.ts';
import { compareText } from '../domain/order.ts';
import { periodEnd, periodStart } from '../domain/period.ts';
import { MAX_LINE_BYTES } from '../focus/read-sql.ts';
import type { PricedRate } from '../rates/rates.ts';
import { onInterrupt } from '../repo/cleanup.ts';

/** Bytes of FOCUS rows gathered before they are written. */
const CHUNK = 1 << 20;

/** Rows joined before they are encoded. */
const ROWS_PER_COPY = 256;

/** Decimal places of a quantity. */
export const QTY_SCALE = 6;

export const FOCUS_OUTPUT_COLUMNS = [
  'BillingPeriodStart',
  'BillingPeriodEnd',
  'ChargePeriodStart',
  'ChargePeriodEnd',
  'ChargeCategory',
  'ChargeDescription',
  'BillingCurrency',
  'ListUnitPrice',
  'ListCost',
  'ContractedUnitPrice',
  'ContractedCost',
  'BilledCost',
  'EffectiveCost',
  'PricingQuantity',
  'PricingUnit',
  'ConsumedQuantity',
  'ConsumedUnit',
  'ServiceName',
  'ResourceId',
  'ResourceName',
  'ProviderName',
  'Tags',
  'x_RateId',
] as const;

export interface Charge {
  /** [start, end) in ms since the epoch, UTC. */
  start: number;
  end: number;
  /** start and end as FOCUS writes them (2025-03-01T10:00:00Z), where the converter has them already. */
  startText?: string;
  endText?: string;
  rate: PricedRate;
  /** Units of 10^-QTY_SCALE. */
  quantity: bigint;
  /**
   * The part of the quantity that is billed, when less than all of it (storage above its free
   * allowance): the list cost is the whole quantity's, so the allowance shows as a discount.
   */
  billedQuantity?: bigint;
  resourceId: string;
  resourceName: string;
  description: string;
  /** Attribution and context, written as the Tags JSON object. */
  tags: Record<string, string>;
  /** `tags` as the writer's `tagsCell` gave it, where the converter keeps that beside its tags object (one lookup less per charge). */
  tagsCell?: string;
  /** Where the usage was read (the record's file and line), for a message about the charge. */
  at?: { file: string; line?: number };
}

/** One unit, in units of 10^-QTY_SCALE (worked out once: a power of a bigint per charge cost a converted month 0.4 s). */
const QTY_ONE = pow10(QTY_SCALE);

/** A rounded quantity from an exact fraction `numerator / denominator` of a unit (half up; usage is never negative). */
export function quantity(numerator: bigint, denominator: bigint): bigint {
  return (numerator * QTY_ONE * 2n + denominator) / (2n * denominator);
}

/** Cost of a quantity at a unit price (10^-18): exact, as prices have at most 12 places. */
export function cost(qty: bigint, price: bigint): bigint {
  return (qty * price) / QTY_ONE;
}

/** An instant as FOCUS writes it: 2025-03-01T00:00:00Z (milliseconds only when there are some). */
const iso = (ms: number) => {
  const text = new Date(ms).toISOString();
  return ms % 1000 === 0 ? `${text.slice(0, 19)}Z` : text;
};
const amount = (v: bigint) => decimalText(v, SCALE);

/** 10^20 in units of 10^-SCALE: what ingest's exact DECIMAL(38,18) sums hold, in each currency. */
const AMOUNT_LIMIT = 10n ** BigInt(AMOUNT_DIGITS + SCALE);

export interface RateTotal {
  rate: string;
  service: string;
  unit: string;
  charges: number;
  quantity: string;
  list: string;
  billed: string;
}

/** A rate's totals as plain values. */
export interface RawTotal {
  rate: string;
  charges: number;
  quantity: bigint;
  list: bigint;
  billed: bigint;
}

/** Totals per rate and counts, for the report. */
export class Totals {
  // By the rate itself (an identity lookup, per charge).
  private readonly byRate = new Map<PricedRate, { rate: PricedRate; charges: number; quantity: bigint; list: bigint; billed: bigint }>();

  add(c: Charge, list: bigint, billed: bigint): void {
    let t = this.byRate.get(c.rate);
    if (!t) {
      t = { rate: c.rate, charges: 0, quantity: 0n, list: 0n, billed: 0n };
      this.byRate.set(c.rate, t);
    }
    t.charges++;
    t.quantity += c.quantity;
    t.list += list;
    t.billed += billed;
  }

  /** The totals as plain values (to cross from a worker thread), by rate id. */
  raw(): RawTotal[] {
    return [...this.byRate.values()].map((t) => ({
      rate: t.rate.id,
      charges: t.charges,
      quantity: t.quantity,
      list: t.list,
      billed: t.billed,
    }));
  }

  /** Adds another part's totals. */
  merge(raw: RawTotal[], rates: readonly PricedRate[]): void {
    for (const r of raw) {
      const rate = rates.find((x) => x.id === r.rate) as PricedRate;
      let t = this.byRate.get(rate);
      if (!t) {
        t = { rate, charges: 0, quantity: 0n, list: 0n, billed: 0n };
        this.byRate.set(rate, t);
      }
      t.charges += r.charges;
      t.quantity += r.quantity;
      t.list += r.list;
      t.billed += r.billed;
    }
  }

  rows(): RateTotal[] {
    return [...this.byRate.values()]
      .sort((a, b) => compareText(a.rate.id, b.rate.id))
      .map((t) => ({
        rate: t.rate.id,
        service: t.rate.service,
        unit: t.rate.unit,
        charges: t.charges,
        quantity: decimalText(t.quantity, QTY_SCALE),
        list: amount(t.list),
        billed: amount(t.billed),
      }));
  }

  /** The exact list and billed totals of every charge, as decimal strings. */
  sums(): { total_list: string; total_billed: string } {
    const all = [...this.byRate.values()];
    return {
      total_list: amount(all.reduce((s, t) => s + t.list, 0n)),
      total_billed: amount(all.reduce((s, t) => s + t.billed, 0n)),
    };
  }
}

/** What a converter reports, on the terminal and as --json. */
export interface ConvertReport {
  converter: string;
  period: string;
  files: string[];
  out: string | null;
  records: number;
  /** Records billed (each gives one or more charges). */
  billed: number;
  charges: number;
  /** Records not billed, by reason. */
  not_billed: Record<string, number>;
  /** Usage that maps to no owner, converted without attribution (ingest holds it for review). */
  unmapped: { owner: string; quantity: string; unit: string; records: number }[];
  /** What was converted but may not be meant (a line repeated exactly): said, not refused. */
  warnings: string[];
  rates: RateTotal[];
  currency: string;
  total_list: string;
  total_billed: string;
}

/** A decimal quantity (units of 10^-QTY_SCALE) as text. */
export const quantityText = (q: bigint) => decimalText(q, QTY_SCALE);

/** What every row of a rate writes alike. */
interface RateCells {
  list: string;
  billed: string;
  service: string;
}

/**
 * Writes FOCUS rows to a temporary file: renamed into place as `file` when `close` succeeds, or,
 * without a file, copied to stdout then. A conversion refused half way (a record no rate
 * prices, a malformed line) so writes nothing, on disk or on stdout.
 */
export class FocusWriter {
  readonly totals = new Totals();
  rows = 0;
  /** Each rate's cells (see rateCells), and the ProviderName cell: the same text on many rows, made once. */
  private readonly rateCellsOf = new Map<PricedRate, RateCells>();
  private readonly providerCell: string;
  /** BillingPeriodStart and End, the same on every row. */
  private readonly bounds: string;
  /**
   * Rows are copied into byte chunks as they are made, so each row's text dies young: strings
   * kept until a write would survive garbage collections and be copied by each.
   */
  private chunk: Buffer = Buffer.allocUnsafeSlow(CHUNK);
  private readonly pool: Buffer[] = [];
  private used = 0;
  private readonly full: Buffer[] = [];
  private readonly rowTexts: string[] = [];
  private readonly lastMs = [Number.NaN, Number.NaN];
  private readonly lastIso = ['', ''];
  private readonly tagCells = new WeakMap<object, string>();
  private constructor(
    period: string,
    private readonly currency: string,
    provider: string,
    private readonly tmp: string,
    private readonly stream: ReturnType<typeof createWriteStream>,
    private readonly target: string | undefined,
    private readonly release: () => void,
  ) {
    this.bounds = `${periodStart(period)}T00:00:00Z,${periodEnd(period)}T00:00:00Z`;
    this.providerCell = quoteCsv(provider);
  }

  static async open(period: string, currency: string, provider: string, file?: string, header = true): Promise<FocusWriter> {
    const dir = file ? dirname(file) : tmpdir();
    await makeDir(dir);
    const tmp = join(dir, `.${file ? basename(file) : 'focus-billing-convert'}.${process.pid}.${Date.now()}.tmp`);
    const release = onInterrupt(() => rmSync(tmp, { force: true }));
    // A deep write buffer: the disk writes while the next rows are made.
    const writer = new FocusWriter(period, currency, provider, tmp, createWriteStream(tmp, { highWaterMark: 8 << 20 }), file, release);
    if (header) writer.push(`${FOCUS_OUTPUT_COLUMNS.join(',')}\n`);
    return writer;
  }

  /** Adds a charge to the buffer; `drain` writes the buffer out (call it between batches). */
  add(c: Charge): void {
    const list = cost(c.quantity, c.rate.list);
    const billed = cost(c.billedQuantity ?? c.quantity, c.rate.billed);
    // A charge too large alone is its record's problem; the sums reaching the limit are the
    // file's, said once (the converters read on past a record's problem to name them all).
    if (list >= AMOUNT_LIMIT || billed >= AMOUNT_LIMIT) this.tooLarge(c, list, billed);
    this.listSum += list;
    this.billedSum += billed;
    if (!this.sumsTooLarge && (this.listSum >= AMOUNT_LIMIT || this.billedSum >= AMOUNT_LIMIT)) {
      this.sumsTooLarge = true;
      this.tooLarge(c, list, billed);
    }
    this.totals.add(c, list, billed);
    this.rows++;
    const qty = quantityText(c.quantity);
    const billedText = amount(billed);
    // Numbers, dates, units and currency codes never need quoting; text from the source may.
    // One flat string per row (join), not a rope of concatenations: ropes are slow to encode.
    const rate = this.rateCells(c.rate);
    const row = [
      this.bounds,
      c.startText ?? this.instant(c.start),
      c.endText ?? this.instant(c.end),
      'Usage',
      quoteCsv(c.description),
      this.currency,
      rate.list,
      amount(list),
      rate.billed,
      billedText,
      billedText,
      billedText,
      qty,
      c.rate.unit,
      qty,
      c.rate.unit,
      rate.service,
      quoteCsv(c.resourceId),
      quoteCsv(c.resourceName),
      this.providerCell,
      c.tagsCell ?? this.tagsCell(c.tags),
      `${c.rate.id}\n`,
    ].join(',');
    // ingest refuses a line longer than it reads (a job name of megabytes): said at the record.
    if (row.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(row) > MAX_LINE_BYTES)
      throw new UserError(
        `the charge for resource ${showValue(c.resourceId)} would be a FOCUS row of ${Buffer.byteLength(row).toLocaleString('en-US')} bytes, and ingest reads lines of at most ${MAX_LINE_BYTES.toLocaleString('en-US')}`,
        {
          ...(c.at ? { location: { file: c.at.file, line: c.at.line } } : {}),
          hint: 'a name or description this long is not one a source writes: check the record',
        },
      );
    this.push(row);
  }

  /** Rows are joined a few at a time, then copied into the byte chunk (one copy per few rows). */
  push(text: string): void {
    this.rowTexts.push(text);
    if (this.rowTexts.length === ROWS_PER_COPY) this.copyRows();
  }

  private fresh(): Buffer {
    return this.pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
  }

  /** Rows are encoded a few hundred at a time: one call for many rows is much cheaper than one per row. */
  private copyRows(): void {
    const text = this.rowTexts.join('');
    this.rowTexts.length = 0;
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    if (this.used + text.length * 3 > CHUNK) {
      this.full.push(this.chunk.subarray(0, this.used));
      this.chunk = text.length * 3 > CHUNK ? Buffer.allocUnsafe(text.length * 3) : this.fresh();
      this.used = 0;
    }
    this.used += this.chunk.write(text, this.used);
  }

  /** An instant as text; the last two are kept, as consecutive charges (a job's) share them. */
  private instant(ms: number): string {
    if (ms === this.lastMs[0]) return this.lastIso[0] as string;
    if (ms === this.lastMs[1]) return this.lastIso[1] as string;
    const text = iso(ms);
    this.lastMs[1] = this.lastMs[0] as number;
    this.lastIso[1] = this.lastIso[0] as string;
    this.lastMs[0] = ms;
    this.lastIso[0] = text;
    return text;
  }

  /** The Tags cell: converters share one tags object among charges alike, so its text is kept by object. */
  tagsCell(tags: Record<string, string>): string {
    let cell = this.tagCells.get(tags);
    if (cell === undefined) {
      // A fresh flat string: replace() leaves a rope that is slow to copy into every row.
      cell = Buffer.from(quoteCsv(JSON.stringify(tags))).toString();
      this.tagCells.set(tags, cell);
    }
    return cell;
  }

  /** Adds a charge and writes the buffer out when it is large. */
  async write(c: Charge): Promise<void> {
    this.add(c);
    await this.drain();
  }

  /** The running sums of the list and billed costs, which ingest takes only under AMOUNT_LIMIT. */
  private listSum = 0n;
  private billedSum = 0n;
  private sumsTooLarge = false;

  private tooLarge(c: Charge, list: bigint, billed: bigint): never {
    // The larger of the two (bigints: Math.max takes numbers only).
    const cost = billed > list ? billed : list;
    const alone = cost >= AMOUNT_LIMIT;
    throw new UserError(
      `${c.description} (${c.resourceId}): ${alone ? `costs ${amount(cost)} ${this.currency}` : `with its ${amount(cost)} ${this.currency}, the file's costs add up to 10^20 or more`}; amounts stay under 10^20 ${this.currency} a month`,
      {
        ...(c.at ? { location: { file: c.at.file, line: c.at.line } } : {}),
        hint: "check the quantity and the rate's price in rates.yaml: no real month of usage comes near 10^20, and ingest refuses such a file",
      },
    );
  }

  /** Writes the buffer out when it is large (after a batch of `add`s). */
  async drain(): Promise<void> {
    if (this.full.length > 0) await this.flush();
  }

  /** A rate's list and billed prices and its ServiceName, as cells, worked out once per rate. */
  private rateCells(rate: PricedRate): RateCells {
    let cells = this.rateCellsOf.get(rate);
    if (cells === undefined) {
      cells = { list: amount(rate.list), billed: amount(rate.billed), service: quoteCsv(rate.service) };
      this.rateCellsOf.set(rate, cells);
    }
    return cells;
  }

  private async flush(): Promise<void> {
    if (this.rowTexts.length > 0) this.copyRows();
    if (this.used > 0) {
      this.full.push(this.chunk.subarray(0, this.used));
      this.chunk = this.fresh();
      this.used = 0;
    }
    for (const bytes of this.full.splice(0)) {
      // A chunk comes back to the pool once written: fresh megabytes cost the kernel page faults.
      const whole = bytes.buffer.byteLength === CHUNK ? Buffer.from(bytes.buffer, bytes.byteOffset, CHUNK) : undefined;
      const written = this.stream.write(bytes, () => {
        if (whole && this.pool.length < 16) this.pool.push(whole);
      });
      if (!written) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
    }
  }

  /** Finishes: the file renamed into place, or the rows copied to stdout. */
  async close(append?: string): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
    try {
      // The rows another part of the conversion wrote, after these.
      if (append) {
        // In large pieces: with the streams' default 64 KB, copying the second half of a month
        // (260 MB) was four thousand turns of the event loop.
        const piece = 8 << 20;
        await pipeline(
          createReadStream(append, { highWaterMark: piece }),
          createWriteStream(this.tmp, { flags: 'a', highWaterMark: piece }),
        );
      }
      if (this.target) await rename(this.tmp, this.target);
      else await pipeline(createReadStream(this.tmp), process.stdout, { end: false });
    } finally {
      await rm(this.tmp, { force: true });
      this.release();
    }
  }

  /** Abandons the conversion: nothing is left behind. */
  async discard(): Promise<void> {
    this.stream.destroy();
    await rm(this.tmp, { force: true });
    this.release();
  }
}
