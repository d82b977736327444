/**
 * Rates as the converters use them: loaded from rates.yaml and checked (unique ids, selectors
 * each converter knows, no two rates pricing the same usage on the same day), then matched to
 * usage records and split at the dates a price changes. Prices are exact bigints of 10^-18.
 */
import { type ErrorLocation, UserError } from '../core/errors.ts';
import { formatUnits, parseDecimal, pow10, SCALE } from '../core/money.ts';
import { type Located, parseYamlLocated, readText } from '../core/yaml-file.ts';
import { pathSpelling } from '../domain/path-spelling.ts';
import { type Rate, type RatesFile, ratesFileSchema, type Unit } from './schema.ts';

export const RATES_FILE = 'rates.yaml';
const HINT = 'see docs/sources/TEMPLATE.md#rates for the shape of rates.yaml';

/** The converters and what their rates may say. */
export const CONVERTERS = {
  slurm: { units: ['core-hour', 'gpu-hour', 'gb-hour'], keys: ['partition', 'gpu_type', 'account', 'qos'] },
  storage: { units: ['gb-month', 'tb-month'], keys: ['tier', 'path'] },
  vms: { units: ['vm-month'], keys: ['size', 'tier'] },
  usage: { units: ['core-hour', 'gpu-hour', 'gb-hour', 'gb-month', 'tb-month', 'vm-month', 'unit'], keys: ['service'] },
} as const satisfies Record<string, { units: readonly Unit[]; keys: readonly string[] }>;
export type Converter = keyof typeof CONVERTERS;

export interface PricedRate extends Rate {
  converter: Converter;
  /** Per unit, exact, in units of 10^-18. */
  list: bigint;
  billed: bigint;
  /** The span it applies to, in ms since the epoch (UTC days): [from, to). */
  from: number;
  to: number;
}

export interface Rates {
  currency: string;
  rates: PricedRate[];
}

/** The converter a rate belongs to: generic usage when it matches on `service`, else by its unit. */
function converterOf(rate: Rate): Converter {
  if (rate.match.service) return 'usage';
  if (rate.unit === 'vm-month') return 'vms';
  if (rate.unit === 'gb-month' || rate.unit === 'tb-month') return 'storage';
  if (rate.unit === 'unit') return 'usage';
  return 'slurm';
}

const dayMs = (date: string) => Date.parse(`${date}T00:00:00Z`);

export function billedPrice(rate: Rate): bigint {
  const list = parseDecimal(rate.list_price);
  if (rate.billed_price !== undefined) return parseDecimal(rate.billed_price);
  if (rate.subsidy_percent === undefined) return list;
  // list × (100 − s) / 100, exact: refused below when it needs more places than amounts keep.
  const paid = parseDecimal('100') - parseDecimal(rate.subsidy_percent);
  const product = list * paid;
  const divisor = pow10(SCALE) * 100n;
  if (product % divisor !== 0n) return -1n;
  return product / divisor;
}

export function parseRates(text: string, file = RATES_FILE): Rates {
  const located = parseYamlLocated(text, file, ratesFileSchema, HINT);
  return checkRates(located);
}

export async function loadRates(path: string, display = RATES_FILE): Promise<Rates> {
  const text = await readText(path, display);
  if (text === null)
    throw new UserError(`no ${display}`, {
      hint: 'converters price usage with rates.yaml at the repository root (or pass --rates <file>); see docs/sources/TEMPLATE.md#rates',
    });
  return checkRates(parseYamlLocated(text, display, ratesFileSchema, HINT));
}

