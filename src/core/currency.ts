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
const formats = new Map<string, Intl.NumberFormat>();

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
  const id = `${locale}\u0000${code}\u0000${d}`;
  let nf = formats.get(id);
  if (!nf) {
    nf = new Intl.NumberFormat(locale, { style: 'currency', currency: code, minimumFractionDigits: d, maximumFractionDigits: d });
    formats.set(id, nf);
  }
  // Intl.NumberFormat#format accepts exact decimal strings; typed as number in older libs.
  return nf.format(decimal as unknown as number);
}
