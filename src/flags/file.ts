/** Reads and writes `flags.yaml`, with located messages for hand edits that went wrong. */
import { stringify } from 'yaml';
import { parseYaml, readYamlFile } from '../config/yaml-file.ts';
import { type Flag, type FlagsFile, flagsFileSchema } from './schema.ts';

const HINT = 'status is one of pending, approved, rejected; see docs/REVIEWING.md';

export async function readFlags(path: string, display: string, period: string): Promise<FlagsFile> {
  return readYamlFile(path, display, flagsFileSchema, HINT, () => ({ period, flags: [] }));
}

export function parseFlags(text: string, display: string): FlagsFile {
  return parseYaml(text, display, flagsFileSchema, HINT);
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
