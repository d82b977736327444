/**
 * Lines of CSV files, counted in JavaScript beside DuckDB: the byte scan every ingest makes
 * (lines, NUL bytes, gzip integrity), and the map from record numbers (1 = first data row) to
 * physical lines, for messages and flags. Records and lines differ when quoted fields hold
 * newlines or when blank lines are skipped.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { eachChunk, writeChunk } from '../core/file-chunks.ts';
import { gunzipStream } from '../core/zlib.ts';
import type { Compression } from './file.ts';

/** One streaming pass over the file, stopping after the last record asked for. */
export async function recordLines(
  { path, compression }: { path: string; compression: Compression },
  records: Iterable<number>,
): Promise<Map<number, number>> {
  const wanted = [...new Set(records)].sort((a, b) => a - b);
  const result = new Map<number, number>();
  if (wanted.length === 0) return result;
  let next = 0; // index into wanted
  let line = 1;
  let record = -1; // the header is record 0
  let inQuotes = false;
  let recordStarted = false;
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = compression === 'gzip' ? raw.pipe(gunzipStream()) : raw;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i] as number;
        if (!recordStarted) {
          if (c === 0x0a) {
            line++; // a blank line, which the CSV reader skips
            continue;
          }
          if (c === 0x0d) continue;
          recordStarted = true;
          record++;
          while (next < wanted.length && wanted[next] === record) {
            result.set(record, line);
            next++;
          }
          if (next === wanted.length) return result;
        }
        if (c === 0x22) inQuotes = !inQuotes;
        else if (c === 0x0a) {
          line++;
          if (!inQuotes) recordStarted = false;
        }
      }
    }
  } finally {
    raw.destroy();
  }
  return result;
}

/** What a pass over a CSV file's bytes finds: its physical lines, and the first NUL byte. */
export interface ByteScan {
  /** Physical lines, counting a last line without a newline. */
  lines: number;
  /** Where the first NUL byte is (a text file has none), or null. */
  nul: { line: number; column: number } | null;
  /** The longest physical line (ended by \n or \r): where, and its bytes (without the break). */
  longest: { line: number; bytes: number };
  /** The text's bytes: for a .csv.gz, what all its members inflate to. */
  bytes: number;
}

/** A .csv.gz's bytes as inflated by the byte scan, written to `path`; `sha256` is the .csv.gz's own, as read. */
export interface KeptPlain {
  path: string;
  sha256: string;
}

/** The gzip stream is damaged: a bad checksum or length, a cut, or bytes that are not gzip. */
export class CorruptGzip extends Error {}

/**
 * One pass over a CSV file's bytes, in JavaScript, alongside DuckDB's read of the same file:
 * counts lines (when they equal the records plus the header, record N is on line N + 1) and
 * finds any NUL byte. For a .csv.gz it decompresses with zlib, which checks every member's CRC
 * and length: a stream cut short, even at a row boundary, is refused, never half billed.
 */
export async function scanBytes(
  path: string,
  compression: Compression,
  signal: AbortSignal,
  options: { keepPlain?: string } = {},
): Promise<ByteScan & { kept: KeptPlain | null }> {
  let newlines = 0;
  let last = 10;
  let offset = 0; // bytes before the current chunk
  let lineStart = 0; // offset of the current line's first byte
  let runStart = 0; // offset of the first byte after the last \n or \r
  let nul: ByteScan['nul'] = null;
  const longest = { line: 1, bytes: 0 };
  const scan = (chunk: Buffer) => {
    if (nul === null) {
      const at = chunk.indexOf(0);
      if (at !== -1) {
        let line = newlines + 1;
        let start = lineStart;
        for (let i = chunk.indexOf(10); i !== -1 && i < at; i = chunk.indexOf(10, i + 1)) {
          line++;
          start = offset + i + 1;
        }
        nul = { line, column: offset + at - start + 1 };
      }
    }
    // A line (as its length counts) ends at \n or \r: a file of \r alone holds lines too, which
    // the CSV reader reads. Files without \r pay one search for it a chunk.
    let lf = chunk.indexOf(10);
    let cr = chunk.indexOf(13);
    while (lf !== -1 || cr !== -1) {
      const i = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      const bytes = offset + i - runStart;
      if (bytes > longest.bytes) Object.assign(longest, { line: newlines + 1, bytes });
      runStart = offset + i + 1;
      if (i === lf) {
        newlines++;
        lineStart = offset + i + 1;
        lf = chunk.indexOf(10, i + 1);
      } else cr = chunk.indexOf(13, i + 1);
    }
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
    offset += chunk.length;
  };
  let kept: KeptPlain | null = null;
  if (compression === 'gzip') {
    const raw = createReadStream(path, { highWaterMark: 1 << 20, signal });
    const gunzip = gunzipStream();
    raw.on('error', (e) => gunzip.destroy(e)); // an abort ends the count, not just the read
    // With keepPlain, the inflated bytes are also written there (a plain copy, see
    // repo/plain-copy.ts), and the .csv.gz hashed as read; a write that fails only loses the copy.
    const inflated = raw.pipe(gunzip) as AsyncIterable<Buffer>;
    const hash = options.keepPlain ? createHash('sha256') : null;
    if (hash)
      raw.on('data', (c) => {
        hash.update(c);
      });
    const out = options.keepPlain ? createWriteStream(options.keepPlain) : null;
    let failed = false;
    out?.on('error', () => {
      failed = true;
    });
    try {
      for await (const chunk of inflated) {
        scan(chunk);
        if (out && !failed)
          await writeChunk(out, chunk).catch(() => {
            failed = true;
          });
      }
    } catch (e) {
      out?.destroy();
      if (signal.aborted) throw e;
      throw new CorruptGzip((e as Error).message);
    } finally {
      raw.destroy();
    }
    if (out && hash) {
      out.end();
      await finished(out).catch(() => {
        failed = true;
      });
      if (!failed) kept = { path: out.path as string, sha256: hash.digest('hex') };
    }
  } else {
    await eachChunk(path, scan, signal);
  }
  if (offset - runStart > longest.bytes) Object.assign(longest, { line: newlines + 1, bytes: offset - runStart });
  return { lines: newlines + (last === 10 ? 0 : 1), nul, longest, bytes: offset, kept };
}

/**
 * Whether a plain file's last line is longer than `limit` bytes, read from its end alone (a
 * final line break aside). DuckDB's parallel reader drops such a last line without a word when it
 * is longer than its buffer; a file ingest took never has one (scanBytes measures every line),
 * but one committed by hand is read by reports before `validate` has looked at it.
 */
export async function lastLineLonger(path: string, limit: number): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const want = limit + 3; // the limit, one byte more, and a final \r\n
    if (size < want) return false;
    const tail = Buffer.alloc(want);
    await handle.read(tail, 0, want, size - want);
    let end = tail.length;
    if (tail[end - 1] === 10) end--;
    if (tail[end - 1] === 13) end--;
    // A line ends at \n or \r (a file of \r alone).
    const body = tail.subarray(0, end);
    return body.lastIndexOf(10) === -1 && body.lastIndexOf(13) === -1;
  } finally {
    await handle.close();
  }
}
