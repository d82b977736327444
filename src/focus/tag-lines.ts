/**
 * The lines of a CSV file whose Tags text is one of a set (or, for some texts, whose amount is
 * too), cut out in JavaScript: how ingest's scan finds the rows it holds for review without
 * reading the whole file again in DuckDB (see scan.ts, `locateByLines`). One pass over the bytes
 * (0.2–0.3 s for the 1M-row month, where DuckDB's second read took 0.8 s and 1.3 s of CPU) finds
 * each line's Tags field, reads it as the CSV reader and `trimmedSql` do (quotes undoubled, null
 * tokens, spaces and no-break spaces trimmed), and keeps the lines wanted, for DuckDB to judge.
 *
 * Only for a file whose every record is one physical line (the scan's byte count says so):
 * line N then holds record N - 1. What it finds is checked, not trusted: the scan judges the
 * lines with the same SQL and falls back to DuckDB's read when they are not exactly the rows
 * it counted. A field this pass reads otherwise than DuckDB can only cost that fallback.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { writeChunk } from '../core/file-chunks.ts';
import { gunzipStream } from '../core/zlib.ts';
import type { Compression } from './file.ts';

export interface TagLinesQuery {
  /** The Tags column's index, and how many columns each line has. */
  column: number;
  columns: number;
  /** Trimmed Tags texts whose every line is wanted, as the scan's `_tags_raw` holds them. */
  texts: Iterable<string>;
  /** Whether every row without a Tags text (NULL) is wanted too. */
  withoutText: boolean;
  /**
   * Of other texts (or none, null), only the lines whose amount (column `column`, as read: not
   * trimmed, null tokens null) is one of the texts paired with theirs: rows held by their other
   * columns share their Tags text with most rows, and their amount tells them apart.
   */
  pairs?: { column: number; values: Iterable<readonly [string | null, string | null]> };
  /** Give up (null) past this many lines wanted. */
  limit?: number;
}

