/** Parses a CSV header row (RFC 4180 quoting) from the start of a file's text. */
import { invalidInput } from '../core/errors.ts';

export function parseHeaderLine(text: string, display: string): string[] {
  const fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let i = 0;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else field += ch;
    } else if (ch === '"') inQuotes = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') break;
    else field += ch;
  }
  if (inQuotes) {
    throw invalidInput(
      { file: display, line: 1, column: 1 },
      'unreadable header row',
      'a header row of column names',
      'a quote that is never closed',
      'check that the file is a complete CSV export',
    );
  }
  fields.push(field);
  return fields.map((f) => f.trim());
}
