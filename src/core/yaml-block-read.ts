/**
 * The value of a YAML text in the block layout the tool writes (see yaml-block.ts) and hand edits
 * of it keep, read without a general parser, for files as large as a period's flags.yaml: js-yaml
 * takes 4.8-6.5 s for 100,000 flags (61 MB), most of it reading plain scalars character by
 * character; this reads them in 0.9-1.4 s.
 *
 * It reads only what it is sure of: block maps whose keys are identifiers, block lists, and
 * one-line scalars (plain, single- or double-quoted with JSON's escapes, `[]` and `{}`), with
 * whole-line comments and blank lines between. A plain scalar's value is what js-yaml's schema
 * makes of its text, as its `load` resolves it. A line is read only by the map or list at its
 * own indentation (or as the first line of a value below a key or a dash), and a text only when
 * every line is. Anything else (tabs, carriage returns, characters YAML forbids, documents,
 * anchors, tags, flow collections, block scalars, a scalar going on to the next line, a comment
 * after a value, a key given twice or read as another, indentation out of place) and it returns
 * undefined: the caller parses the text with the full parser, which gives the same value, or the
 * error and its location. test/yaml-block.test.ts holds both to the same values over hostile
 * texts, hand-edited and random layouts.
 */
import { CORE_SCHEMA } from 'js-yaml';

/** Thrown inside: the text needs the full parser. */
const FALLBACK = Symbol('fallback');

