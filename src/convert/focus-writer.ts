/**
 * What every converter writes: FOCUS 1.2 charges, one CSV row each, that `ingest` reads like any
 * cloud export, and the report of what was converted. Quantities are decimals with 6 places
 * (rounded half up from the measured usage: 0.0036 s of an hour); each cost is the exact product
 * of the quantity shown and the unit price, so every row, and the file, reconcile to the cent.
 */
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { quoteCsv } from '../core/csv.ts';
import { formatUnits, SCALE, trimDecimal } from '../core/money.ts';
import { periodEnd, periodStart } from '../domain/period.ts';
import type { PricedRate } from '../rates/rates.ts';
import { onInterrupt } from '../repo/cleanup.ts';

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
}

/** A rounded quantity from an exact fraction `numerator / denominator` of a unit (half up; usage is never negative). */
export function quantity(numerator: bigint, denominator: bigint): bigint {
  const scaled = numerator * 10n ** BigInt(QTY_SCALE);
  return (scaled * 2n + denominator) / (2n * denominator);
}

/** Cost of a quantity at a unit price (10^-18): exact, as prices have at most 12 places. */
export function cost(qty: bigint, price: bigint): bigint {
  return (qty * price) / 10n ** BigInt(QTY_SCALE);
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
const amount = (v: bigint) => trimDecimal(formatUnits(v, SCALE));

export interface RateTotal {
  rate: string;
  service: string;
  unit: string;
  charges: number;
  quantity: string;
  list: string;
  billed: string;
}

/** Totals per rate and counts, for the report. */
export class Totals {
  private readonly byRate = new Map<string, { rate: PricedRate; charges: number; quantity: bigint; list: bigint; billed: bigint }>();

  add(c: Charge, list: bigint, billed: bigint): void {
    const t = this.byRate.get(c.rate.id) ?? { rate: c.rate, charges: 0, quantity: 0n, list: 0n, billed: 0n };
    t.charges++;
    t.quantity += c.quantity;
    t.list += list;
    t.billed += billed;
    this.byRate.set(c.rate.id, t);
  }

  rows(): RateTotal[] {
    return [...this.byRate.values()]
      .sort((a, b) => a.rate.id.localeCompare(b.rate.id))
      .map((t) => ({
        rate: t.rate.id,
        service: t.rate.service,
        unit: t.rate.unit,
        charges: t.charges,
        quantity: trimDecimal(formatUnits(t.quantity, QTY_SCALE)),
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
  rates: RateTotal[];
  currency: string;
  total_list: string;
  total_billed: string;
}

/** A decimal quantity (units of 10^-QTY_SCALE) as text. */
export const quantityText = (q: bigint) => trimDecimal(formatUnits(q, QTY_SCALE));

/**
 * Writes FOCUS rows to a temporary file: renamed into place as `file` when `close` succeeds, or,
 * without a file, copied to stdout then. A conversion refused half way (a record no rate
 * prices, a malformed line) so writes nothing, on disk or on stdout.
 */
export class FocusWriter {
  readonly totals = new Totals();
  rows = 0;
  private buffer = `${FOCUS_OUTPUT_COLUMNS.join(',')}\n`;
  private constructor(
    private readonly period: string,
    private readonly currency: string,
    private readonly provider: string,
    private readonly tmp: string,
    private readonly stream: ReturnType<typeof createWriteStream>,
    private readonly target: string | undefined,
    private readonly release: () => void,
  ) {}

  static async open(period: string, currency: string, provider: string, file?: string): Promise<FocusWriter> {
    const dir = file ? dirname(file) : tmpdir();
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${file ? basename(file) : 'focus-billing-convert'}.${process.pid}.${Date.now()}.tmp`);
    const release = onInterrupt(() => rmSync(tmp, { force: true }));
    return new FocusWriter(period, currency, provider, tmp, createWriteStream(tmp), file, release);
  }

  async write(c: Charge): Promise<void> {
    const list = cost(c.quantity, c.rate.list);
    const billed = cost(c.billedQuantity ?? c.quantity, c.rate.billed);
    this.totals.add(c, list, billed);
    this.rows++;
    const qty = trimDecimal(formatUnits(c.quantity, QTY_SCALE));
    const unit = c.rate.unit;
    const cells = [
      `${periodStart(this.period)}T00:00:00Z`,
      `${periodEnd(this.period)}T00:00:00Z`,
      iso(c.start),
      iso(c.end),
      'Usage',
      c.description,
      this.currency,
      amount(c.rate.list),
      amount(list),
      amount(c.rate.billed),
      amount(billed), // ContractedCost: the institution's price is the contract
      amount(billed),
      amount(billed),
      qty,
      unit,
      qty,
      unit,
      c.rate.service,
      c.resourceId,
      c.resourceName,
      this.provider,
      JSON.stringify(c.tags),
      c.rate.id,
    ];
    this.buffer += `${cells.map(quoteCsv).join(',')}\n`;
    if (this.buffer.length > 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
  }

  /** Finishes: the file renamed into place, or the rows copied to stdout. */
  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
    try {
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
