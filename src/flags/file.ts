/** Reads and writes `flags.yaml`, with located messages for hand edits that went wrong. */
import { stringifyBlock } from '../core/yaml-block.ts';
import { commentAt } from '../core/yaml-block-read.ts';
import { parseYaml, readText, readTextHashed, type SchemaHint } from '../core/yaml-file.ts';
import { FLAG_SCHEME } from '../domain/identity.ts';
import { layout, relPath } from '../repo/layout.ts';
import { type Flag, type FlagsFile, flagSchema, flagsFileSchema } from './schema.ts';

/** What to do about a flags.yaml a reviewer's edit broke, by what is wrong. */
const HINT: SchemaHint = (issue) => {
  const key = issue.path.at(-1);
  if (issue.code === 'unrecognized_keys' && issue.path.at(-2) === 'flags')
    return `a flag holds ${Object.keys(flagSchema.shape).join(', ')}: write a remark in its note, or after a # (a comment)`;
  if (key === 'status') return 'status is one of pending, approved, rejected; see docs/REVIEWING.md';
  return 'see docs/REVIEWING.md for what a flag holds, or `git diff` the file for what an edit changed';
};

export const flagsDisplay = (period: string) => relPath('periods', period, 'flags.yaml');

/**
 * A period's flags (none when it has no flags.yaml), the sha256 of the file as read (for a
 * read-modify-write), and its text (for an edit in place that keeps its comments and line breaks).
 */
export async function readFlagsWithHash(
  root: string,
  period: string,
): Promise<{ file: FlagsFile; sha256: string | null; text: string | null }> {
  const display = flagsDisplay(period);
  const read = await readTextHashed(layout.flagsFile(root, period), display);
  if (read === null) return { file: { version: FLAG_SCHEME, period, flags: [] }, sha256: null, text: null };
  return { file: parseFlags(read.text, display), sha256: read.sha256, text: read.text };
}

/** Whether a flags.yaml was saved with Windows line breaks (\r\n), which a rewrite or an edit keeps. */
export function hasCrlf(text: string): boolean {
  return text.includes('\r\n');
}

/** Text written with \n, given the file's line breaks: \r\n throughout when `crlf`. */
export function withLineBreaks(text: string, crlf: boolean): string {
  return crlf ? text.replace(/\r?\n/g, '\r\n') : text;
}

export async function readFlags(root: string, period: string): Promise<FlagsFile> {
  return (await readFlagsFile(root, period)) ?? { version: FLAG_SCHEME, period, flags: [] };
}

/** A period's flags.yaml, read and checked; null when the period has none. */
export async function readFlagsFile(root: string, period: string): Promise<FlagsFile | null> {
  const display = flagsDisplay(period);
  const text = await readText(layout.flagsFile(root, period), display);
  return text === null ? null : parseFlags(text, display);
}

export function parseFlags(text: string, display: string): FlagsFile {
  return parseYaml(text, display, flagsFileSchema, HINT);
}

const HEADER = `# yaml-language-server: $schema=../../schemas/flags.schema.json
# Charges held for review in this period. Each stays off statements until approved.
# To decide, set status to approved or rejected (with a note saying why), or use
# \`focus-billing review approve|reject <id>\`. A charge with no PI, project or fund/org
# is billed once approved with an assign: of all three (pi_email, project_id, fund_org),
# which \`focus-billing review assign <id>\` writes. Ids come from each row's content, so
# decisions survive re-imports of unchanged rows.
`;

/** Headers earlier versions wrote: the tool's own text, not a reviewer's comments. */
const EARLIER_HEADERS = [
  `# yaml-language-server: $schema=../../schemas/flags.schema.json
# Charges held for review in this period. Each stays off statements until approved.
# To decide, set status to approved or rejected (with a note saying why), or use
# \`focus-billing review approve|reject <id>\`. Ids come from each row's content, so
# decisions survive re-imports of unchanged rows.
`,
];

/** Flags as the items of a `flags:` block list (what follows `flags:\n` in formatFlags), or '' for none. */
export function formatFlagItems(flags: Flag[]): string {
  if (flags.length === 0) return '';
  const text = stringifyBlock({ flags: flags satisfies Flag[] });
  if (!text.startsWith('flags:\n')) throw new Error(`formatFlagItems: unexpected layout ${JSON.stringify(text.slice(0, 20))}`);
  return text.slice('flags:\n'.length);
}

/**
 * Whether a flags.yaml holds comments of its own beyond the header the tool writes, on lines of
 * their own or after a value: a rewrite would lose them. Only lines holding a `#` are looked at.
 */
export function hasHandComments(text: string): boolean {
  const body = text.replace(/\r\n/g, '\n');
  const header = [HEADER, ...EARLIER_HEADERS].find((h) => body.startsWith(h)) ?? '';
  const rest = body.slice(header.length);
  for (let at = rest.indexOf('#'); at >= 0; ) {
    const start = rest.lastIndexOf('\n', at) + 1;
    const eol = rest.indexOf('\n', at);
    const end = eol < 0 ? rest.length : eol;
    if (commentAt(rest.slice(start, end)) >= 0) return true;
    at = rest.indexOf('#', end);
  }
  return false;
}

export function formatFlags(file: FlagsFile): string {
  // yaml's own layout and quoting, written without its document of nodes (2.4 s for 20,000 flags).
  const body = stringifyBlock({ version: file.version, period: file.period, flags: file.flags satisfies Flag[] });
  return HEADER + body;
}
