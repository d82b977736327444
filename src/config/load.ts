/** Reads and validates config.yaml, turning YAML and schema problems into located messages. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../core/errors.ts';
import { type Config, configSchema } from './schema.ts';

export const CONFIG_FILE = 'config.yaml';

export async function loadConfig(root: string): Promise<Config> {
  const path = join(root, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`no ${CONFIG_FILE} in ${root}`, {
        hint: 'run `focus-billing init` to create a billing repository, or pass --root <dir>',
      });
    }
    throw e;
  }
  return parseConfig(text, CONFIG_FILE);
}

export function parseConfig(text: string, file: string): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = lineCounter.linePos(yamlError.pos[0]);
    throw new UserError(`invalid YAML: ${yamlError.message.split('\n')[0]}`, {
      location: { file, line: pos.line, column: pos.col },
      hint: 'check indentation and quoting; a value with ":" or "#" needs quotes',
    });
  }
  const result = configSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  throw schemaError(result.error, doc, lineCounter, file);
}

/** The first schema issue with its YAML line, and a count of the others. */
export function schemaError(error: z.ZodError, doc: ReturnType<typeof parseDocument>, lineCounter: LineCounter, file: string): UserError {
  const issues = error.issues;
  const first = issues[0];
  if (!first) return new UserError('invalid configuration', { location: { file } });
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
  return new UserError(`${where}: ${describeIssue(first)}${more}`, {
    location,
    hint: 'see docs/OPERATIONS.md#configuration for every setting and its default',
  });
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
