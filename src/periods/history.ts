/**
 * A closed period reopened only through `periods reopen`: a period.yaml whose status was set to
 * open by hand (its last recorded event is still a closing), or one removed after the period
 * was closed, is found here, from the file itself and from git's history.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { isPeriod } from '../domain/period.ts';
import { type PeriodFile, periodFileSchema } from '../repo/period-file.ts';

const run = promisify(execFile);

export interface PeriodTampering {
  period: string;
  file: string;
  message: string;
}

/** The period.yaml says open, but nothing recorded a reopening after its last closing. */
export function openedByHand(file: PeriodFile): boolean {
  return file.status === 'open' && file.history.at(-1)?.action === 'closed';
}

/** period.yaml files that git knew, whose last committed version was closed, and that are gone now. */
export async function removedClosedPeriods(root: string): Promise<PeriodTampering[]> {
  let listed: string;
  try {
    listed = (await run('git', ['-C', root, 'log', '--format=', '--name-only', '--diff-filter=A', '--', 'periods'])).stdout;
  } catch {
    return []; // not a git repository: nothing to compare with
  }
  const paths = [...new Set(listed.split('\n').filter((p) => /^periods\/[^/]+\/period\.yaml$/.test(p)))];
  const out: PeriodTampering[] = [];
  for (const path of paths) {
    const period = path.split('/')[1] as string;
    if (!isPeriod(period) || existsSync(join(root, path))) continue;
    const last = await lastCommitted(root, path);
    if (last?.status === 'closed')
      out.push({
        period,
        file: path,
        message: `period.yaml of closed period ${period} was removed: that reopens the period with no reason recorded`,
      });
  }
  return out;
}

/** The last version of a file that git holds (before any deletion), parsed; null when unreadable. */
async function lastCommitted(root: string, path: string): Promise<PeriodFile | null> {
  try {
    // The newest commit that added or changed it (`-1` would stop at the deletion before filtering).
    const commit = (await run('git', ['-C', root, 'log', '--format=%H', '--diff-filter=AM', '--', path])).stdout.split('\n')[0]?.trim();
    if (!commit) return null;
    const text = (await run('git', ['-C', root, 'show', `${commit}:${path}`])).stdout;
    const parsed = periodFileSchema.safeParse(parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
