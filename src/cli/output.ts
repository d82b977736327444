/** Printing for people: aligned tables and money; JSON for scripts. */
import { formatExactMoney } from '../core/currency.ts';
import { parseDecimal } from '../core/money.ts';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Progress for long steps; silent unless stderr is a terminal. */
  progress: (text: string) => void;
}

/**
 * What a terminal acts on rather than shows: control characters (C0 but the line feed, the tab
 * and a carriage return ending a line, as a CSV written to stdout has; DEL; C1), the
 * bidirectional embeddings, overrides and isolates, and the Unicode line separators. Values from
 * the data reach the screen in tables, warnings and errors, and a tag holding `\x1b[2K` or
 * `\u202e` would erase, recolour or reorder what a reviewer reads. (The zero-width space is left:
 * it acts on nothing, and the PR comment's Markdown puts one after each `@` on purpose.)
 */
const ACTING_SOURCE = '[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069\\u2028\\u2029]|\\r(?!\\n)';
const ACTING = new RegExp(ACTING_SOURCE);
const ACTING_ALL = new RegExp(ACTING_SOURCE, 'g');

/**
 * `text` with those characters written as `\u001b`: readable on a terminal, and the escape JSON
 * uses, so JSON output stays JSON and means the same (JSON.stringify escapes C0 itself, and leaves
 * the others as they are, only ever inside strings).
 */
export function shown(text: string): string {
  return ACTING.test(text) ? text.replace(ACTING_ALL, (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`) : text;
}

/** An argument as a POSIX shell takes it back: as it is when plain, else in single quotes (`'x y'`, `'it'\''s'`). */
export function shellWord(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export const processIo: Io = {
  out: (t) => {
    // Two writes: `${t}\n` would copy a large output (16.6 MB of JSON for the 10M-row month's
    // statements) into a new string before encoding it, which doubled the time of writing it.
    process.stdout.write(t);
    process.stdout.write('\n');
  },
  err: (t) => process.stderr.write(`${t}\n`),
  progress: (t) => {
    if (process.stderr.isTTY) process.stderr.write(`${t}\n`);
  },
};

/** `io` with every line it is given passed through `shown` first: what the CLI writes, whoever reads it. */
export function shownIo(io: Io): Io {
  return { out: (t) => io.out(shown(t)), err: (t) => io.err(shown(t)), progress: (t) => io.progress(shown(t)) };
}

export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** An exact decimal shown as money, rounded for display only ("$1,234.57"). */
export function money(decimal: string, currency: string, overrides: Record<string, number> = {}): string {
  return formatExactMoney(parseDecimal(decimal), currency, overrides);
}

export function table(headers: string[], rows: (string | number)[][], align: ('l' | 'r')[]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const a = align;
  const line = (r: string[]) =>
    r
      .map((c, i) => (a[i] === 'r' ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(cells[0] as string[]), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : pluralWord}`;
}
