/** Reads and writes `flags.yaml`, with located messages for hand edits that went wrong. */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { schemaError } from '../config/load.ts';
import { UserError } from '../core/errors.ts';
import { type Flag, type FlagsFile, flagsFileSchema } from './schema.ts';

export async function readFlags(path: string, display: string, period: string): Promise<FlagsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { period, flags: [] };
    throw e;
  }
  return parseFlags(text, display);
}

export function parseFlags(text: string, display: string): FlagsFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = lineCounter.linePos(yamlError.pos[0]);
    throw new UserError(`invalid YAML: ${yamlError.message.split('\n')[0]}`, {
      location: { file: display, line: pos.line, column: pos.col },
      hint: 'check indentation; a value with ":" or "#" needs quotes',
    });
  }
  const result = flagsFileSchema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const err = schemaError(result.error, doc, lineCounter, display);
    throw new UserError(err.message, {
      location: err.location,
      hint: 'status is one of pending, approved, rejected; see docs/OPERATIONS.md#review-flags',
    });
  }
  return result.data;
}

const HEADER = `# yaml-language-server: $schema=../../schemas/flags.schema.json
# Charges held for review in this period. Each stays off statements until approved.
# To decide, set status to approved or rejected (with a note saying why), or use
# \`focus-billing review approve|reject <id>\`. Ids come from each row's content, so
# decisions survive re-imports of unchanged rows.
`;

export function formatFlags(file: FlagsFile): string {
  const body = stringify({ period: file.period, flags: file.flags satisfies Flag[] }, { lineWidth: 0 });
  return HEADER + body;
}
