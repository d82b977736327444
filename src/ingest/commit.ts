/**
 * `ingest --commit`: commits what ingest wrote on a branch of its own, never on the default
 * branch, with the figures in the message, so the PR shows one month of one source.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import type { Config } from '../config/schema.ts';
import { sourceSlug } from '../config/schema.ts';
import { formatExactMoney } from '../core/currency.ts';
import { UserError } from '../core/errors.ts';
import { parseDecimal } from '../core/money.ts';
import { findSource, type IngestReport } from './ingest.ts';

export async function commitIngest(
  root: string,
  config: Config,
  report: IngestReport,
  branch?: string,
): Promise<{ branch: string; commit: string }> {
  const git = simpleGit(root);
  if (!(await git.checkIsRepo().catch(() => false)))
    throw new UserError(`${root} is not a git repository`, { hint: 'run `git init` (or `focus-billing init`) first' });
  const slug = sourceSlug(findSource(config, report.source));
  const target = branch ?? `ingest/${report.period}-${slug}`;
  const defaults = new Set(['main', 'master']);
  const originHead = await git.raw(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD']).catch(() => '');
  if (originHead.trim()) defaults.add(originHead.trim().replace(/^origin\//, ''));
  if (defaults.has(target))
    throw new UserError(`--commit never commits on the default branch (${target})`, {
      hint: 'pass --branch <name> or leave it out for ingest/<period>-<source>',
    });
  const current = (await git.raw(['rev-parse', '--abbrev-ref', 'HEAD']).catch(() => 'HEAD')).trim();
  if (current !== target) {
    const exists = (await git.branchLocal()).all.includes(target);
    if (exists)
      throw new UserError(`branch ${target} exists but is not checked out`, {
        hint: `switch to it first (git switch ${target}) or pass --branch <new name>`,
      });
    await git.checkoutLocalBranch(target);
  }
  const paths = [`data/${report.period}`, `periods/${report.period}/flags.yaml`].filter((p) => existsSync(join(root, p)));
  await git.add(['-A', '--', ...paths]);
  const staged = (await git.diff(['--cached', '--name-only'])).trim();
  if (!staged) throw new UserError('nothing to commit: the files are already committed');
  const money = (v: string, c: string) => formatExactMoney(parseDecimal(v), c, config.billing.minor_units);
  const totals = report.totals.map((t) => `${money(t.billed, t.currency)} ${t.currency}`).join(', ');
  const flagged = report.totals.reduce((n, t) => n + t.flagged_rows, 0);
  const subject = `Ingest ${report.source} ${report.period}: ${report.rows.toLocaleString('en-US')} rows, ${totals}${flagged ? `, ${flagged} flagged` : ''}`;
  const body = [
    ...report.parts.map((p) => `File: ${p.file} → ${p.stored_as}`),
    ...report.totals.map(
      (t) =>
        `${t.currency}: billed ${money(t.billed, t.currency)}, list ${money(t.list, t.currency)}, flagged ${t.flagged_rows} (${money(t.flagged_amount, t.currency)})`,
    ),
    ...Object.entries(report.flags.by_rule).map(([rule, n]) => `Flags ${rule}: ${n}`),
  ].join('\n');
  const result = await git.commit([subject, body], paths);
  return { branch: target, commit: result.commit };
}
