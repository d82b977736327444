/**
 * Maps CSV record numbers (1 = first data row) to physical line numbers, for messages and flags.
 * Records and lines differ when quoted fields hold newlines or when blank lines are skipped.
 * One streaming pass over the file, stopping after the last record asked for.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Compression } from './file.ts';

export async function recordLines(path: string, compression: Compression, records: Iterable<number>): Promise<Map<number, number>> {
  const wanted = [...new Set(records)].sort((a, b) => a - b);
  const result = new Map<number, number>();
  if (wanted.length === 0) return result;
  let next = 0; // index into wanted
  let line = 1;
  let record = -1; // the header is record 0
  let inQuotes = false;
  let recordStarted = false;
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = compression === 'gzip' ? raw.pipe(createGunzip()) : raw;
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
