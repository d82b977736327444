/**
 * Every YAML file the tool reads (config.yaml, rates.yaml, flags.yaml, period.yaml, pis.yaml,
 * deliveries.yaml…) is parsed and validated the same way: syntax errors and schema problems
 * both come back with the file, line and column of the offending node. An empty or
 * comment-only file is the schema's empty value.
 *
 * Valid files take a fast path: the block layout the tool writes is read directly (see
 * yaml-block-read.ts: 100,000 flags in about a second), any other text by js-yaml (about ten
 * times faster than `yaml`); only a file that fails is parsed again with `yaml`'s document
 * model, which knows where each node is, for the located message.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { load } from 'js-yaml';
import { type Document, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { CONFLICT_MARKER, type ErrorLocation, mergeConflict, showValue, UserError } from './errors.ts';
import { encodingError } from './text-encoding.ts';
import { parseBlock } from './yaml-block-read.ts';

const SYNTAX_HINT = 'check indentation and quoting; a value with ":" or "#" needs quotes';

/** Validated data, and the location of any node in the file (for checks made after the schema). */
export interface Located<T> {
  data: T;
  locate: (path: readonly (string | number)[]) => ErrorLocation;
}

export function parseYamlLocated<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  hint: SchemaHint,
  empty: unknown = {},
  options: { numbersAsWritten?: boolean } = {},
): Located<z.infer<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    conflictCheck(text, file);
    const pos = lineCounter.linePos(syntax.pos[0]);
    throw new UserError(`invalid YAML: ${syntax.message.split('\n')[0]}`, {
      location: { file, line: pos.line, column: pos.col },
      hint: SYNTAX_HINT,
    });
  }
  const locate = (path: readonly (string | number)[]) => locateNode(doc, lineCounter, file, path.map(String));
  // A file of names and codes only: a bare number is the text it was written as. YAML reads the
  // fund/org 0012345 as 12345, and 1.10 as 1.1.
  if (options.numbersAsWritten)
    visit(doc, {
      Scalar(_, node) {
        if (isScalar(node) && typeof node.value === 'number' && node.source !== undefined) node.value = node.source;
      },
    });
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    // `yaml` stops aliases that would multiply the document ("Excessive alias count…").
    throw new UserError(`invalid YAML: ${(e as Error).message}`, {
      location: { file },
      hint: 'an anchor (&name) that aliases (*name) repeat this often multiplies the file many times over: write the values out',
    });
  }
  const result = schema.safeParse(value ?? empty, { reportInput: true });
  if (result.success) return { data: result.data, locate };
  throw schemaError(result.error, locate, file, hint);
}

/**
 * Refuses a text git left a merge conflict in (two branches that decided one flag, or edited one
 * setting), naming the marker's line: the YAML error its markers cause ("implicit keys need to be
 * on a single line") points at indentation instead. Checked where a text fails to parse, so a
 * valid file costs nothing.
 */
function conflictCheck(text: string, file: string): void {
  const m = CONFLICT_MARKER.exec(text);
  if (!m) return;
  throw mergeConflict(
    { file, line: text.slice(0, m.index).split('\n').length, column: 1 },
    m[0],
    'keep the side you mean (or both, merged by hand), delete the <<<<<<<, ======= and >>>>>>> lines, then `git add` the file',
  );
}

/**
 * An anchor (`&name`) in a text. Aliases to it (`*name`) can multiply a small text into a document
 * of billions of nodes (the "billion laughs"): js-yaml shares the aliased value, but the schema
 * then checks every copy. Such a text takes `yaml`'s path, which refuses aliases past
 * maxAliasCount. (A text where ` &x` is no anchor, in a quoted text, only takes the slower path;
 * the block layout the tool writes never comes here.)
 */