/** Characters YAML does not allow in a document (as js-yaml tests them), and the ones this reader leaves to it. */
const REFUSED =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF\t\r\uFEFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:[^\uD800-\uDBFF]|^)[\uDC00-\uDFFF]/;
/** A plain scalar cannot start with these (indicators), nor with - ? : followed by a space. */
const INDICATOR = /^(?:[,[\]{}#&*!|>'"%@`]|[-?:](?: |$))/;
const KEY = /[A-Za-z_][A-Za-z0-9_]*/y;
/** Deeper nesting is left to the full parser (js-yaml refuses 100 levels; this reader recurses). */
const MAX_DEPTH = 50;

const SPACE = 0x20;
const DASH = 0x2d;
const HASH = 0x23;
const COLON = 0x3a;
const DOUBLE = 0x22;
const SINGLE = 0x27;
const BACKSLASH = 0x5c;

/** The text's value, or undefined when it needs the full parser (js-yaml's `load`, whose default schema this resolves plain scalars with). */
export function parseBlock(text: string): unknown {
  return read(new Reader(text));
}

/** Where the items of a block list are in the text: each item's first line, and the end of the list's last line (or of the text). */
export interface ItemLines {
  starts: number[];
  end: number;
}

/**
 * As parseBlock, and where the items of the block list under the top-level key `key` are (for
 * edits in place, see flags/edit.ts); no `items` when that value is not a block list.
 */
export function parseBlockItems(text: string, key: string): { value: unknown; items?: ItemLines } | undefined {
  const reader = new Reader(text, key);
  const value = read(reader);
  return value === undefined ? undefined : { value, items: reader.items };
}

function read(reader: Reader): unknown {
  if (REFUSED.test(reader.text)) return undefined;
  try {
    reader.skip();
    if (reader.done || reader.indent !== 0) return undefined;
    const value = reader.node(0);
    return reader.done ? value : undefined;
  } catch (e) {
    if (e === FALLBACK) return undefined;
    throw e;
  }
}

class Reader {
  /** The current line: where its content starts (after its indentation), where it ends (its newline or the text's end). */
  private start = 0;
  private end = 0;
  /** Where the next line starts. */
  private next = 0;
  /** The current line's indentation (a list item's content: its column). */
  indent = 0;
  done = false;
  private readonly keys = new Map<number, string[]>();
  /** How many maps and lists the current line is inside. */
  private depth = 0;
  /** Where the items of the list under the top-level key `track` are, once read. */
  items: ItemLines | undefined;

  constructor(
    readonly text: string,
    private readonly track?: string,
  ) {}

  /** Where the current line starts. */
  private lineStart(): number {
    return this.done ? this.text.length : this.start - this.indent;
  }

  /** Moves to the next line with content (from `next`): blank lines and whole-line comments are skipped. */
  skip(): void {
    const t = this.text;
    for (;;) {
      if (this.next >= t.length) {
        this.done = true;
        return;
      }
      const lineStart = this.next;
      let end = t.indexOf('\n', lineStart);
      if (end === -1) end = t.length;
      this.next = end + 1;
      let p = lineStart;
      while (p < end && t.charCodeAt(p) === SPACE) p++;
      // (A line starting a document (---), ending one (...), or a directive (%) is neither a key nor
      // a list item, so the text is left to the full parser.)
      if (p === end || t.charCodeAt(p) === HASH) continue;
      this.start = p;
      this.end = end;
      this.indent = p - lineStart;
      return;
    }
  }

  /** The value whose first line is the current one, at `indent`. */
  node(indent: number, starts?: number[]): unknown {
    return this.isItem() ? this.list(indent, starts) : this.map(indent);
  }

  private isItem(): boolean {
    if (this.text.charCodeAt(this.start) !== DASH) return false;
    return this.start + 1 === this.end || this.text.charCodeAt(this.start + 1) === SPACE;
  }

  /** A block list at `indent`; `starts` gets where each item's first line starts. */
  private list(indent: number, starts?: number[]): unknown[] {
    if (++this.depth > MAX_DEPTH) throw FALLBACK;
    const list: unknown[] = [];
    while (!this.done && this.indent === indent && this.isItem()) {
      starts?.push(this.lineStart());
      let p = this.start + 1;
      while (p < this.end && this.text.charCodeAt(p) === SPACE) p++;
      if (p === this.end) {
        list.push(this.below(indent));
        continue;
      }
      // The item's content, as if it were a line of its own at its column.
      const column = indent + (p - this.start);
      this.start = p;
      this.indent = column;
      if (this.keyEnd() !== -1) list.push(this.map(column));
      else {
        list.push(this.scalar(p));
        this.skip();
      }
    }
    this.depth--;
    return list;
  }

  private map(indent: number): Record<string, unknown> {
    if (++this.depth > MAX_DEPTH) throw FALLBACK;
    const map: Record<string, unknown> = {};
    while (!this.done && this.indent === indent && !this.isItem()) {
      const colon = this.keyEnd();
      if (colon === -1) throw FALLBACK;
      const key = this.key(colon);
      if (Object.hasOwn(map, key)) throw FALLBACK; // the full parser's error, with where
      let p = colon + 1;
      while (p < this.end && this.text.charCodeAt(p) === SPACE) p++;
      if (p === this.end) {
        const starts = indent === 0 && key === this.track ? [] : undefined;
        // A list may sit at the key's own indentation.
        if (this.skipLine() && this.indent === indent && this.isItem()) map[key] = this.list(indent, starts);
        else map[key] = this.done || this.indent <= indent ? null : this.node(this.indent, starts);
        if (starts && Array.isArray(map[key])) this.items = { starts, end: this.lineStart() };
      } else {
        map[key] = this.scalar(p);
        this.skip();
      }
    }
    this.depth--;
    return map;
  }

  /**
   * The current line's key, ending at `colon`: each distinct key is made once (a file repeats a
   * few keys throughout), and read as the full parser would read it (`True:` is its key "true").
   */
  private key(colon: number): string {
    const t = this.text;
    const bucket = (colon - this.start) * 128 + t.charCodeAt(this.start); // keys start with an ASCII letter or _
    const known = this.keys.get(bucket);
    if (known) for (const k of known) if (t.startsWith(k, this.start)) return k;
    const key = t.slice(this.start, colon);
    if (key === '__proto__' || this.plain(key) !== key) throw FALLBACK;
    this.keys.set(bucket, [...(known ?? []), key]);
    return key;
  }

  /** A value on the lines below the current one (nothing: null), more indented than `indent`. */
  private below(indent: number): unknown {
    this.skipLine();
    return this.done || this.indent <= indent ? null : this.node(this.indent);
  }

  /** Moves past the current line; whether there is another. */
  private skipLine(): boolean {
    this.skip();
    return !this.done;
  }

  /** Where the current line's key ends (its colon, followed by a space or the line's end), or -1. */
  private keyEnd(): number {
    KEY.lastIndex = this.start;
    if (!KEY.test(this.text)) return -1;
    const colon = KEY.lastIndex;
    if (colon >= this.end || this.text.charCodeAt(colon) !== COLON) return -1;
    return colon + 1 === this.end || this.text.charCodeAt(colon + 1) === SPACE ? colon : -1;
  }

  /** The one-line scalar from `p` to the current line's end. */
  private scalar(p: number): unknown {
    const t = this.text;
    let end = this.end;
    while (end > p && t.charCodeAt(end - 1) === SPACE) end--;
    const first = t.charCodeAt(p);
    if (first === DOUBLE) {
      let q = p + 1;
      let escaped = false;
      for (; q < end; q++) {
        const c = t.charCodeAt(q);
        if (c === BACKSLASH) {
          escaped = true;
          q++;
        } else if (c === DOUBLE) break;
      }
      if (q !== end - 1) throw FALLBACK; // unclosed on the line, or something after it
      if (!escaped) return t.slice(p + 1, q);
      try {
        // JSON's escapes are YAML's, with the same meaning; YAML's others fail here.
        return JSON.parse(t.slice(p, end)) as string;
      } catch {
        throw FALLBACK;
      }
    }
    if (first === SINGLE) {
      const body = t.slice(p + 1, end - 1);
      if (end - p < 2 || t.charCodeAt(end - 1) !== SINGLE || body.replaceAll("''", '').includes("'")) throw FALLBACK;
      return body.replaceAll("''", "'");
    }
    const plain = t.slice(p, end);
    if (plain === '[]') return [];
    if (plain === '{}') return {};
    // A colon and a space, or a final colon, would make a key; a space and # a comment.
    if (INDICATOR.test(plain) || plain.includes(': ') || plain.endsWith(':') || plain.includes(' #')) throw FALLBACK;
    return this.plain(plain);
  }

  /** A plain scalar's value, as the full parser's schema resolves it. */
  private plain(text: string): unknown {
    let value: unknown;
    try {
      value = CORE_SCHEMA.resolveImplicitScalarTag(text).value;
    } catch {
      throw FALLBACK;
    }
    if (value !== null && typeof value === 'object') throw FALLBACK;
    return value;
  }
}

/**
 * Where a YAML line's comment starts (its `#`, at the line's start or after a space or tab, and
 * outside a quoted scalar begun on the line), or -1. A line of a block scalar's text or of a
 * quoted scalar begun on an earlier line is not told apart: callers use it where a comment seen
 * that is none costs only a slower path.
 */
export function commentAt(line: string): number {
  let quote = 0;
  for (let k = 0; k < line.length; k++) {
    const c = line.charCodeAt(k);
    if (quote === DOUBLE) {
      if (c === BACKSLASH) k++;
      else if (c === DOUBLE) quote = 0;
    } else if (quote === SINGLE) {
      if (c === SINGLE) {
        if (line.charCodeAt(k + 1) === SINGLE) k++;
        else quote = 0;
      }
    } else if (c === HASH && (k === 0 || line[k - 1] === ' ' || line[k - 1] === '\t')) return k;
    // A quote opens a scalar where one may begin: the line's start, or after a space, `-`, `[`, `{` or `,`.
    else if ((c === DOUBLE || c === SINGLE) && (k === 0 || /[\s[{,-]/.test(line[k - 1] as string))) quote = c;
  }
  return -1;
}
