/**
 * First look at an input file, before DuckDB reads it: compression, emptiness, binary content,
 * encoding, and the header row. These checks give precise messages where DuckDB's would be vague.
 * A Parquet file's columns and types come from its footer, read by DuckDB.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { invalidInput, showValue, UserError } from '../core/errors.ts';
import { gunzipStream } from '../core/zlib.ts';
import type { Database } from '../db/duckdb.ts';
import { parseHeaderLine } from './header.ts';

export type Compression = 'none' | 'gzip';
export type Format = 'csv' | 'parquet';

export interface SniffedFile {
  path: string;
  /** Path shown in messages (relative to the repository or as given). */
  display: string;
  compression: Compression;
  format: Format;
  /** Header names in file order, as written (BOM and surrounding spaces removed). */
  header: string[];
  /** Parquet only: each column's DuckDB type, in header order. */
  types?: string[];
  size: number;
  /**
   * A gzip file only: a plain copy of the bytes it holds (repo/plain-copy.ts), which DuckDB reads
   * instead of inflating the file. Checks of the stored bytes (gzip checksums) read `path`.
   */
  plain?: string;
}

/** Where a file's CSV bytes are read from: its plain copy when it has one, else the file itself. */
export function csvBytes(file: SniffedFile): { path: string; compression: Compression } {
  return file.plain === undefined ? { path: file.path, compression: file.compression } : { path: file.plain, compression: 'none' };
}

const PEEK_BYTES = 1 << 16;
/** A header row longer than this is no FOCUS header. */
const MAX_HEADER_BYTES = 4 << 20;

/** `db` reads a Parquet file's schema; CSV needs none. */
export async function sniffFile(path: string, display: string, db?: Database): Promise<SniffedFile> {
  // Before opening it: opening a pipe waits for a writer.
  const kind = await stat(path).then(
    (s) => (s.isFile() || s.isDirectory() ? null : s.isFIFO() ? 'a pipe' : s.isSocket() ? 'a socket' : 'a device'),
    () => null, // open says what is wrong
  );
  if (kind !== null) {
    throw new UserError(`${display} is ${kind}, not a file`, {
      hint: 'the export is read more than once (checked, stored, counted): save it to a file first and name that file',
    });
  }
  const handle = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new UserError(`${display}: no such file`, { hint: 'check the path' });
    if (e.code === 'EISDIR') throw new UserError(`${display} is a folder, not a file`, { hint: 'name the export file itself' });
    throw e;
  });
  let head: Buffer;
  let size: number;
  try {
    const s = await handle.stat();
    if (s.isDirectory())
      throw new UserError(`${display} is a folder, not a file`, { hint: 'name the export file itself (CSV, .csv.gz or Parquet)' });
    size = s.size;
    const buf = Buffer.alloc(Math.min(PEEK_BYTES, size));
    await handle.read(buf, 0, buf.length, 0);
    head = buf;
  } finally {
    await handle.close();
  }
  const location = { file: display, line: 1, column: 1 };
  if (size === 0) {
    throw invalidInput(location, 'empty file', 'a FOCUS export (CSV with a header row, or Parquet)', '0 bytes', 'export the data again');
  }
  let compression: Compression = 'none';
  let text = head;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    compression = 'gzip';
    text = gunzipPrefix(head, display);
  } else if (head[0] === 0x50 && head[1] === 0x4b) {
    throw invalidInput(
      location,
      'unsupported file',
      'a FOCUS export: CSV, gzip-compressed CSV or Parquet',
      'a ZIP archive',
      'unzip it and ingest the file inside',
    );
  } else if (head.subarray(0, 4).toString('latin1') === 'PAR1') {
    if (!db) throw new Error('sniffFile: reading a Parquet schema needs the database');
    return sniffParquet(path, display, size, db);
  }
  if (text.length === 0) {
    throw invalidInput(location, 'empty file', 'a FOCUS CSV with a header row', 'no data after decompression');
  }
  const nul = text.indexOf(0);
  if (nul !== -1) {
    const encoding = text[0] === 0xff || text[0] === 0xfe ? 'UTF-16 text' : 'binary data (a NUL byte)';
    throw invalidInput(
      { file: display, ...positionOf(text, nul) },
      'not a text file',
      'UTF-8 CSV text',
      encoding,
      'save the export as UTF-8 CSV',
    );
  }
  const utf8 = new TextDecoder('utf-8', { fatal: false }).decode(text);
  const bad = utf8.indexOf('\uFFFD');
  // A replacement char inside the last 4 bytes may be a code point cut by the peek; ignore it.
  if (bad !== -1 && Buffer.byteLength(utf8.slice(0, bad)) < text.length - 4) {
    throw invalidInput(
      { file: display, ...positionOf(text, Buffer.byteLength(utf8.slice(0, bad))) },
      'invalid text encoding',
      'UTF-8',
      'bytes that are not UTF-8 (perhaps Latin-1 or Windows-1252)',
      'convert the file to UTF-8, e.g. `iconv -f WINDOWS-1252 -t UTF-8`',
    );
  }
  let firstRow = utf8.replace(/^\uFEFF/, '');
  // A quoted header longer than the first look (64 KB) is still a header: read on.
  if (!headerEnds(firstRow) && (head.length < size || compression === 'gzip'))
    firstRow = (await readHeader(path, compression, display)).replace(/^\uFEFF/, '');
  const header = parseHeaderLine(firstRow, display);
  return { path, display, compression, format: 'csv', header, size };
}

