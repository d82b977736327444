/**
 * The date printed on a period's statements, which belongs to the period, not to the build: the
 * day it was closed; while open, the day of the last commit that changed what its statements
 * show (its data, flags, notes; not its delivery log); for data not yet committed, the build's
 * date (SOURCE_DATE_EPOCH or today). A commit for a later month leaves it, and the PDFs, alone.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../core/errors.ts';
import { readPeriodFile } from './period-file.ts';

const run = promisify(execFile);

/** Today (UTC), or SOURCE_DATE_EPOCH's day when set: the date of what is not yet committed. */
export function buildDay(env: NodeJS.ProcessEnv = process.env, now = () => new Date()): string {
  const epoch = Number(env.SOURCE_DATE_EPOCH);
  return (env.SOURCE_DATE_EPOCH && Number.isFinite(epoch) ? new Date(epoch * 1000) : now()).toISOString().slice(0, 10);
}

/**
 * The last commit (hash, UTC day) among those touching `paths`, or null (no git, no such commit).
 * `cutoff` is whether it is where a shallow clone's history stops: git shows such a commit as
 * adding every file, so it is found for every period, whatever its real last change was.
 */
async function lastCommit(
  root: string,
  paths: string[],
  cutoffs: () => Promise<Set<string>>,
): Promise<{ day: string; cutoff: boolean } | null> {
  let found: string;
  try {
    found = (await run('git', ['-C', root, 'log', '-1', '--format=%H %cI', '--', ...paths])).stdout.trim();
  } catch {
    return null;
  }
  if (!found) return null;
  const [hash = '', iso = ''] = found.split(' ');
  return { day: new Date(iso).toISOString().slice(0, 10), cutoff: (await cutoffs()).has(hash) };
}

/** The commits where a shallow clone's history stops (none in a full clone). */
async function shallowCutoffs(root: string): Promise<Set<string>> {
  const path = await run('git', ['-C', root, 'rev-parse', '--git-path', 'shallow']).then(
    ({ stdout }) => resolve(root, stdout.trim()), // relative to root, where git ran
    () => null,
  );
  const text = path ? await readFile(path, 'utf8').catch(() => '') : '';
  return new Set(text.split('\n').filter(Boolean));
}

/** `shallowCutoffs`, asked once, when first needed. */
function once(root: string): () => Promise<Set<string>> {
  let asked: Promise<Set<string>> | undefined;
  return () => {
    asked ??= shallowCutoffs(root);
    return asked;
  };
}

export async function issueDate(
  root: string,
  period: string,
  fallback: () => string = buildDay,
  cutoffs: () => Promise<Set<string>> = once(root),
): Promise<string> {
  const file = await readPeriodFile(root, period);
  if (file?.status === 'closed' && file.closed_at) return file.closed_at.slice(0, 10);
  const committed = await lastCommit(root, [`data/${period}`, `periods/${period}`, `:(exclude)periods/${period}/deliveries.yaml`], cutoffs);
  if (committed?.cutoff)
    throw new UserError(
      `the issue date of ${period} is not known in this shallow clone: its history stops at a commit that seems to change every period`,
      {
        hint: 'fetch the history (git fetch --unshallow; in GitHub Actions, actions/checkout with fetch-depth: 0), or give the date with --date',
      },
    );
  return committed?.day ?? fallback();
}

/** Issue dates of several periods: `explicit` (e.g. --date) for all, else each period's own. */
export async function issueDates(root: string, periods: string[], explicit?: string): Promise<Map<string, string>> {
  const cutoffs = once(root);
  const dates = await Promise.all(periods.map(async (p) => [p, explicit ?? (await issueDate(root, p, buildDay, cutoffs))] as const));
  return new Map(dates);
}
