/**
 * Exact money. Amounts travel as decimal strings (from DuckDB DECIMAL) and are computed as
 * bigint counts of a fixed unit: `SCALE` decimal places for exact sums, or the currency's minor
 * unit (cents) once rounded. No JavaScript number ever holds an amount.
 */
import { UserError } from './errors.ts';

/** Decimal places kept for exact (unrounded) amounts; matches DECIMAL(38,18) in SQL. */
export const SCALE = 18;

const DECIMAL_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Digits before the point of the largest amount the tool takes (under 10^20): what an exact
 * DECIMAL(38,18) sum in DuckDB holds. Exports, converted usage and billing policy all stop there.
 */
export const AMOUNT_DIGITS = 20;

/** 10^0 … 10^159, worked out once: a power of a bigint is slow enough to show in a loop over a million records. */
const POWERS = Array.from({ length: 160 }, (_, n) => 10n ** BigInt(n));

/** 10^n as a bigint (n ≥ 0 whole). */
export function pow10(n: number): bigint {
  return POWERS[n] ?? 10n ** BigInt(n);
}

/** The largest exponent parseDecimal reads: far beyond any amount or quantity (10^20 is too large already). */
const MAX_EXPONENT = 100;

/** Parses a decimal string (optionally with exponent) into units of 10^-scale. Throws on excess precision. */
export function parseDecimal(text: string, scale = SCALE): bigint {
  const m = DECIMAL_RE.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] === undefined || m[3] === ''))) {
    throw new UserError(`not a decimal number: ${JSON.stringify(text)}`);
  }
  const sign = m[1] === '-' ? -1n : 1n;
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  const exp = Number(m[4] ?? '0');
  // 1e999999999 would be a billion digits, worked out for half a minute before anything refused it.
  if (Math.abs(exp) > MAX_EXPONENT) throw new UserError(`${JSON.stringify(text)} is out of range (an exponent beyond ±${MAX_EXPONENT})`);
  // digits × 10^(exp - fracPart.length), expressed in units of 10^-scale
  const digits = BigInt(`${intPart}${fracPart}` || '0');
  const shift = exp - fracPart.length + scale;
  if (shift >= 0) return sign * digits * pow10(shift);
  const divisor = pow10(-shift);
  if (digits % divisor !== 0n) {
    throw new UserError(`${JSON.stringify(text)} has more than ${scale} decimal places`);
  }
  return (sign * digits) / divisor;
}

/** Formats units of 10^-scale as a plain decimal string with exactly `scale` places ("-0.50"). */
export function formatUnits(units: bigint, scale: number): string {
  const negative = units < 0n;
  const abs = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const int = abs.slice(0, abs.length - scale);
  const frac = abs.slice(abs.length - scale);
  return `${negative ? '-' : ''}${int}${scale > 0 ? `.${frac}` : ''}`;
}

/** Rounds units of 10^-fromScale to units of 10^-toScale, half away from zero. */
export function roundHalfAwayFromZero(units: bigint, fromScale: number, toScale: number): bigint {
  if (toScale >= fromScale) return units * pow10(toScale - fromScale);
  const divisor = pow10(fromScale - toScale);
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const q = abs / divisor;
  const r = abs % divisor;
  const rounded = r * 2n >= divisor ? q + 1n : q;
  return negative ? -rounded : rounded;
}

/** Exact amount (units of 10^-SCALE) rounded to the currency's minor unit. */
export function toMinor(exact: bigint, minorDigits: number): bigint {
  return roundHalfAwayFromZero(exact, SCALE, minorDigits);
}

/** Minor units back to exact units of 10^-SCALE (for residue arithmetic). */
export function minorToExact(minor: bigint, minorDigits: number): bigint {
  return minor * pow10(SCALE - minorDigits);
}

/** units × 10^-scale as the shortest exact decimal ("12.5", "0", "-0.03"): trimDecimal(formatUnits()) without the regular expressions, for hot loops. */
export function decimalText(units: bigint, scale: number): string {
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString();
  if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
  const point = digits.length - scale;
  let end = digits.length;
  while (end > point && digits.charCodeAt(end - 1) === 48) end--;
  const text = end === point ? digits.slice(0, point) : `${digits.slice(0, point)}.${digits.slice(point, end)}`;
  return negative && text !== '0' ? `-${text}` : text;
}

/**
 * A setting's number as plain decimal text, as SQL casts it and messages show it: 1e-7 is
 * "0.0000001". Text is kept as written ("10000.00"): the messages already written say it so.
 */
export function plainDecimal(value: number | string): string {
  return typeof value === 'string' ? value : decimalText(parseDecimal(String(value)), SCALE);
}

/** A decimal string without trailing zeros: "12.340000000000000000" → "12.34"; "-0.000" → "0". */
export function trimDecimal(value: string): string {
  if (!value.includes('.')) return value;
  const t = value.replace(/0+$/, '').replace(/\.$/, '');
  return t === '-0' ? '0' : t;
}

/**
 * An exact decimal for people to read: every digit kept, thousands grouped, and at least
 * `minDigits` decimal places ("72058.2420996712" → "72,058.2420996712", "0" → "0.00",
 * "-7080.01" → "-7,080.01"). For reconciliations, where the digits past the cent are the point.
 */
export function readableDecimal(value: string, minDigits: number): string {
  const trimmed = trimDecimal(value);
  const negative = trimmed.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? trimmed.slice(1) : trimmed).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const places = fraction.padEnd(minDigits, '0');
  return `${negative ? '-' : ''}${grouped}${places ? `.${places}` : ''}`;
}

/**
 * Decimals made the same width after their point, so that a right-aligned column lines them up:
 * each is padded with `space` (one per missing digit, and for a missing point too). In a
 * terminal a space does; in HTML with tabular figures, a figure space (U+2007) is a digit's width.
 */
export function alignDecimals(values: string[], space = ' ', pointSpace = space): string[] {
  const places = (v: string) => (v.includes('.') ? v.length - v.indexOf('.') - 1 : -1);
  const most = Math.max(-1, ...values.map(places));
  if (most < 0) return values;
  return values.map((v) => {
    const own = places(v);
    return own < 0 ? v + pointSpace + space.repeat(most) : v + space.repeat(most - own);
  });
}

/** n / d rounded half away from zero (d > 0). */
export function divRound(n: bigint, d: bigint): bigint {
  const negative = n < 0n;
  const abs = negative ? -n : n;
  const q = abs / d;
  const rounded = (abs % d) * 2n >= d ? q + 1n : q;
  return negative ? -rounded : rounded;
}

/**
 * Discount as a percentage of list with one decimal, as a string ("12.5"). It never shows 100.0
 * while something is still due, nor 0.0 when there is a discount: rounding must not tell a PI
 * their charge was free when it was not, or that a real discount was nothing.
 */
export function discountPercent(discount: bigint, list: bigint): string | null {
  if (list <= 0n) return null;
  let permille = divRound(discount * 1000n, list);
  if (permille >= 1000n && discount < list) permille = 999n;
  if (permille === 0n && discount > 0n) permille = 1n;
  if (permille === 0n && discount < 0n) permille = -1n;
  const sign = permille < 0n ? '-' : '';
  const abs = permille < 0n ? -permille : permille;
  return `${sign}${abs / 10n}.${abs % 10n}`;
}
