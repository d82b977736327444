/**
 * What a stored data file holds, as the export it keeps: for a file compressed at ingest, the
 * original's size and sha256 recorded beside it; else the file's own bytes (inflated, for a
 * `.gz`). Used to find one export stored twice in a period, under two sources (ingested as AWS
 * and again as GCP, say, or by two pull requests) or as two parts of one, which every statement
 * would bill twice.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { gunzipStream } from '../core/zlib.ts';
import { sha256File } from './hash.ts';
import type { OriginalFile } from './write.ts';

/** Beside a data file compressed at ingest: the export it was made from (name, size, sha256). */
export const ORIGINAL_SUFFIX = '.original.json';

/** The stored file a record is named for (`aws.csv.gz` for `aws.csv.gz.original.json`), or null for a name that is no record's. */
export function recordedExport(name: string): string | null {
  return name.endsWith(ORIGINAL_SUFFIX) ? name.slice(0, -ORIGINAL_SUFFIX.length) : null;
}

/** The export a compressed data file was made from, as recorded beside it; null without a (readable) record. */
export async function readOriginal(stored: string): Promise<OriginalFile | null> {
  const text = await readFile(`${stored}${ORIGINAL_SUFFIX}`, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const o = (JSON.parse(text) as { original?: OriginalFile } | null)?.original;
    return o && typeof o.sha256 === 'string' && typeof o.bytes === 'number' ? o : null;
  } catch {
    return null;
  }
}

/**
 * A file's export, identified by its plain bytes: `sizeKey` is their count modulo 4 GiB (what a
 * gzip trailer records), `sha256()` their hash, computed once when asked (inflating a `.gz`
 * without a record). Equal size keys are rare, so few files are ever hashed.
 */
export interface HeldExport {
  path: string;
  sizeKey: number;
  sha256: () => Promise<string>;
}

const FOUR_GIB = 2 ** 32;

export async function heldExport(path: string): Promise<HeldExport> {
  const original = await readOriginal(path);
  if (original) return { path, sizeKey: original.bytes % FOUR_GIB, sha256: async () => original.sha256 };
  const gz = path.endsWith('.gz');
  const sizeKey = gz ? await gzipTrailerSize(path) : (await stat(path)).size % FOUR_GIB;
  let hex: Promise<string> | undefined;
  return { path, sizeKey, sha256: () => (hex ??= gz ? inflatedSha256(path) : sha256File(path)) };
}

/** What a gzip file's trailer says it inflates to (RFC 1952's ISIZE: the last member's size modulo 4 GiB); -1 if too short. */
async function gzipTrailerSize(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 18) return -1;
    const trailer = Buffer.alloc(4);
    await handle.read(trailer, 0, 4, size - 4);
    return trailer.readUInt32LE(0);
  } finally {
    await handle.close();
  }
}

/** The sha256 of a gzip file's inflated bytes; a file that does not inflate gets a hash no export has. */
async function inflatedSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), gunzipStream(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) hash.update(chunk);
    });
  } catch {
    return `unreadable:${path}`;
  }
  return hash.digest('hex');
}

/** Whether two held exports are the same bytes: size keys first, then sha256. */
export async function sameHeld(a: HeldExport, b: HeldExport): Promise<boolean> {
  return a.sizeKey === b.sizeKey && (await a.sha256()) === (await b.sha256());
}

/**
 * Whether a CSV (plain or gzip) has a line after its header: two sources' exports of a month
 * without usage can be the same header alone, which bills nothing twice. Reads the first 4 MB
 * only; Parquet is taken as holding rows.
 */
export async function holdsRows(path: string): Promise<boolean> {
  if (path.endsWith('.parquet')) return true;
  const LIMIT = 4 << 20;
  const raw = createReadStream(path, { start: 0, end: LIMIT - 1 });
  const stream = path.endsWith('.gz') ? raw.pipe(gunzipStream()) : raw;
  const chunks: Buffer[] = [];
  let read = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      read += chunk.length;
      if (read >= LIMIT) break;
    }
  } catch {
    // gzip cut at the read's end, or a broken file (its readers say what is wrong): what came is enough
  } finally {
    raw.destroy();
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const lineBreak = text.indexOf('\n');
  return lineBreak < 0 ? read >= LIMIT : text.slice(lineBreak + 1).trim() !== '';
}

/**
 * The first two of these files that hold the same bytes: the same file (by another path or a
 * link) or a copy, plain or compressed. Only files of equal size are hashed. With `header`, a
 * copy of a first line alone does not count (two sources' months without usage can be the same
 * CSV header).
 */
export async function sameExportTwice<T extends { path: string }>(
  files: T[],
  options: { header: boolean } = { header: true },
): Promise<{ files: [T, T]; sameFile: boolean } | null> {
  const held = await Promise.all(files.map((f) => heldExport(f.path)));
  const ids = await Promise.all(files.map((f) => stat(f.path).then((st) => `${st.dev}:${st.ino}`)));
  for (const [j, b] of held.entries())
    for (const [i, a] of held.slice(0, j).entries()) {
      const pair: [T, T] = [files[i] as T, files[j] as T];
      if (ids[i] === ids[j]) return { files: pair, sameFile: true };
      if ((await sameHeld(a, b)) && (!options.header || (await holdsRows(b.path)))) return { files: pair, sameFile: false };
    }
  return null;
}
