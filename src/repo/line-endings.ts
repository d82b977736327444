/**
 * Billing records are kept byte for byte: an export as it came, and a closed period's files as
 * they were frozen (their sha256 is in period.yaml). Git converts line endings where it is told
 * to: `core.autocrlf` (true on Windows by default: a clone there had CRLF in every export, flags
 * file and notes, and `validate` called the closed periods changed), or `text`, `text=auto` or
 * `eol` in .gitattributes (and committing a CRLF export then stored it with LF). `init` writes the
 * attributes that exempt data/ and periods/, and `validate` warns where git would convert them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';

/** The lines of .gitattributes that keep git's hands off the records' line endings. */
export const EXACT_ATTRIBUTES = ['data/** -text', 'periods/** -text'];

const BLOCK_COMMENT =
  '# Billing records are kept byte for byte: git must not convert their line endings\n# (core.autocrlf, text=auto), which would change the bytes closed periods are frozen with.\n';

/** Paths that stand for data/ and periods/ when git is asked for their attributes. */
const PROBES = ['data/2000-01/export.csv', 'periods/2000-01/flags.yaml'];

/** Adds the missing EXACT_ATTRIBUTES lines to .gitattributes (kept as it is otherwise); whether it changed. */
export async function writeExactAttributes(root: string): Promise<{ changed: boolean; created: boolean }> {
  const path = join(root, '.gitattributes');
  const text = await readFile(path, 'utf8').catch(() => null);
  const lines = new Set((text ?? '').split('\n').map((l) => l.trim()));
  const missing = EXACT_ATTRIBUTES.filter((l) => !lines.has(l));
  if (missing.length === 0) return { changed: false, created: false };
  await writeFile(path, `${text ?? ''}${text && !text.endsWith('\n') ? '\n' : ''}${BLOCK_COMMENT}${missing.join('\n')}\n`);
  return { changed: true, created: text === null };
}

/**
 * Whether .gitattributes keeps git from converting data/ and periods/ wherever the repository is
 * cloned (`-text` on both); null outside a git repository.
 */
export async function attributesExempt(root: string): Promise<boolean | null> {
  const out = await simpleGit(root)
    .raw(['check-attr', 'text', '--', ...PROBES])
    .catch(() => null);
  if (out === null) return null;
  return PROBES.every((path) => out.includes(`${path}: text: unset\n`));
}

/** Why git in `root` would change the line endings of files under data/ or periods/, or null when it would not. */
export async function lineEndingRisk(root: string): Promise<string | null> {
  const git = simpleGit(root);
  const out = await git.raw(['check-attr', 'text', 'eol', '--', ...PROBES]).catch(() => null);
  if (out === null) return null; // not a git repository: nothing to convert
  const value = (path: string, attr: string) => new RegExp(`^${path.replace(/[.*]/g, '\\$&')}: ${attr}: (.*)$`, 'm').exec(out)?.[1];
  let unspecified = false;
  for (const path of PROBES) {
    const text = value(path, 'text');
    const eol = value(path, 'eol');
    if (text === 'unset') continue;
    if (text === 'set' || text === 'auto') return `.gitattributes gives ${path.split('/')[0]}/ text${text === 'auto' ? '=auto' : ''}`;
    if (eol && eol !== 'unspecified' && eol !== 'unset') return `.gitattributes gives ${path.split('/')[0]}/ eol=${eol}`;
    unspecified = true;
  }
  // Left to git's settings: core.autocrlf, the same for every path, decides.
  if (!unspecified) return null;
  const autocrlf = (await git.raw(['config', '--get', 'core.autocrlf']).catch(() => '')).trim().toLowerCase();
  if (autocrlf === 'input') return 'core.autocrlf is input';
  if (['true', 'yes', 'on', '1'].includes(autocrlf)) return 'core.autocrlf is true';
  return null;
}
