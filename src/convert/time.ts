/**
 * Wall-clock times from usage exports (sacct prints `2025-03-30T10:00:00`, without a zone) as
 * instants. Times are read in UTC unless a time zone is given (`--timezone America/New_York`):
 * billing periods are UTC months, as FOCUS's are.
 */
import { UserError } from '../core/errors.ts';

const WALL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** An IANA time zone name, as the zone spells it; `name` is the option or field it came from, for the message. */
export function checkTimeZone(zone: unknown, name = '--timezone'): string {
  try {
    if (typeof zone !== 'string' || zone.trim() === '') throw new RangeError('not a name');
    // The zone's own spelling: utc and Etc/UTC are UTC, america/new_york is America/New_York.
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new UserError(`${name} ${JSON.stringify(zone)} is not a time zone`, { hint: 'an IANA name such as UTC or America/New_York' });
  }
}

/** ms since the epoch of a wall-clock time in UTC, or null when the text is no such time (2025-02-30, 24:00). */
export function wallTime(text: string): number | null {
  const m = WALL.exec(text);
  if (!m) return null;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1) as string[];
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const date = new Date(utc);
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
    return null;
  return utc;
}

/**
 * Every instant at which the zone's clocks read a wall time, earliest first: one; none in an hour
 * the clocks skipped (they went forward); two in one they read twice (they went back). Null
 * when the text is no such time.
 */
export function wallTimes(text: string, zone: string): number[] | null {
  const utc = wallTime(text);
  if (utc === null || zone === 'UTC') return utc === null ? null : [utc];
  // The offsets a day and a half either side: the same where the clocks do not change near it.
  const before = offset(zone, utc - 36 * HOUR);
  const after = offset(zone, utc + 36 * HOUR);
  if (before === after) return [utc - before];
  return [...new Set([utc - before, utc - after])].filter((i) => i + offset(zone, i) === utc).sort((a, b) => a - b);
}

const HOUR = 3_600_000;

/**
 * ms since the epoch of a day written YYYY-MM-DD, or null when it is no such day: JavaScript's
 * Date.parse reads 2025-02-30 as March 2.
 */
export function calendarDay(text: string): number | null {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? wallTime(text) : null;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at an instant, in ms. */
function offset(zone: string, instant: number): number {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formats.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** [start, end) of a UTC billing period, in ms. */
export function periodSpan(period: string): [number, number] {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return [Date.UTC(y, m - 1, 1), Date.UTC(y, m, 1)];
}
