/**
 * Edits of flags.yaml in place: comments, order and every untouched flag stay byte for byte, so
 * a PR diff shows exactly the decisions taken. A period may hold tens of thousands of flags (an
 * account's untagged resources), and parsing the whole file into a document model takes seconds
 * per ten thousand; so each edited flag is cut out (its place found by the reader of the layout
 * the file is written in, core/yaml-block-read.ts, or for other YAML by js-yaml's event parser)
 * and edited alone: as lines, where the keys set are written on one line each as the tool writes
 * them (setLines), or else in `yaml`'s document model; then put back. The result is read again
 * and compared with the original, flag by flag; anything unexpected (an unusual hand-written
 * layout) falls back to editing the whole document, which is slower but makes no assumption.
 * Rejecting one flag of 100,000 took 17 s and 1.6 GB with the event parser alone; all of them,
 * 35 s with each flag in `yaml`'s model.
 */
import { constructFromEvents, type Event, getScalarValue, parseEvents, type ScalarEvent } from 'js-yaml';
import { type Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { UserError } from '../core/errors.ts';
import { inlineScalar } from '../core/yaml-block.ts';
import { commentAt, type ItemLines, parseBlockItems } from '../core/yaml-block-read.ts';
import { parseFlags } from './file.ts';
import { type Flag, flagsFileSchema } from './schema.ts';

/** What a change may do to a flag: set its top-level keys (a `yaml` map node is one). */
export interface FlagNode {
  set(key: string, value: unknown): void;
}

/**
 * Edits one flag's node; returns a reason to leave it as it was, or undefined once edited. It may
 * be called twice for one flag (recorded, then on a `yaml` node), so it only sets keys.
 */
export type FlagChange = (node: FlagNode, current: Flag) => string | undefined;

export interface EditResult {
  text: string;
  changed: string[];
  skipped: { id: string; reason: string }[];
}

/** The flags to edit: their ids, or a choice among the flags the file holds. */
export type Ids = string[] | ((flags: Flag[]) => string[]);

export function editFlagsText(text: string, display: string, select: Ids, change: FlagChange): EditResult {
  // One reading serves the data, the choice of flags, their places, and the check of the result.
  const read = readFlagsYaml(text);
  const raw = read?.value as { flags?: unknown[] } | undefined;
  const checked = flagsFileSchema.safeParse(raw);
  const parsed = checked.success ? checked.data : parseFlags(text, display); // the located error, or the slow path's reading
  const ids = typeof select === 'function' ? select(parsed.flags) : select;
  if (ids.length === 0) return { text, changed: [], skipped: [] };
  const index = new Map(parsed.flags.map((f, i) => [f.id, i]));
  for (const id of ids)
    if (!index.has(id)) throw new UserError(`no flag with id ${id} in ${display}`, { hint: 'list flags with `focus-billing review list`' });
  const ranges = checked.success ? read?.ranges() : null;
  if (ranges && ranges.length === parsed.flags.length) {
    const fast = spliceEdit(text, (raw?.flags ?? []) as unknown[], parsed.flags, index, ranges, ids, change, read?.block === true);
    if (fast) return fast;
  }
  return documentEdit(text, display, parsed.flags, index, ids, change);
}

/**
 * The text without the flags `drop` picks, in place: comments, order and every other flag stay
 * byte for byte, so a PR diff shows only the lines taken out. Null when the file's layout does
 * not allow it (then it is written anew), or when no flag would remain (`flags:` needs a list).
 */
export function dropFlagsText(text: string, drop: (flag: { source?: unknown }) => boolean): string | null {
  return replaceFlagsText(text, drop, '');
}

/**
 * As dropFlagsText, with `items` (flags list items, as formatFlagItems writes them, in the file's
 * line breaks) put in: an item whose id the file holds takes that flag's place, as its lines were
 * when its value is unchanged (a decision kept on an unchanged row), or else written anew with the
 * comments of the flag's old lines above it; the others go at the end of the list. An export
 * ingested again, or another source's, leaves every other flag and every comment where it was.
 * Null when the layout does not allow it, or when the list would be empty.
 */
export function replaceFlagsText(text: string, drop: (flag: { source?: unknown }) => boolean, items: string): string | null {
  const read = readFlagsYaml(text);
  const before = (read?.value as { flags?: unknown[] } | undefined)?.flags;
  const ranges = read?.ranges();
  if (!Array.isArray(before) || !ranges || ranges.length !== before.length) return null;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const list = `flags:${eol}${items}`;
  const itemsRead = items ? readFlagsYaml(list) : null;
  const added = items ? (itemsRead?.value as { flags?: unknown[] } | undefined)?.flags : [];
  const addedRanges = items ? itemsRead?.ranges() : [];
  if (!Array.isArray(added) || !addedRanges || addedRanges.length !== added.length) return null;
  const addedText = (j: number) => list.slice(...(addedRanges[j] as [number, number]));
  const addedAt = new Map(added.map((f, j) => [isRecord(f) ? f.id : undefined, j]));
  const placed = new Set<number>();
  const want: unknown[] = [];
  let out = '';
  let at = 0;
  before.forEach((f, i) => {
    if (!(isRecord(f) && drop(f))) {
      want.push(f);
      return;
    }
    const [start, end] = ranges[i] as [number, number];
    // Comment lines after a flag's last line stay: a comment is written above what it is about.
    const own = text.slice(start, start + ownLength(text.slice(start, end)));
    out += text.slice(at, start);
    at = start + own.length;
    const j = addedAt.get(f.id);
    if (j === undefined || placed.has(j)) return;
    placed.add(j);
    want.push(added[j]);
    const written = addedText(j);
    out += own === written || JSON.stringify(f) === JSON.stringify(added[j]) ? own : commentsAbove(own, eol) + written;
  });
  out += text.slice(at);
  const rest = added.flatMap((_, j) => (placed.has(j) ? [] : [j]));
  if (want.length + rest.length === 0) return null;
  if (rest.length > 0) out += (out.endsWith('\n') ? '' : eol) + rest.map(addedText).join('');
  for (const j of rest) want.push(added[j]);
  // Read back: the flags kept exactly as they were, those put in, and nothing else changed in the value.
  try {
    const value = readFlagsYaml(out)?.value as { flags?: unknown[] } | undefined;
    return JSON.stringify(value) === JSON.stringify({ ...(read?.value as object), flags: want }) ? out : null;
  } catch {
    return null;
  }
}

/**
 * The comments in a flag's lines (on lines of their own, or after a value), each as a line at the
 * item's indentation, to go above the flag written anew. A block scalar's text (a note's lines)
 * is the value's, not a comment.
 */
function commentsAbove(own: string, eol: string): string {
  if (!own.includes('#')) return '';
  const pad = /^ */.exec(own)?.[0] ?? '';
  const out: string[] = [];
  let scalar = -1; // inside a block scalar: the indentation of its key
  for (const line of own.split(/\r?\n/)) {
    const indent = /^ */.exec(line)?.[0].length ?? 0;
    if (scalar >= 0 && (line.trim() === '' || indent > scalar)) continue;
    scalar = -1;
    const c = commentAt(line);
    if (c >= 0) out.push(`${pad}${line.slice(c).trimEnd()}${eol}`);
    const key = /^( *(?:- )?)[A-Za-z_][A-Za-z0-9_]*: *[|>][-+0-9]*[ \t]*(?:#.*)?$/.exec(line);
    if (key) scalar = (key[1] as string).length;
  }
  return out.join('');
}

/**
 * How much of an item's lines is its own: up to the end of its last line that is not blank or a
 * comment at most as indented as its keys (a line indented deeper is a block scalar's text).
 */
function ownLength(item: string): number {
  const lines = item.split(/(?<=\n)/);
  const keys = (/^ */.exec(item)?.[0].length ?? 0) + 2;
  const between = (line: string) => /^\s*$/.test(line) || new RegExp(`^ {0,${keys}}#`).test(line);
  while (lines.length > 1 && between(lines[lines.length - 1] as string)) lines.pop();
  return lines.join('').length;
}

/**
 * The text's value, and where each flag's lines are (null for a layout the splice does not
 * handle): read by the block reader, or else by js-yaml's events. Null when neither reads it.
 */
function readFlagsYaml(text: string): { value: unknown; ranges: () => [number, number][] | null; block: boolean } | null {
  const block = parseBlockItems(text, 'flags');
  if (block) return { value: block.value, ranges: () => (block.items ? lineRanges(block.items) : null), block: true };
  const events = eventsOf(text);
  return events && { value: constructFromEvents(events, { source: text })[0], ranges: () => itemRanges(text, events), block: false };
}

function eventsOf(text: string): Event[] | null {
  try {
    return parseEvents(text, {});
  } catch {
    return null;
  }
}

/** Where each item begins and ends (whole lines: from its first line to the next item's). */
function lineRanges({ starts, end }: ItemLines): [number, number][] {
  return starts.map((s, k) => [s, k + 1 < starts.length ? (starts[k + 1] as number) : end]);
}

/** As lineRanges, from js-yaml's events: or null for a layout this does not handle. */
function itemRanges(text: string, events: Event[]): [number, number][] | null {
  const lineStart = (offset: number) => text.lastIndexOf('\n', offset - 1) + 1;
  let i = 2; // after DOCUMENT and the top-level MAPPING
  const skipNode = () => {
    const e = events[i++] as Event;
    if (e.type !== 2 && e.type !== 3) return;
    for (let depth = 1; depth > 0 && i < events.length; i++) {
      const x = events[i] as Event;
      if (x.type === 2 || x.type === 3) depth++;
      else if (x.type === 6) depth--;
    }
  };
  if (events[0]?.type !== 1 || events[1]?.type !== 3) return null;
  while (i < events.length) {
    const key = events[i] as Event;
    if (key.type !== 4) return null; // the end of the document, with no flags key
    i++;
    if (getScalarValue(text, key as ScalarEvent) !== 'flags') {
      skipNode();
      continue;
    }
    const seq = events[i++];
    if (seq?.type !== 2 || seq.style !== 1) return null; // not a block sequence
    const starts: number[] = [];
    while (i < events.length && events[i]?.type !== 6) {
      const item = events[i] as Event;
      if (item.type !== 3) return null; // every flag is a mapping
      starts.push(lineStart(item.start));
      skipNode();
    }
    const next = events[i + 1];
    const end = next?.type === 4 ? lineStart(next.valueStart) : text.length;
    return lineRanges({ starts, end });
  }
  return null;
}

/**
 * Edits each named flag alone and splices it back; null when the result is not exactly what was
 * meant. The result is read again: the whole of it, or, where the file was read by the block
 * reader (`blockRead`) and every flag was edited as lines, each edited flag's lines alone. In
 * that layout every line is a key, a list item or a comment, whole on its line, and an item ends
 * at the next line as little indented as its dash; lines changed or added inside an item, at its
 * keys' indentation, cannot move where another item begins or change what it holds. Reading the
 * whole 61 MB text again took 2.5 s of each decision among 100,000 flags. Past a quarter of the
 * flags, the whole text is read again (all 100,000 read alone took longer than it).
 */
function spliceEdit(
  text: string,
  before: unknown[],
  flags: Flag[],
  index: Map<string, number>,
  ranges: [number, number][],
  ids: string[],
  change: FlagChange,
  blockRead: boolean,
): EditResult | null {
  const result: EditResult = { text, changed: [], skipped: [] };
  const replaced = new Map<number, Edited>();
  const memo = new Map<string | number, string>();
  // Past a quarter of the flags, reading each alone costs more than reading the whole text once.
  let readWhole = !blockRead || ids.length > before.length / 4;
  for (const id of ids) {
    const i = index.get(id) as number;
    const [start, end] = ranges[i] as [number, number];
    const snippet = text.slice(start, end);
    const sets: [string, unknown][] = [];
    const reason = change({ set: (key, value) => void sets.push([key, value]) }, flags[i] as Flag);
    if (reason) {
      result.skipped.push({ id, reason });
      continue;
    }
    const current = before[i];
    const byLines = isRecord(current) ? setLines(snippet, current, sets, memo) : null;
    if (!readWhole && !(byLines && readsAlone(byLines))) readWhole = true;
    const edited = byLines ?? documentLines(snippet, (node) => change(node, flags[i] as Flag));
    if (!edited) return null;
    result.changed.push(id);
    replaced.set(i, edited);
  }
  if (replaced.size === 0) return result;
  let out = '';
  let at = 0;
  for (const i of [...replaced.keys()].sort((a, b) => a - b)) {
    const [start, end] = ranges[i] as [number, number];
    out += text.slice(at, start) + (replaced.get(i) as Edited).text;
    at = end;
  }
  out += text.slice(at);
  result.text = out;
  if (!readWhole) return result;
  // Read back: every untouched flag exactly as before, every edited one exactly as edited.
  try {
    const after = (readFlagsYaml(out)?.value as { flags?: unknown[] } | undefined)?.flags;
    if (!after || after.length !== before.length) return null;
    for (let i = 0; i < after.length; i++) {
      const want = replaced.has(i) ? (replaced.get(i) as Edited).value : before[i];
      if (JSON.stringify(after[i]) !== JSON.stringify(want)) return null;
    }
  } catch {
    return null;
  }
  return result;
}

/** A flag's lines as edited, and the value they read as. */
interface Edited {
  text: string;
  value: unknown;
}

/** The flag's lines, read alone as the one item of a flags list by the block reader, are its value. */
function readsAlone(edited: Edited): boolean {
  const alone = (parseBlockItems(`flags:\n${edited.text}`, 'flags')?.value as { flags?: unknown } | undefined)?.flags;
  return Array.isArray(alone) && alone.length === 1 && JSON.stringify(alone[0]) === JSON.stringify(edited.value);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A flag's lines (a block-list item, `- key: …` first) with top-level keys set as lines: a key's
 * line replaced where it is exactly what the tool writes for its current value, or a line added
 * after the flag's last for a key it lacks; every other byte kept. Null when a key is written
 * otherwise (a comment on its line, other quotes, a value over several lines) or a value needs
 * more than one line: the flag is then edited in `yaml`'s model. A key set twice keeps the last.
 */
function setLines(
  snippet: string,
  current: Record<string, unknown>,
  sets: [string, unknown][],
  memo: Map<string | number, string>,
): Edited | null {
  const dash = /^ *- (?=[^\s#])/.exec(snippet);
  if (!dash) return null;
  const indent = dash[0].length;
  const pad = ' '.repeat(indent);
  const value = { ...current };
  let text = snippet;
  for (const [key, v] of sets) {
    const written = inlineScalar(v, memo);
    if (written === null || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return null;
    // The key's line: the first, after the dash, or one indented as the first key (no string split: 100,000 flags made millions of lines to collect).
    let at = 0;
    if (!text.startsWith(`${key}:`, indent)) {
      const k = text.indexOf(`\n${pad}${key}:`);
      at = k < 0 ? -1 : k + 1;
    }
    if (at >= 0) {
      const eol = text.indexOf('\n', at);
      const end = eol < 0 ? text.length : eol;
      const old = Object.hasOwn(value, key) ? inlineScalar(value[key], memo) : null;
      const lead = text.slice(at, at + indent);
      if (old === null || text.slice(at, end) !== `${lead}${key}: ${old}`) return null;
      text = `${text.slice(0, at)}${lead}${key}: ${written}${text.slice(end)}`;
    } else {
      if (Object.hasOwn(value, key)) return null;
      const after = lastLineEnd(text);
      text = `${text.slice(0, after)}\n${pad}${key}: ${written}${text.slice(after)}`;
    }
    value[key] = v;
  }
  return { text, value };
}

/** Where the last line holding more than a comment or blanks ends (before its line break). */
function lastLineEnd(text: string): number {
  let end = text.endsWith('\n') ? text.length - 1 : text.length;
  for (;;) {
    const start = text.lastIndexOf('\n', end - 1) + 1;
    if (start === 0 || !/^\s*(?:#|$)/.test(text.slice(start, end))) return end;
    end = start - 1;
  }
}

/**
 * A `yaml` map as a change sees it. A value set is written as the tool writes a value (as setLines
 * does), not in the old value's quotes or block style; a comment on the old value stays.
 */
function nodeOf(doc: Document, map: YAMLMap<unknown, unknown>): FlagNode {
  return {
    set: (key, value) => {
      const old = map.get(key, true);
      if (isScalar(old) && (value === null || typeof value !== 'object')) {
        old.value = value;
        old.type = undefined;
      } else map.set(key, doc.createNode(value));
    },
  };
}

/** A flag's lines edited in `yaml`'s document model (written again as `yaml` writes them), or null. */
function documentLines(snippet: string, change: (node: FlagNode) => string | undefined): Edited | null {
  const indent = /^ */.exec(snippet)?.[0].length ?? 0;
  const pad = ' '.repeat(indent);
  const doc = parseDocument(
    snippet
      .split('\n')
      .map((l) => (l.startsWith(pad) ? l.slice(indent) : l))
      .join('\n'),
  );
  const seq = doc.contents;
  const node = isSeq(seq) && seq.items.length === 1 ? seq.items[0] : undefined;
  if (doc.errors.length || !isMap(node) || change(nodeOf(doc, node))) return null;
  const edited = doc
    .toString({ lineWidth: 0 })
    .split('\n')
    .map((l) => (l ? `${pad}${l}` : l))
    .join('\n');
  return { text: snippet.endsWith('\n') ? edited : edited.replace(/\n$/, ''), value: (doc.toJS() as unknown[])[0] };
}

/** The whole document in `yaml`'s model: slower, for layouts the splice does not handle. */
function documentEdit(
  text: string,
  display: string,
  flags: Flag[],
  index: Map<string, number>,
  ids: string[],
  change: FlagChange,
): EditResult {
  const doc = parseDocument(text);
  const seq = doc.get('flags', true);
  if (!isSeq(seq)) throw new UserError(`${display} has no flags list`);
  const result: EditResult = { text, changed: [], skipped: [] };
  for (const id of ids) {
    const i = index.get(id) as number;
    const node = seq.items[i];
    if (!isMap(node)) throw new UserError(`flag ${id} in ${display} is not a mapping`);
    const reason = change(nodeOf(doc, node), flags[i] as Flag);
    if (reason) result.skipped.push({ id, reason });
    else result.changed.push(id);
  }
  if (result.changed.length > 0) result.text = doc.toString({ lineWidth: 0 });
  return result;
}