function checkRates({ data, locate }: Located<RatesFile>): Rates {
  const at = (i: number, ...path: (string | number)[]) => locate(['rates', i, ...path]);
  const ids = new Map<string, number>();
  const rates = data.rates.map((rate, i): PricedRate => {
    const before = ids.get(rate.id);
    if (before !== undefined)
      throw new UserError(`rates.${i}.id: ${rate.id} is also rates.${before}'s id: each rate needs its own`, {
        location: at(i, 'id'),
        hint: HINT,
      });
    ids.set(rate.id, i);
    const converter = converterOf(rate);
    const spec = CONVERTERS[converter];
    for (const key of Object.keys(rate.match)) {
      if (!(spec.keys as readonly string[]).includes(key))
        throw new UserError(
          `rates.${i}.match: ${JSON.stringify(key)} is not a selector ${converter} rates use: expected ${spec.keys.join(', ')}`,
          {
            location: at(i, 'match', key),
            hint: HINT,
          },
        );
    }
    if (!(spec.units as readonly string[]).includes(rate.unit))
      throw new UserError(
        `rates.${i}.unit: ${rate.unit} is not a unit ${converter} usage is measured in: expected ${spec.units.join(', ')}`,
        {
          location: at(i, 'unit'),
          hint: HINT,
        },
      );
    // An allowance only the storage converter takes off: anywhere else it would be ignored.
    if (rate.free_tb !== undefined && converter !== 'storage')
      throw new UserError(`rates.${i}.free_tb: an allowance of storage, and ${rate.id} prices ${converter} usage: it would be ignored`, {
        location: at(i, 'free_tb'),
        hint: 'take free_tb out: it is taken off storage use only (a tb-month or gb-month rate the storage converter prices)',
      });
    const billed = billedPrice(rate);
    // ingest holds every charge billed above its list price for review (flag_rules.anomalies.above_list).
    if (billed > parseDecimal(rate.list_price))
      throw new UserError(`rates.${i}.billed_price: ${rate.billed_price} is above its list_price ${rate.list_price}`, {
        location: at(i, 'billed_price'),
        hint: 'the list price is the full price before any subsidy: raise list_price to at least the billed price (ingest holds a charge billed above list for review)',
      });
    if (billed < 0n)
      throw new UserError(`rates.${i}: ${rate.list_price} less ${rate.subsidy_percent}% needs more decimal places than a price may have`, {
        location: at(i, 'subsidy_percent'),
        hint: 'give the billed price itself with billed_price',
      });
    return {
      ...rate,
      match: converter === 'slurm' ? slurmNames(rate.match) : rate.match,
      converter,
      list: parseDecimal(rate.list_price),
      billed,
      from: dayMs(rate.effective_from),
      to: rate.effective_to ? dayMs(rate.effective_to) + 86_400_000 : Number.POSITIVE_INFINITY,
    };
  });
  // Two rates selecting on the same attributes with a value in common, on the same day: which
  // applies would be a guess. (Rates selecting on different attributes may still both fit one
  // record: that is found, and refused, when the record is converted.)
  for (let j = 0; j < rates.length; j++) {
    for (let i = 0; i < j; i++) {
      const [a, b] = [rates[i] as PricedRate, rates[j] as PricedRate];
      if (a.converter !== b.converter || a.unit !== b.unit || a.from >= b.to || b.from >= a.to) continue;
      const keys = Object.keys(a.match).sort();
      if (keys.join() !== Object.keys(b.match).sort().join()) continue;
      const shared = keys.every((k) => (a.match[k] as string[]).some((v) => (b.match[k] as string[]).includes(v)));
      if (shared)
        throw new UserError(
          `rates ${a.id} and ${b.id} both price ${b.unit}s of the same usage from ${new Date(Math.max(a.from, b.from)).toISOString().slice(0, 10)}`,
          {
            location: at(j, 'id'),
            hint: `end ${a.id} the day before ${b.id} starts (effective_to), or make their match selectors differ`,
          },
        );
    }
  }
  return { currency: data.currency, rates };
}

/** Slurm keeps account and QOS names in lower case: a rate's `account: Chen-Lab` selects the chen-lab sacct prints. */
function slurmNames(match: Record<string, string[]>): Record<string, string[]> {
  const lower = (key: string) => (match[key] ? { [key]: match[key].map((v) => v.toLowerCase()) } : {});
  return { ...match, ...lower('account'), ...lower('qos') };
}

