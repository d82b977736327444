/**
 * `focus-billing doctor [--json]`: what this machine and this folder have, and what is missing,
 * each with the fix. Exit 1 when something blocks a command (a missing git, DuckDB that does not
 * load, an invalid config.yaml, a weak link secret, a .cache/ that cannot be written); a missing
 * browser or an unset sender is a warning (the site builds with --no-pdf; email previews work).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { loadConfigLocated } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { ChecksFailed, UserError } from '../../core/errors.ts';
import { makeDir } from '../../core/make-dir.ts';
import { withDatabase } from '../../db/duckdb.ts';
import { linkSecretProblem } from '../../domain/identity.ts';
import { commitIdentity } from '../../repo/git-identity.ts';
import { layout } from '../../repo/layout.ts';
import { attributesExempt, lineEndingRisk } from '../../repo/line-endings.ts';
import { plainCopies } from '../../repo/plain-copy.ts';
import { PACKAGE_ROOT } from '../../site/astro.ts';
import { type Io, printJson } from '../output.ts';
import type { RootOptions } from './common.ts';

export type CheckStatus = 'ok' | 'warning' | 'error';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warning or an error. */
  fix?: string;
}

const run = (cmd: string, args: string[], cwd?: string): Promise<string | null> =>
  new Promise((done) => {
    execFile(cmd, args, { cwd, timeout: 15_000, encoding: 'utf8' }, (error, stdout) => done(error ? null : stdout.trim()));
  });

/** Flag rules that are off unless config.yaml sets them (an upgrade must not change a closed period), and what goes unseen without them. */
const OPT_IN_RULES = [
  {
    rule: 'unknown_category',
    unseen: 'a charge whose ChargeCategory FOCUS does not have (an old Azure export\'s "error") is billed without review',
  },
  {
    rule: 'conflicting_tags',
    unseen:
      'a charge whose Tags give its PI, project or fund/org under two keys with different values (pi_email and user:pi_email) is billed to the first without review',
  },
] as const;

/** A font for every character beyond Latin of the names statements print (pdf/fonts.ts), or nothing where that cannot be known. */
export async function fontsCheck(root: string, config: Config): Promise<Check | null> {
  const [{ loadPiDirectory }, { fontCoverage, missingFontsAdvice }] = await Promise.all([
    import('../../config/pi-directory.ts'),
    import('../../pdf/fonts.ts'),
  ]);
  const pis = await loadPiDirectory(root).catch(() => null);
  const org = config.organization;
  const coverage = await fontCoverage([
    org.name,
    org.department,
    org.contact_name,
    ...[...(pis?.values() ?? [])].flatMap((p) => [p.name, p.department]),
  ]);
  if (!coverage) return null;
  if (coverage.missing.length === 0)
    return {
      name: 'fonts (PDFs)',
      status: 'ok',
      detail: `every character of the PI and organization names has a font (${coverage.wanted} beyond Latin)`,
    };
  return { name: 'fonts (PDFs)', status: 'warning', ...missingFontsAdvice(coverage.missing, 'the PI or organization names') };
}

/**
 * The Node.js check: `version` (such as 20.20.2) against package.json's engines range (any npm
 * range). semver is loaded here, not at start-up, where it would cost every command tens of ms.
 */
export async function nodeCheck(version: string, range: string): Promise<Check> {
  const { default: semver } = await import('semver');
  if (semver.validRange(range) !== null && !semver.satisfies(version, range))
    return {
      name: 'Node.js',
      status: 'error',
      detail: `${version}, but ${range} is needed`,
      fix: `install a Node.js version in ${range} (the oldest is ${semver.minVersion(range)?.version}): https://nodejs.org`,
    };
  return { name: 'Node.js', status: 'ok', detail: `${version} (needs ${range})` };
}

