/**
 * Every YAML file the tool reads (config.yaml, flags.yaml, period.yaml, pis.yaml) is parsed
 * and validated the same way: syntax errors and schema problems both come back with the file,
 * line and column of the offending node.
 */
import { readFile } from 'node:fs/promises';
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../core/errors.ts';

const SYNTAX_HINT = 'check indentation and quoting; a value with ":" or "#" needs quotes';

export function parseYaml<S extends z.ZodType>(text: string, file: string, schema: S, hint: string, empty: unknown = {}): z.infer<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = lineCounter.linePos(syntax.pos[0]);
    throw new UserError(`invalid YAML: ${syntax.message.split('\n')[0]}`, {
      location: { file, line: pos.line, column: pos.col },
      hint: SYNTAX_HINT,
    });
  }
  const result = schema.safeParse(doc.toJS() ?? empty);
  if (result.success) return result.data;
  throw schemaError(result.error, doc, lineCounter, file, hint);
}

/** Reads and validates a YAML file; a missing file gives `missing()`. */
export async function readYamlFile<S extends z.ZodType, M>(
  path: string,
  display: string,
  schema: S,
  hint: string,
  missing: () => M,
): Promise<z.infer<S> | M> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return missing();
    throw e;
  }
  return parseYaml(text, display, schema, hint);
}

/** The first schema issue with its YAML line, and a count of the others. */
function schemaError(error: z.ZodError, doc: Document, lineCounter: LineCounter, file: string, hint: string): UserError {
  const issues = error.issues;
  const first = issues[0];
  if (!first) return new UserError('invalid file', { location: { file } });
  const path = first.path.map(String);
  let location: { file: string; line?: number; column?: number } = { file };
  // Walk up the path until a node with a position is found (a missing key has none).
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      location = { file, line: pos.line, column: pos.col };
      break;
    }
  }
  const where = path.length ? path.join('.') : '(top level)';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new UserError(`${where}: ${describeIssue(first)}${more}`, { location, hint });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      return `expected ${issue.expected}${'input' in issue && issue.input === undefined ? ', found nothing' : ''}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}
