/**
 * Edits of flags.yaml in place: comments, order and every untouched flag stay byte for byte, so
 * a PR diff shows exactly the decisions taken. A period may hold tens of thousands of flags (an
 * account's untagged resources), and parsing the whole file into a document model takes seconds
 * per ten thousand; so each edited flag is cut out (its place found by the reader of the layout
 * the file is written in, core/yaml-block-read.ts, or for other YAML by js-yaml's event parser),
 * edited alone with `yaml`'s document model, and put back. The result is read again and compared
 * with the original, flag by flag; anything unexpected (an unusual hand-written layout) falls
 * back to editing the whole document, which is slower but makes no assumption. Rejecting one
 * flag of 100,000 took 17 s and 1.6 GB with the event parser alone.
 */
import { constructFromEvents, type Event, getScalarValue, parseEvents, type ScalarEvent } from 'js-yaml';
import { isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { UserError } from '../core/errors.ts';
import { type ItemLines, parseBlockItems } from '../core/yaml-block-read.ts';
import { parseFlags } from './file.ts';
import { type Flag, flagsFileSchema } from './schema.ts';

/** Edits one flag's node; returns a reason to leave it as it was, or undefined once edited. */
export type FlagChange = (node: YAMLMap, current: Flag) => string | undefined;

export interface EditResult {
  text: string;
  changed: string[];
  skipped: { id: string; reason: string }[];
}

export function editFlagsText(text: string, display: string, ids: string[], change: FlagChange): EditResult {
  // One reading serves the data, the flags' places, and the check of the result.
  const read = readFlagsYaml(text);
  const raw = read?.value as { flags?: unknown[] } | undefined;
  const checked = flagsFileSchema.safeParse(raw);
  const parsed = checked.success ? checked.data : parseFlags(text, display); // the located error, or the slow path's reading
  const index = new Map(parsed.flags.map((f, i) => [f.id, i]));
  for (const id of ids)
    if (!index.has(id)) throw new UserError(`no flag with id ${id} in ${display}`, { hint: 'list flags with `focus-billing review list`' });
  const ranges = checked.success ? read?.ranges() : null;
  if (ranges && ranges.length === parsed.flags.length) {
    const fast = spliceEdit(text, (raw?.flags ?? []) as unknown[], parsed.flags, index, ranges, ids, change);
    if (fast) return fast;
  }
  return documentEdit(text, display, parsed.flags, index, ids, change);
}

/**
 * The text's value, and where each flag's lines are (null for a layout the splice does not
 * handle): read by the block reader, or else by js-yaml's events. Null when neither reads it.
 */
function readFlagsYaml(text: string): { value: unknown; ranges: () => [number, number][] | null } | null {
  const block = parseBlockItems(text, 'flags');
  if (block) return { value: block.value, ranges: () => (block.items ? lineRanges(block.items) : null) };
  const events = eventsOf(text);
  return events && { value: constructFromEvents(events, { source: text })[0], ranges: () => itemRanges(text, events) };
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

/** Edits each named flag alone and splices it back; null when the result is not exactly what was meant. */
function spliceEdit(
  text: string,
  before: unknown[],
  flags: Flag[],
  index: Map<string, number>,
  ranges: [number, number][],
  ids: string[],
  change: FlagChange,
): EditResult | null {
  const result: EditResult = { text, changed: [], skipped: [] };
  const replaced = new Map<number, { text: string; value: unknown }>();
  for (const id of ids) {
    const i = index.get(id) as number;
    const [start, end] = ranges[i] as [number, number];
    const snippet = text.slice(start, end);
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
    if (doc.errors.length || !isMap(node)) return null;
    const reason = change(node, flags[i] as Flag);
    if (reason) {
      result.skipped.push({ id, reason });
      continue;
    }
    result.changed.push(id);
    const edited = doc
      .toString({ lineWidth: 0 })
      .split('\n')
      .map((l) => (l ? `${pad}${l}` : l))
      .join('\n');
    replaced.set(i, { text: snippet.endsWith('\n') ? edited : edited.replace(/\n$/, ''), value: (doc.toJS() as unknown[])[0] });
  }
  if (replaced.size === 0) return result;
  let out = '';
  let at = 0;
  for (const i of [...replaced.keys()].sort((a, b) => a - b)) {
    const [start, end] = ranges[i] as [number, number];
    out += text.slice(at, start) + (replaced.get(i) as { text: string }).text;
    at = end;
  }
  out += text.slice(at);
  // Read back: every untouched flag exactly as before, every edited one exactly as edited.
  try {
    const after = (readFlagsYaml(out)?.value as { flags?: unknown[] } | undefined)?.flags;
    if (!after || after.length !== before.length) return null;
    for (let i = 0; i < after.length; i++) {
      const want = replaced.has(i) ? (replaced.get(i) as { value: unknown }).value : before[i];
      if (JSON.stringify(after[i]) !== JSON.stringify(want)) return null;
    }
  } catch {
    return null;
  }
  result.text = out;
  return result;
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
    const reason = change(node, flags[i] as Flag);
    if (reason) result.skipped.push({ id, reason });
    else result.changed.push(id);
  }
  if (result.changed.length > 0) result.text = doc.toString({ lineWidth: 0 });
  return result;
}
