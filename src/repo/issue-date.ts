/**
 * The date printed on a period's statements, which belongs to the period, not to the build: the
 * day it was closed; while open, the day of the last commit that changed what its statements
 * show (its data, flags, notes; not its delivery log); for data not yet committed, the build's
 * date (SOURCE_DATE_EPOCH or today). A commit for a later month leaves it, and the PDFs, alone.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readPeriodFile } from './period-file.ts';

const run = promisify(execFile);

/** Today (UTC), or SOURCE_DATE_EPOCH's day when set: the date of what is not yet committed. */
export function buildDay(env: NodeJS.ProcessEnv = process.env, now = () => new Date()): string {
  const epoch = Number(env.SOURCE_DATE_EPOCH);
  return (env.SOURCE_DATE_EPOCH && Number.isFinite(epoch) ? new Date(epoch * 1000) : now()).toISOString().slice(0, 10);
}

/** The last commit's date (UTC day) among those touching `paths`, or null (no git, no such commit). */
async function lastCommitDay(root: string, paths: string[]): Promise<string | null> {
  try {
    const { stdout } = await run('git', ['-C', root, 'log', '-1', '--format=%cI', '--', ...paths]);
    const iso = stdout.trim();
    return iso ? new Date(iso).toISOString().slice(0, 10) : null;
  } catch {
    return null;
  }
}

export async function issueDate(root: string, period: string, fallback: () => string = buildDay): Promise<string> {
  const file = await readPeriodFile(root, period);
  if (file?.status === 'closed' && file.closed_at) return file.closed_at.slice(0, 10);
  const committed = await lastCommitDay(root, [`data/${period}`, `periods/${period}`, `:(exclude)periods/${period}/deliveries.yaml`]);
  return committed ?? fallback();
}

/** Issue dates of several periods: `explicit` (e.g. --date) for all, else each period's own. */
export async function issueDates(root: string, periods: string[], explicit?: string): Promise<Map<string, string>> {
  const dates = await Promise.all(periods.map(async (p) => [p, explicit ?? (await issueDate(root, p))] as const));
  return new Map(dates);
}
