/**
 * What a stored data file holds, as the export it keeps: for a file compressed at ingest, the
 * original's size and sha256 recorded beside it; else the file's own bytes (inflated, for a
 * `.gz`). Used to find one export stored twice in a period, under two sources (ingested as AWS
 * and again as GCP, say, or by two pull requests) or as two parts of one, which every statement
 * would bill twice.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { gunzipStream } from '../core/zlib.ts';
import { type RememberedKind, rememberedValue } from './content-id.ts';
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
 * A file's export, identified by its plain bytes: `bytes()` their count, `sha256()` their hash,
 * each computed once when asked. Counts differ for almost any two exports, so few are hashed.
 */
export interface HeldExport {
  path: string;
  bytes: () => Promise<number>;
  sha256: () => Promise<string>;
}

/**
 * What a `.gz` stored as delivered inflates to, in bytes, remembered as a file's sha256 is
 * (content-id.ts). Its trailer does not tell: it records the last member's size alone (modulo
 * 4 GiB), and a gzip file may be several members one after the other (`cat a.gz b.gz`, bgzip),
 * which inflate to one export.
 */
export const INFLATED_BYTES: RememberedKind = { name: 'inflated-bytes', pattern: /^\d+$/ };

/**
 * The export a file holds. `remember` is where counts of inflated bytes are kept (the
 * repository's `.cache/hashes`), so that a `.gz` is inflated to be counted once, not on every
 * read of its month; `inflated` is its count where the caller has just made it.
 */
export async function heldExport(path: string, options: { remember?: string; inflated?: number | null } = {}): Promise<HeldExport> {
  const original = await readOriginal(path);
  if (original) return { path, bytes: async () => original.bytes, sha256: async () => original.sha256 };
  if (!path.endsWith('.gz')) {
    const { size } = await stat(path);
    let hex: Promise<string> | undefined;
    return { path, bytes: async () => size, sha256: () => (hex ??= sha256File(path)) };
  }
  let bytes: Promise<number> | undefined;
  let hex: Promise<string> | undefined;
  const count = async () => {
    const { inflated, remember } = options;
    if (typeof inflated === 'number') return inflated;
    const counted = () => inflate(path).then((r) => String(r.bytes));
    return Number(remember ? await rememberedValue(remember, path, INFLATED_BYTES, counted) : await counted());
  };
  return { path, bytes: () => (bytes ??= count()), sha256: () => (hex ??= inflate(path, true).then((r) => r.sha256)) };
}

/** A gzip file's inflated bytes, counted, and hashed when asked; a file that does not inflate counts -1 and gets a hash no export has. */
async function inflate(path: string, hashed = false): Promise<{ bytes: number; sha256: string }> {
  const hash = hashed ? createHash('sha256') : null;
  let bytes = 0;
  try {
    await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), gunzipStream(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        bytes += chunk.length;
        hash?.update(chunk);
      }
    });
  } catch {
    return { bytes: -1, sha256: `unreadable:${path}` };
  }
  return { bytes, sha256: hash?.digest('hex') ?? '' };
}

/** Whether two held exports are the same bytes: counts first, then sha256. */
export async function sameHeld(a: HeldExport, b: HeldExport): Promise<boolean> {
  const [x, y] = await Promise.all([a.bytes(), b.bytes()]);
  return x >= 0 && x === y && (await a.sha256()) === (await b.sha256());
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
 * link) or a copy, plain or compressed. Only files of equal size are hashed. Unless `header` is
 * false, a copy of a first line alone does not count (two sources' months without usage can be
 * the same CSV header). `remember`: see heldExport; `inflated`: each file's count of inflated
 * bytes where the caller has made it (a scan), so that no `.gz` is inflated again to be counted.
 * With `sameFileOnly`, only one file named twice (by path or link) is looked for, which costs a
 * stat.
 */
export async function sameExportTwice<T extends { path: string }>(
  files: T[],
  options: { header?: boolean; remember?: string; inflated?: (number | null | undefined)[]; sameFileOnly?: boolean } = {},
): Promise<{ files: [T, T]; sameFile: boolean } | null> {
  const ids = await Promise.all(files.map((f) => stat(f.path).then((st) => `${st.dev}:${st.ino}`)));
  const held = options.sameFileOnly
    ? []
    : await Promise.all(files.map((f, i) => heldExport(f.path, { remember: options.remember, inflated: options.inflated?.[i] })));
  for (const [j, b] of files.entries())
    for (const [i, a] of files.slice(0, j).entries()) {
      const pair: [T, T] = [a, b];
      if (ids[i] === ids[j]) return { files: pair, sameFile: true };
      const [x, y] = [held[i], held[j]];
      if (x && y && (await sameHeld(x, y)) && (options.header === false || (await holdsRows(b.path))))
        return { files: pair, sameFile: false };
    }
  return null;
}
