/**
 * CSV for spreadsheets and ledger imports: RFC 4180 quoting, and text that a spreadsheet would
 * run as a formula (starting with = + - @, tab or carriage return) neutralised with a leading '.
 * Numeric columns stay plain numbers.
 */
import { quoteCsv } from '../core/csv.ts';

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string | number | null | undefined, numeric = false): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (!numeric && FORMULA_START.test(text)) text = `'${text}`;
  return quoteCsv(text);
}

export function toCsv(
  columns: string[],
  rows: Record<string, string | number | null>[],
  numeric: ReadonlySet<string>,
  headers: string[] = columns,
): string {
  const lines = [headers.map((c) => csvCell(c)).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c], numeric.has(c))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
