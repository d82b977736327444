/** Reading a text file line by line, fast, with line numbers (for the converters' own formats). */
import { isAscii, isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { OTHER_SEPARATOR_HINT, otherSeparator } from '../core/csv.ts';
import { type ErrorLocation, invalidInput, UserError } from '../core/errors.ts';
import { encodingError, firstBadLine, isUtf16, notUtf8Error, utf16Error } from '../core/text-encoding.ts';
import { gunzipStream } from '../core/zlib.ts';

/**
 * The lines of a (possibly gzip-compressed) UTF-8 text file, without their line breaks, a chunk
 * (a few megabytes) at a time: `first` is the 1-based number of the batch's first line (counted
 * from the range's start when there is one). Batches
 * keep a million-line file from paying an await per line.
 */
export async function* textLineBatches(
  path: string,
  display: string,
  range?: { start: number; end: number },
): AsyncGenerator<{ lines: string[]; first: number }> {
  const handle = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`${display}: ${e.code === 'ENOENT' ? 'no such file' : (e.message ?? String(e))}`, { hint: 'check the path' });
  });
  const head = Buffer.alloc(2);
  const s = await handle.stat();
  if (s.isDirectory()) {
    await handle.close();
    throw new UserError(`${display} is a folder, not a file`, { hint: 'name the file itself' });
  }
  await handle.read(head, 0, 2, 0);
  await handle.close();
  if (!range && isUtf16(head)) throw utf16Error(display);
  // A range (bytes [start, end), from a line's start) is read as it is: ranges are of plain files.
  const raw = createReadStream(path, { highWaterMark: 4 << 20, ...(range ? { start: range.start, end: range.end - 1 } : {}) });
  const stream = !range && head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(gunzipStream()) : raw;
  let rest = '';
  let n = 0;
  // The bytes of a character split across chunks, kept for the next one.
  let carry: Buffer = Buffer.alloc(0);
  try {
    // ASCII (most exports) decodes faster as Latin-1, which is the same for it; from the first
    // byte that is not ASCII on, as UTF-8, checked: a byte that is not UTF-8 (a file saved as
    // Latin-1) is refused at its line, never turned into U+FFFD on a statement.
    let ascii = true;
    let atStart = !range;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (chunk.indexOf(0) !== -1) throw hasNul(display, n + 1 + breaksBefore(chunk, chunk.indexOf(0)));
      ascii &&= isAscii(chunk);
      let text: string;
      if (ascii) text = rest + chunk.toString('latin1');
      else {
        const whole = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
        const complete = completeUtf8(whole);
        const body = whole.subarray(0, complete);
        carry = Buffer.from(whole.subarray(complete));
        if (!isUtf8(body)) throw notText(display, n + 1 + firstBadLine(body));
        text = rest + body.toString('utf8');
      }
      // A byte-order mark (Excel's "CSV UTF-8", Notepad) is no part of the first line's text.
      if (atStart && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      atStart &&= text.length === 0;
      const lines: string[] = [];
      let start = 0;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
        lines.push(text.charCodeAt(i - 1) === 13 ? text.slice(start, i - 1) : text.slice(start, i));
        start = i + 1;
      }
      rest = text.slice(start);
      if (lines.length > 0) {
        yield { lines, first: n + 1 };
        n += lines.length;
      }
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${display}: could not read the file (${(e as Error).message})`, {
      hint: 'a .gz file that is cut short or damaged? download it again',
    });
  } finally {
    raw.destroy();
  }
  if (carry.length > 0) throw notText(display, n + 1);
  if (rest.length > 0) yield { lines: [rest.endsWith('\r') ? rest.slice(0, -1) : rest], first: n + 1 };
}

/** Where `bytes` ends with a UTF-8 character's first bytes only: the length before them (else all of it). */
function completeUtf8(bytes: Buffer): number {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 4); i--) {
    const b = bytes[i] as number;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + length > bytes.length ? i : bytes.length;
  }
  return bytes.length;
}

/** Line breaks before `offset`. */
function breaksBefore(bytes: Buffer, offset: number): number {
  let breaks = 0;
  for (let i = bytes.indexOf(10); i !== -1 && i < offset; i = bytes.indexOf(10, i + 1)) breaks++;
  return breaks;
}

/** A whole (small) UTF-8 text file, such as a JSON inventory: refused at the line of a byte that is not UTF-8. */
export async function readUtf8(path: string, display: string): Promise<string> {
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`${display}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'a folder, not a file' : e.message}`, {
      hint: 'check the path',
    });
  });
  const problem = encodingError(bytes, display, 'and convert it again');
  if (problem) throw problem;
  return bytes.toString('utf8');
}

function hasNul(display: string, line: number): UserError {
  return invalidInput(
    { file: display, line },
    'not a text file',
    'text',
    'a NUL byte',
    'is it the export itself? a NUL byte is never part of one (a file cut short while written, or binary data)',
  );
}

function notText(display: string, line: number): UserError {
  return notUtf8Error(display, line, 'and convert it again');
}

/** Each line of a (possibly gzip-compressed) UTF-8 text file, without its line break, with its 1-based number. */
export async function* textLines(path: string, display: string): AsyncGenerator<[string, number]> {
  for await (const { lines, first } of textLineBatches(path, display)) for (const [i, line] of lines.entries()) yield [line, first + i];
}

/**
 * Fields of a CSV line (RFC 4180, no line breaks inside quotes: the converters' inputs are one
 * record per line), or what is wrong with it. A quote may only open a field and close it: one
 * anywhere else (`=HYPERLINK("x")`, `"a"b`) is refused, not dropped from the value.
 */
export function csvFields(line: string): string[] | { problem: string } {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      // A quoted field: up to the quote that is not doubled, then a comma or the end.
      for (i++; ; i++) {
        if (i >= line.length) return { problem: 'a quote that is never closed' };
        if (line[i] !== '"') field += line[i];
        else if (line[i + 1] === '"') field += line[++i];
        else break;
      }
      i++;
      if (i < line.length && line[i] !== ',') return { problem: `text after the closing quote of field ${out.length + 1}` };
    } else {
      const stop = line.indexOf(',', i);
      field = line.slice(i, stop < 0 ? line.length : stop);
      if (field.includes('"')) return { problem: `a quote inside field ${out.length + 1}, which does not start with one` };
      i = stop < 0 ? line.length : stop;
    }
    out.push(field);
    field = '';
    if (i >= line.length) return out;
    i++; // the comma
  }
}

/** The fields of a CSV line, or exit 2 at `at` saying what is malformed. */
export function csvRecord(line: string, at: ErrorLocation): string[] {
  const fields = csvFields(line);
  if (Array.isArray(fields)) return fields;
  throw new UserError(`malformed CSV: ${fields.problem}`, {
    location: at,
    hint: 'a field with a comma or a " must be quoted whole, its quotes doubled: "=HYPERLINK(""x"")"',
  });
}

/**
 * A header line that commas leave as one column, but that another separator splits into the
 * columns `fits` wants: the error that says so (a spreadsheet in a decimal-comma language saves
 * semicolons), or undefined.
 */
export function separatorError(line: string, at: ErrorLocation, fits: (names: string[]) => boolean): UserError | undefined {
  const fields = csvFields(line);
  // One column, or none CSV can read (a header of quoted names: "name";"size"): commas do not separate it.
  const other = !Array.isArray(fields) || fields.length === 1 ? otherSeparator(line, fits) : undefined;
  return other
    ? new UserError(`the columns are separated by ${other}, not commas`, { location: at, hint: OTHER_SEPARATOR_HINT })
    : undefined;
}