/** A Parquet file's columns and their types, read by DuckDB from the file's footer. */
async function sniffParquet(path: string, display: string, size: number, db: Database): Promise<SniffedFile> {
  let columns: { column_name: string; column_type: string }[];
  let stored: { name: string }[];
  try {
    columns = await db.query('SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($path))', { path });
    stored = await db.query('SELECT name FROM parquet_schema($path)', { path });
  } catch (e) {
    throw invalidInput(
      { file: display },
      'unreadable Parquet file',
      'a complete Parquet file',
      showValue((e as Error).message.split('\n')[0] ?? ''),
      'export or download it again',
    );
  }
  // DuckDB renames columns whose names differ only in case (billedcost → billedcost_1); which
  // one holds the amount would then be a guess, as a CSV with a repeated column name is refused.
  const names = new Set(stored.map((s) => s.name));
  const renamed = columns.find((c) => !names.has(c.column_name));
  if (renamed) {
    const base = renamed.column_name.replace(/_\d+$/, '').toLowerCase();
    const same = [...names].filter((n) => n.toLowerCase() === base);
    throw new UserError(`columns ${same.map((n) => JSON.stringify(n)).join(' and ')} differ only in case: expected each column once`, {
      location: { file: display },
      hint: 'column names are matched case-insensitively; remove or rename the duplicate',
    });
  }
  return {
    path,
    display,
    compression: 'none',
    format: 'parquet',
    header: columns.map((c) => c.column_name),
    types: columns.map((c) => c.column_type),
    size,
  };
}

/** The header row's text when it is longer than the first look: read on up to MAX_HEADER_BYTES. */
async function readHeader(path: string, compression: Compression, display: string): Promise<string> {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = compression === 'gzip' ? raw.pipe(gunzipStream()) : raw;
  let text = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      text += chunk.toString('utf8');
      if (text.length > MAX_HEADER_BYTES) break;
      if (headerEnds(text)) return text;
    }
  } catch {
    // a damaged stream: the scan reports it with its cause
  } finally {
    raw.destroy();
  }
  if (text.length > MAX_HEADER_BYTES)
    throw invalidInput(
      { file: display, line: 1, column: 1 },
      'unreadable header row',
      `a header row of column names (at most ${MAX_HEADER_BYTES / (1 << 20)} MB)`,
      'a longer first row',
      'check that the file is a complete CSV export',
    );
  return text;
}

/** The text holds a whole first row: a line break outside quotes. */
function headerEnds(text: string): boolean {
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 34) inQuotes = !inQuotes;
    else if ((ch === 10 || ch === 13) && !inQuotes) return true;
  }
  return false;
}

function gunzipPrefix(head: Buffer, display: string): Buffer {
  try {
    return gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: allow a truncated prefix */ });
  } catch (e) {
    throw invalidInput(
      { file: display, line: 1, column: 1 },
      'corrupt gzip file',
      'a readable .csv.gz',
      (e as Error).message,
      'download the export again',
    );
  }
}

/** 1-based line and column of a byte offset. */
export function positionOf(buf: Buffer, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = buf.indexOf(10); i !== -1 && i < offset; i = buf.indexOf(10, i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}
