/**
 * `ingest --commit`: commits what ingest wrote on a branch of its own, never on the default
 * branch, with the figures in the message, so the PR shows one month of one source. Everything
 * that could refuse the commit is checked before ingest writes anything (`planCommit`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import type { Config } from '../config/schema.ts';
import { formatExactMoney } from '../core/currency.ts';
import { UserError } from '../core/errors.ts';
import { parseDecimal } from '../core/money.ts';
import { checkCanCommit } from '../repo/git-identity.ts';

export interface CommitPlan {
  branch: string;
  /** Whether the branch is made (from the current HEAD), or is already checked out. */
  create: boolean;
}

/** A branch name as given (refs/heads/x is x), checked by git's own rules. */
export async function checkBranchName(root: string, name: string): Promise<string> {
  const branch = name.replace(/^refs\/heads\//, '');
  const bad = () =>
    new UserError(`--branch ${JSON.stringify(name)} is not a valid branch name`, {
      hint: 'use letters, digits, / and -, e.g. ingest/2025-01-aws',
    });
  if (!branch || branch.startsWith('-')) throw bad();
  const ok = await simpleGit(root)
    .raw(['check-ref-format', '--branch', branch])
    .then(
      () => true,
      () => false,
    );
  if (!ok) throw bad();
  return branch;
}

/** Checks, before anything is written, that the commit can be made; says on which branch. */
export async function planCommit(
  root: string,
  target: { period: string; slug: string; command?: 'ingest' | 'remove' },
  branch?: string,
): Promise<CommitPlan> {
  const git = simpleGit(root);
  if (!(await git.checkIsRepo().catch(() => false)))
    throw new UserError(`${root} is not a git repository`, { hint: 'run `git init` (or `focus-billing init`) first' });
  await checkCanCommit(root);
  const name = branch ? await checkBranchName(root, branch) : `${target.command ?? 'ingest'}/${target.period}-${target.slug}`;
  if ((await defaultBranches(git)).has(name))
    throw new UserError(`--commit never commits on the default branch (${name})`, {
      hint: `pass --branch <name> or leave it out for ${target.command ?? 'ingest'}/<period>-<source>`,
    });
  const current = (await git.raw(['rev-parse', '--abbrev-ref', 'HEAD']).catch(() => 'HEAD')).trim();
  if (current === name) return { branch: name, create: false };
  if ((await git.branchLocal()).all.includes(name))
    throw new UserError(`branch ${name} exists but is not checked out`, {
      hint: `switch to it first (git switch ${name}) or pass --branch <new name>`,
    });
  return { branch: name, create: true };
}

/** The names of the default branch, never committed on: main, master, origin's HEAD, init.defaultBranch. */
export async function defaultBranches(git: ReturnType<typeof simpleGit>): Promise<Set<string>> {
  const names = new Set(['main', 'master']);
  const originHead = await git.raw(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD']).catch(() => '');
  if (originHead.trim()) names.add(originHead.trim().replace(/^origin\//, ''));
  const configured = await git.raw(['config', '--get', 'init.defaultBranch']).catch(() => '');
  if (configured.trim()) names.add(configured.trim());
  return names;
}

export interface CommitSummary {
  source: string;
  period: string;
  rows: number;
  parts: { file: string; stored_as: string }[];
  totals: { currency: string; billed: string; list: string; flagged_rows: number; flagged_amount: string }[];
  by_rule: Record<string, number>;
  /** `reflagged`: the export was stored already, and only its flags were written again. */
  outcome?: string;
}

export async function commitIngest(
  root: string,
  config: Config,
  plan: CommitPlan,
  summary: CommitSummary,
): Promise<{ branch: string; commit: string }> {
  const money = (v: string, c: string) => formatExactMoney(parseDecimal(v), c, config.billing.minor_units);
  const totals = summary.totals.map((t) => `${money(t.billed, t.currency)} ${t.currency}`).join(', ');
  const flagged = summary.totals.reduce((n, t) => n + t.flagged_rows, 0);
  const subject =
    summary.outcome === 'reflagged'
      ? `Flags of ${summary.source} ${summary.period} written again: ${flagged} flagged, as the export holds them for review now`
      : `Ingest ${summary.source} ${summary.period}: ${summary.rows.toLocaleString('en-US')} rows, ${totals}${flagged ? `, ${flagged} flagged` : ''}`;
  const body = [
    ...summary.parts.map((p) => `File: ${p.file} → ${p.stored_as}`),
    ...summary.totals.map(
      (t) =>
        `${t.currency}: billed ${money(t.billed, t.currency)}, list ${money(t.list, t.currency)}, flagged ${t.flagged_rows} (${money(t.flagged_amount, t.currency)})`,
    ),
    ...Object.entries(summary.by_rule).map(([rule, n]) => `Flags ${rule}: ${n}`),
  ].join('\n');
  return commitPaths(root, plan, [`data/${summary.period}`, `periods/${summary.period}/flags.yaml`], [subject, body]);
}

/**
 * Commits the given paths as they are now (added, changed or removed) on the planned branch, and
 * nothing else the working tree holds.
 */
export async function commitPaths(
  root: string,
  plan: CommitPlan,
  paths: string[],
  message: string[],
): Promise<{ branch: string; commit: string }> {
  const git = simpleGit(root);
  if (plan.create) await git.checkoutLocalBranch(plan.branch);
  // A path removed from the working tree is staged by what git still tracks under it.
  const tracked = (await git.raw(['ls-files', '--', ...paths])).split('\n').filter(Boolean);
  const given = [...new Set([...paths.filter((p) => existsSync(join(root, p))), ...tracked])];
  if (given.length > 0) await git.add(['-A', '--', ...given]);
  const staged = given.length > 0 ? (await git.diff(['--cached', '--name-only', '--', ...given])).trim() : '';
  if (!staged) throw new UserError('nothing to commit: the files are already committed');
  const result = await git.commit(message, given);
  return { branch: plan.branch, commit: result.commit };
}
