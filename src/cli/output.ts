/** Printing for people: aligned tables and money; JSON for scripts. */
import { formatExactMoney } from '../core/currency.ts';
import { parseDecimal } from '../core/money.ts';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Progress for long steps; silent unless stderr is a terminal. */
  progress: (text: string) => void;
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
