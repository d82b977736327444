/**
 * DuckDB's errors while reading a data file, as messages for people. Only errors about the file
 * (its CSV structure, its amounts) are blamed on it; anything else is rethrown as it is.
 */
import { CONFLICT_MARKER, invalidInput, mergeConflict, UserError } from '../core/errors.ts';
import { OutOfMemory } from '../db/duckdb.ts';
import type { ChargeFile } from './read-sql.ts';

/** "CSV" or "Parquet", for messages. */
export function formatName(f: ChargeFile): string {
  return f.file.format === 'parquet' ? 'Parquet' : f.file.compression === 'gzip' ? 'gzip-compressed CSV' : 'CSV';
}

/** Translates a DuckDB error met while reading `f`; throws the located message, or the error itself. */
export function throwReadError(e: unknown, f: ChargeFile): never {
  if (e instanceof OutOfMemory) throw new OutOfMemory(e.message, { location: { file: f.file.display }, hint: e.hint, cause: e.cause });
  const raw = (e as Error).message ?? String(e);
  // Read from its plain copy, the file is still the stored one for whoever reads the message.
  const message = f.file.plain === undefined ? raw : raw.split(f.file.plain).join(f.file.display);
  const line = /CSV Error on Line: (\d+)/.exec(message)?.[1];
  const location = { file: f.file.display, line: line ? Number(line) : undefined };
  if (/Overflow in (HUGEINT|DECIMAL)|Out of Range Error/i.test(message)) {
    throw invalidInput(
      { file: f.file.display },
      'amounts too large',
      'amounts that add up to less than 10^20 in each currency',
      'a sum beyond what an exact DECIMAL(38,18) holds',
      'check the cost columns for misplaced digits; no real month of charges comes near 10^20',
    );
  }
  if (/Maximum line size of (\d+) bytes exceeded/.test(message)) {
    const size = /Maximum line size of (\d+) bytes/.exec(message)?.[1];
    const actual = /Actual Size:\s*(\d+)/.exec(message)?.[1];
    throw lineTooLong(location, Number(size), actual === undefined ? undefined : Number(actual));
  }
  if (!line && f.file.format === 'parquet') {
    throw invalidInput(
      { file: f.file.display },
      'unreadable Parquet file',
      'a complete Parquet file',
      JSON.stringify(message.split('\n')[0]),
      'export or download it again',
    );
  }
  if (!line && !/CSV|gzip|decompress|zlib|unicode|utf-8/i.test(message)) throw e;
  if (/unterminated quote/i.test(message)) {
    throw invalidInput(
      location,
      'malformed CSV',
      'a closing double quote',
      'a quoted value that never ends',
      'a field with a " must be quoted and its quotes doubled ("")',
    );
  }
  // Two branches that stored the same export file: git merged their lines and left its markers.
  const conflict = /^Original Line: (.*)$/m.exec(message)?.[1]?.match(CONFLICT_MARKER)?.[0];
  if (conflict)
    throw mergeConflict(
      location,
      conflict,
      'two branches stored this file: keep one side whole (`git checkout --theirs -- <file>` or `--ours`), then `git add` it; a data file is never merged line by line',
    );
  const columns = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(message);
  if (columns) {
    throw invalidInput(
      location,
      'malformed CSV',
      `${columns[1]} fields as in the header`,
      `${columns[2]} fields`,
      'values with commas must be quoted',
    );
  }
  if (/invalid state|Invalid unicode|not utf-8/i.test(message)) {
    throw invalidInput(
      location,
      'malformed CSV',
      'RFC 4180 CSV text',
      'bytes the CSV reader cannot parse',
      'check the export is a complete, uncorrupted CSV',
    );
  }
  if (/gzip|decompress|zlib/i.test(message)) throw corruptGzip(f, message);
  throw new UserError(`could not read the file: ${message.split('\n')[0]}`, {
    location,
    hint: `check that the file is a complete ${formatName(f)} export`,
  });
}

/** A line longer than the CSV reader accepts (`bytes` of it, when known). */
export function lineTooLong(location: { file: string; line?: number }, limit: number, bytes?: number): UserError {
  return invalidInput(
    location,
    'line too long',
    `lines of at most ${limit.toLocaleString('en-US')} bytes`,
    `a longer line${bytes === undefined ? '' : ` (${bytes.toLocaleString('en-US')} bytes)`}`,
    'a FOCUS row this long is usually a quote that was never closed, or a file that is not CSV',
  );
}

export function corruptGzip(f: ChargeFile, detail: string): UserError {
  return invalidInput(
    { file: f.file.display },
    'corrupt gzip file',
    'a complete .csv.gz whose checksum and length match',
    `a stream that ends early or is damaged (${detail.split('\n')[0]})`,
    'download the export again; a file cut short would bill only part of the month',
  );
}
