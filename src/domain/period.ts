/** Billing periods: calendar months in UTC, written YYYY-MM, between 1900 and 2199. */

const PERIOD_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** Years a date in billing data may fall in; outside them a value is a misread date, not a charge. */
export const FIRST_YEAR = 1900;
export const LAST_YEAR = 2199;

export function isPeriod(text: string): boolean {
  const m = PERIOD_RE.exec(text);
  if (!m) return false;
  const year = Number(m[1]);
  return year >= FIRST_YEAR && year <= LAST_YEAR;
}

function parts(period: string): [number, number] {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return [y, m];
}

function format(year: number, month: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
}

export function previousPeriod(period: string): string {
  const [y, m] = parts(period);
  return m === 1 ? format(y - 1, 12) : format(y, m - 1);
}

export function nextPeriod(period: string): string {
  const [y, m] = parts(period);
  return m === 12 ? format(y + 1, 1) : format(y, m + 1);
}

/** First day of the period, YYYY-MM-DD. */
export function periodStart(period: string): string {
  return `${period}-01`;
}

/** First day of the next period (FOCUS period ends are exclusive), YYYY-MM-DD. */
export function periodEnd(period: string): string {
  return `${nextPeriod(period)}-01`;
}

/** Days in the period. */
export function periodDays(period: string): number {
  const [y, m] = parts(period);
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** A calendar date YYYY-MM-DD that exists (2025-02-30 does not). */
export function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years 0–99 as 1900–1999
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}
