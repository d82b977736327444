/**
 * YAML text of plain data, byte for byte as the `yaml` library's `stringify(value, { lineWidth: 0 })`
 * writes it, for files as large as a period's flags.yaml: `yaml` builds a document of nodes
 * first, and took 2.4 s for 20,000 flags (10 MB); this writes the same text in 0.4–0.6 s.
 *
 * Block maps and lists only, as `yaml` lays them out (two spaces; a list under a key indented
 * below it; a map in a list starting on the dash's line). A scalar is written by `yaml` itself
 * (as a map's value, once per distinct value) unless it is of a few kinds whose text is plain to
 * see: words and identifiers, decimals (which `yaml` double-quotes, since they would read as
 * numbers). Anything else, a line break in a string (block scalars depend on their indentation)
 * or a value of another kind, and the whole value goes to `yaml`. test/yaml-block.test.ts holds
 * both to the same bytes over hostile texts.
 */
import { stringify } from 'yaml';

const OPTIONS = { lineWidth: 0 } as const;

/** Thrown inside: the value needs `yaml` itself. */
const FALLBACK = Symbol('fallback');

export function stringifyBlock(value: Record<string, unknown>): string {
  const out: Out = [];
  const memo = new Map<string | number, string>();
  try {
    if (!writeMap(value, '', null, out, memo)) throw FALLBACK;
  } catch (e) {
    if (e === FALLBACK) return stringify(value, OPTIONS);
    throw e;
  }
  return out.join('');
}

/**
 * A value's text on one line as `stringifyBlock` writes it after a map's key (`key: <text>`), or
 * null when it takes more than that: a map or a list, or a string `yaml` writes as a block scalar.
 * `memo` may be shared between calls, as one file's values repeat.
 */
export function inlineScalar(v: unknown, memo: Map<string | number, string>): string | null {
  try {
    return scalar(v, memo);
  } catch (e) {
    if (e === FALLBACK) return null;
    throw e;
  }
}

/**
 * The text written so far, in pieces joined once. A list's items are joined one by one, so that
 * their pieces die young: one string grown by `+=` kept every piece of 100,000 flags alive until
 * it was read, and collecting them took 2 of the 2.5 s of writing a 61 MB flags.yaml.
 */
type Out = string[];

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Writes a map's entries at `indent`, the first after `first` (a list item's dash) when given; false when none was written. */
function writeMap(
  obj: Record<string, unknown>,
  indent: string,
  first: string | null,
  out: Out,
  memo: Map<string | number, string>,
): boolean {
  let lead = first ?? indent;
  let wrote = false;
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined) continue;
    if (!KEY.test(key) || scalar(key, memo) !== key) throw FALLBACK;
    if (isPlainObject(v)) {
      const at = out.length;
      out.push(`${lead}${key}:\n`);
      if (!writeMap(v, `${indent}  `, null, out, memo)) out[at] = `${lead}${key}: {}\n`;
    } else if (Array.isArray(v)) {
      if (v.length === 0) out.push(`${lead}${key}: []\n`);
      else {
        out.push(`${lead}${key}:\n`);
        writeList(v, `${indent}  `, out, memo);
      }
    } else out.push(`${lead}${key}: ${scalar(v, memo)}\n`);
    lead = indent;
    wrote = true;
  }
  return wrote;
}

function writeList(list: unknown[], indent: string, out: Out, memo: Map<string | number, string>): void {
  for (const item of list) {
    if (isPlainObject(item)) {
      const one: Out = [];
      if (!writeMap(item, `${indent}  `, `${indent}- `, one, memo)) throw FALLBACK;
      out.push(one.join(''));
    } else if (Array.isArray(item) || item === undefined) throw FALLBACK;
    else out.push(`${indent}- ${scalar(item, memo)}\n`);
  }
}

/** Words and identifiers `yaml` writes plain: a letter first, no `: `, ` #` or trailing colon or space. */
const PLAIN = /^(?!.*: )[A-Za-z][A-Za-z0-9_.@/:+-]*(?: [A-Za-z0-9_.@/:+-]+)*$/;
/** What YAML's core schema reads as null, a boolean or a number, integers among the floats (`yaml` quotes such strings). */
const NOT_TEXT =
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
/** Digits and letters with a digit first (flag ids, dates): plain unless they read as a number. */
const DIGIT_FIRST = /^[0-9][A-Za-z0-9_.-]*$/;

function scalar(v: unknown, memo: Map<string | number, string>): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isSafeInteger(v) && !Object.is(v, -0)) return String(v);
  if (typeof v !== 'string' && typeof v !== 'number') throw FALLBACK;
  if (typeof v === 'string') {
    const notText = NOT_TEXT.test(v);
    if (notText && /^[-+.0-9A-Za-z~]+$/.test(v)) return `"${v}"`;
    if (!notText && PLAIN.test(v) && !v.endsWith(':')) return v;
    if (!notText && DIGIT_FIRST.test(v) && !v.endsWith('.')) return v;
  }
  let text = memo.get(v);
  if (text === undefined) {
    const doc = stringify({ k: v }, OPTIONS);
    if (!doc.startsWith('k: ') || doc.indexOf('\n') !== doc.length - 1) throw FALLBACK;
    text = doc.slice(3, -1);
    memo.set(v, text);
  }
  return text;
}