/** A record's attributes, as rates select on them (a missing attribute matches no selector of it). */
export type Attributes = Record<string, string | undefined>;

function selects(rate: PricedRate, attrs: Attributes): boolean {
  for (const [key, values] of Object.entries(rate.match)) {
    const value = attrs[key];
    if (value === undefined) return false;
    if (key === 'path' ? !values.some((g) => globMatch(g, value)) : !values.includes(value)) return false;
  }
  return true;
}

/** Some rate prices `unit` for usage with these attributes at some time in [start, end). */
export function anyRate(rates: Rates, converter: Converter, unit: Unit, attrs: Attributes, start: number, end: number): boolean {
  return rates.rates.some((r) => r.converter === converter && r.unit === unit && r.from < end && r.to > start && selects(r, attrs));
}

/** One priced stretch of a usage: [start, end) in ms, under one rate. */
export interface Segment {
  rate: PricedRate;
  start: number;
  end: number;
}

/**
 * What is priced: `unit`s of a usage with these attributes over [start, end) in ms, and the
 * record it comes from, for messages: what it is (`record`) and where it was read (`at`).
 */
export interface PricedSpan {
  unit: Unit;
  attrs: Attributes;
  start: number;
  end: number;
  record: () => string;
  at: ErrorLocation;
}

/**
 * The rates pricing a span of usage, split where a rate ends and another begins. Part of the
 * span without a rate, or priced by two at once, is an error naming the record: usage is never
 * priced at zero by accident.
 */
export function priceSpan(rates: Rates, converter: Converter, span: PricedSpan): Segment[] {
  return splitSpan(matchingRates(rates, converter, span.unit, span.attrs), span);
}

/** The rates of a converter that price `unit` for usage with these attributes, at any date, by start date. */
export function matchingRates(rates: Rates, converter: Converter, unit: Unit, attrs: Attributes): PricedRate[] {
  return rates.rates.filter((r) => r.converter === converter && r.unit === unit && selects(r, attrs)).sort((a, b) => a.from - b.from);
}

/** priceSpan over rates already matched (matchingRates, which a converter may keep for records alike). */
export function splitSpan(matching: readonly PricedRate[], span: PricedSpan): Segment[] {
  const { unit, attrs, start, end, record, at: location } = span;
  const segments: Segment[] = [];
  let at = start;
  const sorted = matching.filter((r) => r.from < end && r.to > start);
  for (let k = 0; k < sorted.length; k++) {
    const r = sorted[k] as PricedRate;
    const next = sorted[k + 1];
    if (next && next.from < r.to)
      throw new UserError(`${record()}: rates ${r.id} and ${next.id} both price its ${unit}s`, {
        location,
        hint: 'make their match selectors or dates not overlap',
      });
    if (r.from > at) break; // a gap before this rate
    const end1 = Math.min(end, r.to);
    if (end1 > at) segments.push({ rate: r, start: at, end: end1 });
    at = Math.max(at, end1);
    if (at >= end) break;
  }
  if (at < end || segments.length === 0) {
    const day = new Date(at).toISOString().slice(0, 10);
    throw new UserError(`${record()}: no rate in rates.yaml prices its ${unit}s${start === end ? '' : ` on ${day}`} (${describe(attrs)})`, {
      location,
      hint: `add a rate with unit: ${unit} whose match selects ${describe(attrs)} and whose dates cover ${day}`,
    });
  }
  return segments;
}

function describe(attrs: Attributes): string {
  const shown = Object.entries(attrs).filter(([, v]) => v !== undefined);
  return shown.length ? shown.map(([k, v]) => `${k} ${v}`).join(', ') : 'no selectors';
}

/**
 * A path glob: `*` within one path segment, `**` across segments, `?` one character. Written as
 * a path may be (`/projects/x/`, `/projects//x`): it matches the path as a report gives it.
 */
export function globMatch(written: string, path: string): boolean {
  const glob = pathSpelling(written);
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++; // `**/` also matches no folder at all
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(path);
}

export const formatPrice = (p: bigint) => formatUnits(p, SCALE);
