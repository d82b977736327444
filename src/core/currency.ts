/** Currency facts: minor-unit digits and display, from ICU unless the config overrides them. */
import { formatUnits, roundHalfAwayFromZero, SCALE } from './money.ts';

/** The currencies ISO 4217 assigns, as ICU knows them (Intl accepts any three letters; this list does not). */
const ISO_4217 = new Set(Intl.supportedValuesOf('currency'));

export function isCurrencyCode(code: string): boolean {
  return ISO_4217.has(code);
}

/** Digits of the currency's minor unit (USD 2, JPY 0, BHD 3). */
export function minorDigits(code: string, overrides: Record<string, number> = {}): number {
  const override = overrides[code];
  if (override !== undefined) return override;
  let digits = isoDigits.get(code);
  if (digits === undefined) {
    // Building a NumberFormat costs tens of microseconds; statements ask per line.
    digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
    isoDigits.set(code, digits);
  }
  return digits;
}

const isoDigits = new Map<string, number>();
const formats = new Map<string, Format>();
/** The format used last: amounts come in runs of one currency. */
let last: Format | undefined;

/**
 * A currency format, and how it writes an amount when that is simple enough to write without
 * it: a prefix and a suffix for each sign around the digits, grouped by three. Learnt from Intl
 * itself, and used only when it gives what Intl gives for every sample; a statement page
 * formats three amounts per charge detail, and Intl took 1.5 s for the three million of a
 * 10M-row month.
 */
interface Format {
  locale: string;
  code: string;
  digits: number;
  nf: Intl.NumberFormat;
  shape: Shape | null;
}

interface Shape {
  prefix: [positive: string, negative: string];
  suffix: [positive: string, negative: string];
  group: string;
  decimal: string;
}

function shapeOf(nf: Intl.NumberFormat, digits: number): Shape | null {
  const fraction = digits > 0 ? `.${'9'.repeat(digits)}` : '';
  const sides = (text: string) => {
    const parts = nf.formatToParts(text as unknown as number);
    const first = parts.findIndex((p) => p.type === 'integer');
    const last = parts.findLastIndex((p) => p.type === 'integer' || p.type === 'fraction');
    const join = (ps: Intl.NumberFormatPart[]) => ps.map((p) => p.value).join('');
    return {
      prefix: join(parts.slice(0, first)),
      suffix: join(parts.slice(last + 1)),
      group: parts.find((p) => p.type === 'group')?.value,
      decimal: parts.find((p) => p.type === 'decimal')?.value ?? '',
    };
  };
  const pos = sides(`1234567${fraction}`);
  const neg = sides(`-1234567${fraction}`);
  if (pos.group === undefined || pos.group !== neg.group || pos.decimal !== neg.decimal) return null;
  const shape: Shape = { prefix: [pos.prefix, neg.prefix], suffix: [pos.suffix, neg.suffix], group: pos.group, decimal: pos.decimal };
  // Checked on every length of integer part a grouping rule could treat apart, both signs, zeros.
  const samples = ['0', '-0', '1', '-1'];
  for (let n = 2; n <= 22; n++) samples.push('9876543210987654321098'.slice(0, n), `-${'1234567890123456789012'.slice(0, n)}`);
  for (const int of samples) {
    const text = digits > 0 ? `${int}.${'0123456789'.repeat(2).slice(0, digits)}` : int;
    if (writeShape(shape, text, digits) !== nf.format(text as unknown as number)) return null;
  }
  return shape;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * `text` written in `shape`, or null unless it is as `formatUnits` writes an amount: an optional
 * minus, an integer part without leading zeros, and `digits` fraction digits.
 */
function writeShape(shape: Shape, text: string, digits: number): string | null {
  const sign = text.charCodeAt(0) === 45 ? 1 : 0;
  const end = digits > 0 ? text.length - digits - 1 : text.length; // where the integer part ends
  if (end <= sign || (digits > 0 && text.charCodeAt(end) !== 46)) return null;
  if (text.charCodeAt(sign) === 48 && end - sign > 1) return null;
  for (let i = sign; i < end; i++) if (!isDigit(text.charCodeAt(i))) return null;
  for (let i = end + 1; i < text.length; i++) if (!isDigit(text.charCodeAt(i))) return null;
  let grouped = text.slice(sign, sign + ((end - sign - 1) % 3) + 1);
  for (let i = sign + grouped.length; i < end; i += 3) grouped += shape.group + text.slice(i, i + 3);
  return `${shape.prefix[sign]}${grouped}${digits > 0 ? shape.decimal + text.slice(end + 1) : ''}${shape.suffix[sign]}`;
}

/**
 * An exact amount (units of 10^-SCALE, as summed from the data) shown as money: rounded half
 * away from zero to the currency's minor unit, for display only.
 */
export function formatExactMoney(exact: bigint, code: string, overrides: Record<string, number> = {}): string {
  const digits = minorDigits(code, overrides);
  return formatMoney(formatUnits(roundHalfAwayFromZero(exact, SCALE, digits), digits), code, 'en-US', digits);
}

/**
 * Formats an exact decimal string as money ("$1,234.56", "-€3.10"). Intl formats decimal strings
 * exactly (no float conversion), so the shown digits are the computed ones.
 */
export function formatMoney(decimal: string, code: string, locale = 'en-US', digits?: number): string {
  const d = digits ?? minorDigits(code);
  let format = last;
  if (format?.locale !== locale || format.code !== code || format.digits !== d) {
    const id = `${locale}\u0000${code}\u0000${d}`;
    format = formats.get(id);
    if (!format) {
      const nf = new Intl.NumberFormat(locale, { style: 'currency', currency: code, minimumFractionDigits: d, maximumFractionDigits: d });
      format = { locale, code, digits: d, nf, shape: shapeOf(nf, d) };
      formats.set(id, format);
    }
    last = format;
  }
  const fast = format.shape && writeShape(format.shape, decimal, d);
  // Intl.NumberFormat#format accepts exact decimal strings; typed as number in older libs.
  return fast ?? format.nf.format(decimal as unknown as number);
}