const ANCHOR = /(?:^|[\s[{,])&[^\s,[\]{}]/m;
const ANCHORED = Symbol('anchored');

export function parseYaml<S extends z.ZodType>(text: string, file: string, schema: S, hint: SchemaHint, empty: unknown = {}): z.infer<S> {
  const blank = !/\S/.test(text); // not text.trim(): a copy of a 60 MB text
  let fast: unknown;
  try {
    // The block reader takes no anchors, so a large flags.yaml whose texts hold " &" stays on it.
    fast = blank ? undefined : parseBlock(text);
    if (!blank && (fast === undefined || fast === null)) fast = text.includes('&') && ANCHOR.test(text) ? ANCHORED : load(text);
  } catch {
    return parseYamlLocated(text, file, schema, hint, empty).data; // throws the located syntax error
  }
  if (fast === ANCHORED) return parseYamlLocated(text, file, schema, hint, empty).data;
  const result = schema.safeParse(fast ?? empty, { reportInput: true });
  return result.success ? result.data : parseYamlLocated(text, file, schema, hint, empty).data;
}

/** Reads and validates a YAML file; a missing file gives `missing()`. */
export async function readYamlFile<S extends z.ZodType, M>(
  path: string,
  display: string,
  schema: S,
  hint: SchemaHint,
  missing: () => M,
  empty: unknown = {},
): Promise<z.infer<S> | M> {
  const text = await readText(path, display);
  if (text === null) return missing();
  return parseYaml(text, display, schema, hint, empty);
}

/**
 * A file's text, or null when there is none. A folder in its place, or bytes that are not UTF-8
 * (a file saved as Latin-1 or UTF-16), are a user's mistake, said so at the line.
 */
export async function readText(path: string, display: string): Promise<string | null> {
  const bytes = await readBytes(path, display);
  if (bytes === null) return null;
  const problem = encodingError(bytes, display);
  if (problem) throw problem;
  return bytes.toString('utf8');
}

/**
 * As readText, for a read-modify-write: with the sha256 of the file's bytes, to check the file is
 * still what was read before writing (hashing the text instead took 0.3 s for a 61 MB flags.yaml),
 * and refusing bytes that are not UTF-8, which the text would hold as U+FFFD and so write back
 * changed where nobody edited.
 */
export async function readTextHashed(path: string, display: string): Promise<{ text: string; sha256: string } | null> {
  const bytes = await readBytes(path, display);
  if (bytes === null) return null;
  const problem = encodingError(bytes, display, 'and run the command again: nothing was changed');
  if (problem) throw problem;
  return { text: bytes.toString('utf8'), sha256: createHash('sha256').update(bytes).digest('hex') };
}

async function readBytes(path: string, display: string): Promise<Buffer | null> {
  let handle: FileHandle;
  try {
    // Opened without blocking, and checked before reading: a named pipe in a file's place would
    // otherwise make the command wait for ever for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory())
      throw new UserError(`${display} is a folder, not a file`, { hint: `move it aside; ${display} must be a YAML file` });
    if (!info.isFile()) throw new UserError(`${display} is not a file`, { hint: `move it aside; ${display} must be a YAML file` });
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The line and column of the deepest node on `path` that has a position (a missing key has none). */
function locateNode(doc: Document, lineCounter: LineCounter, file: string, path: string[]): ErrorLocation {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return { file, line: pos.line, column: pos.col };
    }
  }
  return { file };
}

/** The first schema issue with its YAML line, and a count of the others. */
/** What to do about a file's first problem: one text, or one chosen by the problem (an unknown key, a value out of its list). */
export type SchemaHint = string | ((issue: z.core.$ZodIssue) => string);

/**
 * Of a union's ways of writing a value, the first that came further than a value of the wrong
 * kind (a list, one of whose items is wrong): its problem is the one to show, at its place.
 */
function furtherOption(issue: z.core.$ZodIssue): z.core.$ZodIssue | undefined {
  if (issue.code !== 'invalid_union' || !/^Invalid input/.test(issue.message)) return undefined;
  return issue.errors.flatMap((e) => (e[0] ? [e[0]] : [])).find((i) => !(i.code === 'invalid_type' && i.path.length === 0));
}

function schemaError(error: z.ZodError, locate: Located<unknown>['locate'], file: string, hint: SchemaHint): UserError {
  const issues = error.issues;
  const found = issues[0];
  if (!found) return new UserError('invalid file', { location: { file } });
  // An item of a list a union took (`pis: [a@b.c, 5]`) is shown at its own place: pis.1.
  let first = found;
  let nested: PropertyKey[] = [];
  for (let inner = furtherOption(first); inner; inner = furtherOption(first)) {
    nested = [...nested, ...inner.path];
    first = inner;
  }
  const path = [...found.path, ...nested].map((p) => (typeof p === 'symbol' ? String(p) : p));
  const where = path.length ? path.join('.') : '(top level)';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new UserError(`${where}: ${describeIssue(first)}${more}`, {
    location: locate(path),
    hint: typeof hint === 'string' ? hint : hint(first),
  });
}

/** Kinds of YAML value, as a schema names them. */
const KINDS: Record<string, string> = {
  string: 'text',
  int: 'a whole number',
  array: 'a list',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  date: 'a date',
};

/** What a value that is not what was wanted is: ", found the number 5". */
function foundText(input: unknown): string {
  if (input === undefined || input === null) return ', found nothing';
  if (typeof input === 'number' || typeof input === 'boolean') return `, found the ${typeof input} ${String(input)}`;
  if (Array.isArray(input)) return ', found a list';
  if (typeof input === 'object') return ', found a mapping';
  if (typeof input === 'string') return `, found the text ${showValue(input)}`;
  return '';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type': {
      const input = issue.input;
      // A bare number where text is wanted (an amount, a price, an id): YAML has read it as a
      // number already, and a long decimal may have lost digits on the way.
      if (issue.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean'))
        return `expected text, found the ${typeof input} ${String(input)}: put the value in quotes, as written (such as "${String(input)}")`;
      const kind = KINDS[issue.expected] ?? issue.expected;
      // A number in quotes, where a number is wanted (a count, a limit): YAML reads it as text.
      if ((issue.expected === 'number' || issue.expected === 'int') && typeof input === 'string' && /^-?\d+(\.\d+)?$/.test(input.trim()))
        return `expected ${kind}, found the text ${showValue(input)}: write it without quotes`;
      return `expected ${kind}${'input' in issue ? foundText(input) : ''}`;
    }
    case 'invalid_format': {
      // zod's own words ("Invalid string: must match pattern /…/", "Invalid URL"); a schema's message is kept.
      if (!/^Invalid /.test(issue.message)) return expectedText(issue);
      const found = 'input' in issue ? foundText(issue.input) : '';
      if (issue.format === 'url') return `expected a web address such as https://rc.example.edu/billing/${found}`;
      if (issue.format === 'regex' && 'pattern' in issue) return `expected text of the form ${String(issue.pattern)}${found}`;
      return `expected ${issue.format}${found}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union': {
      if (!/^Invalid input/.test(issue.message) || issue.errors.length === 0) return issue.message;
      // Each way of writing the value failed. Where each wanted another kind of value, say the
      // kinds; else the way that came furthest (a value of the right kind, wrong) says why.
      const further = furtherOption(issue);
      if (further) return describeIssue(further);
      const firsts = issue.errors.flatMap((e) => (e[0] ? [e[0]] : []));
      const kinds = [...new Set(firsts.map((i) => (i.code === 'invalid_type' ? (KINDS[i.expected] ?? i.expected) : '')))];
      return `expected ${kinds.join(' or ')}${foundText(issue.input)}`;
    }
    case 'too_small':
    case 'too_big': {
      // zod's own words ("Too small: expected array to have >=1 items") said as this tool does; a schema's message is kept.
      if (!/^Too (small|big):/.test(issue.message)) return issue.message;
      const small = issue.code === 'too_small';
      const bound = String(small ? issue.minimum : issue.maximum);
      const atLeast = `${small ? 'at least' : 'at most'} ${bound}`;
      if (issue.origin === 'array')
        return `expected ${atLeast} item${bound === '1' ? '' : 's'}${small && bound === '1' ? ', found an empty list' : ''}`;
      if (issue.origin === 'string')
        return small && bound === '1' ? 'expected text, found an empty value' : `expected ${atLeast} character${bound === '1' ? '' : 's'}`;
      return `expected a value ${small ? (issue.inclusive ? 'of at least' : 'above') : issue.inclusive ? 'of at most' : 'below'} ${bound}`;
    }
    default:
      return expectedText(issue);
  }
}

/**
 * A schema's own message: one that says what is wanted ("expected an email address") is followed
 * by what was found, as the tool's own are; any other is said as it is.
 */
function expectedText(issue: z.core.$ZodIssue): string {
  if (!/^expected /.test(issue.message)) return issue.message;
  return `${issue.message}${'input' in issue ? foundText(issue.input) : ''}`;
}
