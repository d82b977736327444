/** Options and set-up shared by commands. */
import { isAbsolute, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfigLocated } from '../../config/load.ts';
import { checkPatterns } from '../../config/patterns.ts';
import type { Config } from '../../config/schema.ts';
import { UserError } from '../../core/errors.ts';
import { type Database, withDatabase } from '../../db/duckdb.ts';
import { linkSecretProblem } from '../../domain/identity.ts';
import { isCalendarDate } from '../../domain/period.ts';
import { siteUrlProblem } from '../../domain/site-url.ts';
import { checkPeriod } from '../../repo/layout.ts';
import type { Io } from '../output.ts';

export interface RootOptions {
  root: string;
  json?: boolean;
}

export function withRoot(cmd: Command): Command {
  return cmd.option('--root <dir>', 'billing repository folder', '.');
}

/**
 * The value of an option naming a file to write: `-` means standard output, as it does for most
 * tools (and is what the option's absence means), never a file called `-`.
 */
export function fileOut(value: string): string | undefined {
  return value === '-' ? undefined : value;
}

/** The value of an option naming a folder to write into: `-` (standard output) cannot hold one. */
export function folderOut(value: string): string {
  if (value === '-')
    throw new UserError('--out -: this command writes a folder of files, which standard output cannot take', {
      hint: 'name a folder, e.g. --out out/',
    });
  return value;
}

/** Loads the repository's config and opens DuckDB for the length of `fn`. */
export async function inRepository<T>(
  opts: RootOptions,
  io: Io,
  fn: (ctx: { root: string; config: Config; db: Database }) => Promise<T>,
): Promise<T> {
  const root = resolve(opts.root);
  const config = await loadConfigLocated(root);
  return withDatabase(async (db) => {
    await checkPatterns(db, config);
    // Long reads (a month of millions of rows) say how far they are, on a terminal.
    db.watchProgress((percent) => io.progress(`  ${percent}% read`));
    return fn({ root, config: config.data, db });
  });
}

export { checkPeriod };

/** A file as messages name it: relative to the working folder, or as given when it lies outside it (`/tmp/x.csv`, not `../../tmp/x.csv`). */
export function shownPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return quotedName(rel === '' || (isAbsolute(file) && (rel.startsWith('..') || isAbsolute(rel))) ? file : rel);
}

/**
 * A file's name as messages, reports and commit messages give it: quoted when it holds a
 * control character (a line break: `aws\n## Approved.csv`), so it cannot pass for a line of
 * its own.
 */
export function quotedName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name) ? JSON.stringify(name) : name;
}

/** A date argument (YYYY-MM-DD that exists on the calendar), checked. */
export function checkDate(date: string, option = '--date'): string {
  if (!isCalendarDate(date))
    throw new UserError(`${option} ${JSON.stringify(date)}: expected a calendar date as YYYY-MM-DD, such as 2025-02-28`);
  return date;
}

/** STATEMENT_LINK_SECRET when set; a weak one is refused (exit 2) with how to make one. */
export function linkSecret(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const secret = env.STATEMENT_LINK_SECRET;
  if (!secret) return undefined;
  const problem = linkSecretProblem(secret);
  if (problem)
    throw new UserError(`STATEMENT_LINK_SECRET is too weak to keep statement links private: ${problem}`, {
      hint: 'make one with `openssl rand -base64 32`, keep it in your CI secrets, and never change it once links are sent',
    });
  return secret;
}

/** The public URL of the site (--base-url or site.base_url), checked: http(s), no query or fragment; its path is kept. */
export function checkBaseUrl(text: string, option = '--base-url'): string {
  const problem = siteUrlProblem(text);
  if (problem)
    throw new UserError(`${option} ${JSON.stringify(text)}${problem.startsWith('is ') ? ' ' : ': '}${problem}`, {
      hint: 'e.g. https://rc.example.edu/billing/',
    });
  const url = new URL(text);
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url.toString();
}