export interface TagLines {
  /** The physical line (1 is the header) of each line written after the header, in order. */
  lines: number[];
  /** How many of them were wanted for their text alone (`texts`, `withoutText`). */
  whole: number;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;

/** What a line is wanted for. */
const NO = 0;
const TEXT = 1;
const PAIR = 2;

/**
 * Writes the file's header line and every line wanted to `out`, byte for byte, in order; returns
 * their line numbers, or null past `limit`. A line whose fields cannot be found (too few, a
 * quote left open) is never written: the scan's check then finds a row missing.
 */
export async function cutTagLines(path: string, compression: Compression, query: TagLinesQuery, out: string): Promise<TagLines | null> {
  const wanted = new Set(query.texts);
  const hashes = new Set<number>();
  // And the lengths their fields can have in the file, tested first: most lines' differ.
  const lengths = new Set<number>();
  const hash = (t: string) => {
    const bytes = Buffer.byteLength(t);
    lengths.add(bytes).add(bytes + t.split('"').length - 1); // as it is, or quoted with its quotes doubled
    return fnv(Buffer.from(t, 'utf8'), 0, bytes, false);
  };
  for (const t of wanted) hashes.add(hash(t));
  /** The amounts wanted with each other text (the key null: no text). */
  const amounts = new Map<string | null, Set<string | null>>();
  for (const [t, c] of query.pairs?.values ?? []) {
    if (t === null ? query.withoutText : wanted.has(t)) continue;
    amounts.set(t, (amounts.get(t) ?? new Set()).add(c));
    if (t !== null) hashes.add(hash(t));
  }
  const nearer = (column: number) => {
    const fromEnd = column > query.columns - 1 - column;
    const k = fromEnd ? query.columns - 1 - column : column;
    return (b: Buffer, s: number, e: number) => (fromEnd ? fieldFromEnd(b, s, e, k) : fieldFromStart(b, s, e, k));
  };
  const tagsField = nearer(query.column);
  const amountField = nearer(query.pairs?.column ?? 0);
  /** Whether the line's amount is one of `costs`. */
  const amountIn = (b: Buffer, s: number, e: number, costs: Set<string | null>): boolean => {
    if (!amountField(b, s, e)) return false;
    const { start: a, end: z } = field;
    // As the CSV reader gives it: null tokens (quoted ones too) null, nothing trimmed.
    if (a === z || (z - a === 4 && isNullToken(b, a))) return costs.has(null);
    const text = b.toString('utf8', a, z);
    return costs.has(field.quoted ? text.replaceAll('""', '"') : text);
  };
  /** What the line [s, e) (without its newline) is wanted for. */
  const wants = (b: Buffer, s: number, e: number): number => {
    if (e > s && b[e - 1] === CR) e--;
    if (!tagsField(b, s, e)) return NO;
    let a = field.start;
    let z = field.end;
    // The CSV reader's null tokens ('', NULL, null) are read before trimming (quoted ones too).
    const nullText = () => {
      if (query.withoutText) return TEXT;
      const costs = amounts.get(null);
      return costs && amountIn(b, s, e, costs) ? PAIR : NO;
    };
    if (a === z || (z - a === 4 && isNullToken(b, a))) return nullText();
    // Spaces and no-break spaces (U+00A0, bytes C2 A0) trimmed, as attribution-sql's PAD.
    for (;;) {
      if (a < z && b[a] === SPACE) a++;
      else if (a + 1 < z && b[a] === 0xc2 && b[a + 1] === 0xa0) a += 2;
      else break;
    }
    for (;;) {
      if (z > a && b[z - 1] === SPACE) z--;
      else if (z - 1 > a && b[z - 1] === 0xa0 && b[z - 2] === 0xc2) z -= 2;
      else break;
    }
    if (a === z) return nullText();
    if (!lengths.has(z - a) || !hashes.has(fnv(b, a, z, field.quoted))) return NO;
    const raw = b.toString('utf8', a, z);
    const text = field.quoted ? raw.replaceAll('""', '"') : raw;
    if (wanted.has(text)) return TEXT;
    const costs = amounts.get(text);
    return costs && amountIn(b, s, e, costs) ? PAIR : NO;
  };

  const lines: number[] = [];
  const output = createWriteStream(out);
  const failed = new Promise<never>((_, reject) => output.on('error', reject));
  failed.catch(() => {});
  let line = 0;
  let rest: Buffer | null = null; // a line cut by the chunk's end
  const pending: Buffer[] = [];
  let whole = 0;
  /** The line [s, e) of `b` (newline excluded) is the next one. */
  const take = (b: Buffer, s: number, e: number, newline: boolean) => {
    line++;
    const why = line === 1 ? TEXT : wants(b, s, e);
    if (why === NO) return;
    if (line > 1) {
      lines.push(line);
      if (why === TEXT) whole++;
    }
    // Each with its own line end; the file's last line, when it has none, is the last written.
    pending.push(Buffer.from(b.subarray(s, newline ? e + 1 : e)));
  };
  try {
    for await (const chunk of chunks(path, compression)) {
      let s = 0;
      let nl = chunk.indexOf(LF);
      if (rest !== null && nl !== -1) {
        const joined: Buffer = Buffer.concat([rest, chunk.subarray(0, nl + 1)]);
        take(joined, 0, joined.length - 1, true);
        rest = null;
        s = nl + 1;
        nl = chunk.indexOf(LF, s);
      }
      for (; nl !== -1; nl = chunk.indexOf(LF, s)) {
        take(chunk, s, nl, true);
        s = nl + 1;
      }
      if (s < chunk.length) rest = rest === null ? Buffer.from(chunk.subarray(s)) : Buffer.concat([rest, chunk.subarray(s)]);
      if (pending.length) await Promise.race([writeChunk(output, Buffer.concat(pending.splice(0))), failed]);
      if (query.limit !== undefined && lines.length > query.limit) return null;
    }
    if (rest !== null) take(rest, 0, rest.length, false);
    if (query.limit !== undefined && lines.length > query.limit) return null;
    if (pending.length) await Promise.race([writeChunk(output, Buffer.concat(pending.splice(0))), failed]);
    output.end();
    await finished(output);
  } finally {
    output.destroy();
  }
  return { lines, whole };
}

/** The file's bytes in order (a .csv.gz inflated); a chunk is valid until the next is asked for. */
async function* chunks(path: string, compression: Compression): AsyncGenerator<Buffer> {
  if (compression === 'gzip') {
    const raw = createReadStream(path, { highWaterMark: 1 << 20 });
    try {
      yield* raw.pipe(gunzipStream()) as AsyncIterable<Buffer>;
    } finally {
      raw.destroy();
    }
    return;
  }
  const handle = await open(path, 'r');
  // Two buffers: the next is read while the lines of the one before are looked at.
  const buffers = [Buffer.allocUnsafe(4 << 20), Buffer.allocUnsafe(4 << 20)];
  const read = (buffer: Buffer) => handle.read(buffer, 0, buffer.length).then(({ bytesRead }) => buffer.subarray(0, bytesRead));
  let reading = read(buffers[0] as Buffer);
  try {
    for (let k = 1; ; k ^= 1) {
      const chunk = await reading;
      if (chunk.length === 0) return;
      reading = read(buffers[k] as Buffer);
      yield chunk;
    }
  } finally {
    await reading.catch(() => {});
    await handle.close();
  }
}

/** The field last found by fieldFromStart or fieldFromEnd: its value's bytes (inside quotes, still doubled). */
const field = { start: 0, end: 0, quoted: false };

/** Finds field `k` (0 = first) of the line [s, e), into `field`. */
function fieldFromStart(b: Buffer, s: number, e: number, k: number): boolean {
  let p = s;
  for (let j = 0; ; j++) {
    let start: number;
    let end: number;
    const quoted = p < e && b[p] === QUOTE;
    if (quoted) {
      let i = p + 1;
      for (;;) {
        if (i >= e) return false;
        if (b[i] === QUOTE) {
          if (i + 1 < e && b[i + 1] === QUOTE) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      start = p + 1;
      end = i;
      p = i + 1;
    } else {
      let i = p;
      while (i < e && b[i] !== COMMA) i++;
      start = p;
      end = i;
      p = i;
    }
    if (j === k) {
      field.start = start;
      field.end = end;
      field.quoted = quoted;
      // The field must end the line or be followed by a comma; and the line hold no fewer fields.
      return p === e || b[p] === COMMA;
    }
    if (p >= e || b[p] !== COMMA) return false;
    p++;
  }
}

/** Finds field `k` counted from the last (0 = last) of the line [s, e), into `field`. */
function fieldFromEnd(b: Buffer, s: number, e: number, k: number): boolean {
  let p = e; // the end of the field being read
  for (let j = 0; ; j++) {
    let start: number;
    let end: number;
    const quoted = p > s && b[p - 1] === QUOTE;
    if (quoted) {
      let i = p - 2;
      for (;;) {
        if (i < s) return false;
        if (b[i] === QUOTE) {
          // Inside quotes every quote is doubled; the opening one follows a comma or starts the line.
          if (i - 1 >= s && b[i - 1] === QUOTE) {
            i -= 2;
            continue;
          }
          break;
        }
        i--;
      }
      start = i + 1;
      end = p - 1;
      p = i;
    } else {
      let i = p - 1;
      while (i >= s && b[i] !== COMMA) i--;
      start = i + 1;
      end = p;
      p = i + 1;
    }
    if (j === k) {
      field.start = start;
      field.end = end;
      field.quoted = quoted;
      return p === s || b[p - 1] === COMMA;
    }
    if (p <= s || b[p - 1] !== COMMA) return false;
    p--;
  }
}

function isNullToken(b: Buffer, a: number): boolean {
  // NULL or null
  return (
    (b[a] === 0x4e && b[a + 1] === 0x55 && b[a + 2] === 0x4c && b[a + 3] === 0x4c) ||
    (b[a] === 0x6e && b[a + 1] === 0x75 && b[a + 2] === 0x6c && b[a + 3] === 0x6c)
  );
}

/** FNV-1a of the bytes [a, z), doubled quotes counted once when `quoted`. */
function fnv(b: Buffer, a: number, z: number, quoted: boolean): number {
  let h = 0x811c9dc5;
  for (let j = a; j < z; j++) {
    const c = b[j] as number;
    if (quoted && c === QUOTE) j++;
    h = Math.imul(h ^ c, 16777619);
  }
  return h >>> 0;
}