export async function diagnose(root: string, env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);

  const pkg = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { engines?: { node?: string } };
  const range = pkg.engines?.node ?? '>=20.19';
  add(await nodeCheck(process.versions.node, range));

  const git = await run('git', ['--version']);
  if (git === null)
    add({
      name: 'git',
      status: 'error',
      detail: 'not found',
      fix: 'install git (Debian/Ubuntu: `sudo apt-get install git`; https://git-scm.com)',
    });
  else {
    const who = await commitIdentity(root);
    const ident = 'ident' in who ? who.ident : null;
    add(
      ident
        ? { name: 'git', status: 'ok', detail: `${git.replace('git version ', '')}, commits as ${ident}` }
        : {
            name: 'git',
            status: 'warning',
            detail: `${git.replace('git version ', '')}, but git has no name and email address to commit with: commits (ingest --commit, web app, demo) would fail`,
            fix: 'git config --global user.email you@example.edu && git config --global user.name "Your Name"',
          },
    );
  }

  let config: Config | undefined;
  const isRepo = existsSync(join(root, 'config.yaml'));
  if (!isRepo)
    add({
      name: 'billing repository',
      status: 'warning',
      detail: `${root} has no config.yaml`,
      fix: `focus-billing init ${root} (or pass --root <billing repository>)`,
    });
  else {
    try {
      config = (await loadConfigLocated(root)).data;
      add({ name: 'billing repository', status: 'ok', detail: `${root}: config.yaml is valid` });
      // Rules newer than the repository are off until its config.yaml says (see flag_rules.unknown_category).
      const raw = parse(await readFile(join(root, 'config.yaml'), 'utf8')) as { flag_rules?: Record<string, unknown> } | null;
      const unset = OPT_IN_RULES.filter((r) => raw?.flag_rules?.[r.rule] === undefined);
      if (unset.length > 0)
        add({
          name: 'flag rules',
          status: 'warning',
          detail: `config.yaml leaves ${unset.map((r) => `flag_rules.${r.rule} off: ${r.unseen}`).join('; and ')}`,
          fix: `add ${unset.map((r) => `\`${r.rule}: true\``).join(' and ')} under flag_rules in config.yaml (a closed period holding such a charge would then fail validate until reopened)`,
        });
      if (config.billing.zero_list_cost === undefined)
        add({
          name: 'list prices',
          status: 'warning',
          detail:
            'config.yaml leaves billing.zero_list_cost unset, so a ListCost of 0 is a list price of 0: a charge that costs more (Azure writes 0 for Marketplace and reservation charges) is held as above_list, and once approved its statement shows a negative discount',
          fix: 'add `zero_list_cost: unknown` under billing in config.yaml (a closed period holding such a charge would then read as changed until reopened)',
        });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      add({
        name: 'billing repository',
        status: 'error',
        detail: `${e.where()}${e.message.split('\n')[0]}`,
        fix: e.hint ?? 'fix config.yaml',
      });
    }
  }

  if (isRepo) {
    const ATTRIBUTES_FIX = 'focus-billing init (it adds data/** -text and periods/** -text to .gitattributes), then commit .gitattributes';
    const risk = await lineEndingRisk(root);
    add(
      risk
        ? {
            name: 'line endings',
            status: 'warning',
            detail: `git here would convert the line endings of files under data/ and periods/ (${risk}): closed periods would read as changed`,
            fix: ATTRIBUTES_FIX,
          }
        : (await attributesExempt(root)) === false
          ? {
              name: 'line endings',
              status: 'warning',
              detail:
                'git here keeps data/ and periods/ byte for byte, but .gitattributes does not say it: a clone on Windows (where core.autocrlf is true by default) would convert their line endings, and closed periods would read as changed',
              fix: ATTRIBUTES_FIX,
            }
          : { name: 'line endings', status: 'ok', detail: 'git keeps data/ and periods/ byte for byte, on any machine (.gitattributes)' },
    );
  }

  // Loaded here: Playwright costs most of a second to import, and every other command starts without it.
  const { browserCandidates, chromiumOrNull, INSTALL_HINT } = await import('../../pdf/browser.ts');
  const browser = chromiumOrNull(config?.pdf.chromium, env);
  if (browser) {
    const version = await run(browser.path, ['--version']);
    add({ name: 'browser (PDFs)', status: 'ok', detail: `${version ?? 'version unknown'} at ${browser.path} (${browser.from})` });
    if (config) {
      const fonts = await fontsCheck(root, config);
      if (fonts) add(fonts);
    }
  } else {
    const places = [
      ...new Set(
        browserCandidates({ platform: process.platform, env, home: homedir(), exists: () => false, list: () => [] }).map((c) => c.from),
      ),
    ];
    add({
      name: 'browser (PDFs)',
      status: 'warning',
      detail: `no Chrome or Chromium found (looked in ${places.join(', ')}): sites build with --no-pdf, without PDFs`,
      fix: `${INSTALL_HINT}, or set OCB_CHROMIUM to its path`,
    });
  }

  try {
    const [row] = await withDatabase((db) =>
      db.query<{ v: string; memory: string }>("SELECT version() AS v, current_setting('memory_limit') AS memory"),
    );
    // Read by Database.open from the process's own environment.
    const limit = process.env.OCB_MEMORY_LIMIT ? `OCB_MEMORY_LIMIT=${process.env.OCB_MEMORY_LIMIT}` : 'OCB_MEMORY_LIMIT changes it';
    add({ name: 'DuckDB', status: 'ok', detail: `${row?.v} loads, and may use ${row?.memory} of memory (${limit})` });
  } catch (e) {
    // A setting of ours it was opened with (OCB_MEMORY_LIMIT) is not a broken install.
    const ours = e instanceof UserError;
    add({
      name: 'DuckDB',
      status: 'error',
      detail: `${ours ? 'cannot open' : 'does not load'}: ${(e as Error).message.split('\n')[0]}`,
      fix: ours ? (e.hint ?? 'unset OCB_MEMORY_LIMIT') : 'run `npm ci` again; DuckDB ships a native module for this platform',
    });
  }

  const secret = env.STATEMENT_LINK_SECRET;
  const problem = secret ? linkSecretProblem(secret) : null;
  add(
    !secret
      ? {
          name: 'link secret',
          status: 'warning',
          detail: 'STATEMENT_LINK_SECRET is not set: the PI site (--audience pi) cannot be built',
          fix: 'make one with `openssl rand -base64 32` and keep it in your CI secrets',
        }
      : problem
        ? {
            name: 'link secret',
            status: 'error',
            detail: `STATEMENT_LINK_SECRET is too weak: ${problem}`,
            fix: 'make one with `openssl rand -base64 32`',
          }
        : { name: 'link secret', status: 'ok', detail: `STATEMENT_LINK_SECRET is set (${secret.length} characters)` },
  );

  if (config) {
    const smtp = config.email.smtp;
    const from = config.email.from_address ?? config.organization.contact_email;
    const user = env[smtp.user_env];
    const password = env[smtp.password_env];
    const where = `${smtp.host}:${smtp.port} (${smtp.security})`;
    if (!from)
      add({
        name: 'email (SMTP)',
        status: 'warning',
        detail: `${where}; no sender address: email --send would stop`,
        fix: 'set email.from_address in config.yaml',
      });
    else if (Boolean(user) !== Boolean(password))
      add({
        name: 'email (SMTP)',
        status: 'warning',
        detail: `${where}, from ${from}; only one of ${smtp.user_env} and ${smtp.password_env} is set`,
        fix: `set both ${smtp.user_env} and ${smtp.password_env}, or neither for a relay without login`,
      });
    else
      add({
        name: 'email (SMTP)',
        status: 'ok',
        detail: `${where}, from ${from}${user ? `, login ${user}` : ', no login'} (not contacted)`,
      });
  }

  const cache = layout.cacheDir(root);
  try {
    await makeDir(cache);
    const probe = join(cache, `.doctor-${process.pid}`);
    await writeFile(probe, 'ok');
    await rm(probe);
    const copies = await plainCopies(root);
    const kept = copies.files
      ? `; ${copies.files} plain ${copies.files === 1 ? 'copy' : 'copies'} of compressed exports in .cache/data/, ${(copies.bytes / 1e6).toFixed(1)} MB${copies.linked ? ` of their own, ${copies.linked} of them hard links to the export that take no more disk` : ''} (data_files.plain_copy)`
      : '';
    add({ name: '.cache/', status: 'ok', detail: `${cache} is writable${kept}` });
  } catch (e) {
    add({
      name: '.cache/',
      status: 'error',
      detail: `${cache} cannot be written: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      fix: `make ${cache} writable by this user`,
    });
  }
  return checks;
}

export function registerDoctor(program: Command, io: Io): void {
  program
    .command('doctor')
    .description(
      'check this machine and billing repository: Node, git, the browser and fonts for PDFs, DuckDB, config.yaml, the link secret, email, .cache/',
    )
    .option('--root <dir>', 'billing repository folder', '.')
    .option('--json', 'print the checks as JSON')
    .action(async (opts: RootOptions) => {
      const checks = await diagnose(resolve(opts.root));
      const blocked = checks.some((c) => c.status === 'error');
      if (opts.json) printJson(io, { ok: !blocked, checks });
      else {
        const width = Math.max(...checks.map((c) => c.name.length));
        for (const c of checks) {
          io.out(`${c.status.padEnd(7)} ${c.name.padEnd(width)}  ${c.detail}`);
          if (c.fix && c.status !== 'ok') io.out(`${' '.repeat(8 + width)}  fix: ${c.fix}`);
        }
        const warnings = checks.filter((c) => c.status === 'warning').length;
        io.out('');
        io.out(
          blocked
            ? 'Something blocks focus-billing: fix the errors above.'
            : `Ready${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}.`,
        );
      }
      if (blocked) throw new ChecksFailed('doctor found something that blocks focus-billing');
    });
}
