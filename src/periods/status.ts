/** Period status from `periods/<period>/period.yaml` (open unless it says closed). */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { UserError } from '../core/errors.ts';
import { layout } from '../repo/layout.ts';

export type PeriodStatus = 'open' | 'closed';

export async function periodStatus(root: string, period: string): Promise<PeriodStatus> {
  try {
    const doc = parse(await readFile(layout.periodFile(root, period), 'utf8')) as { status?: string } | null;
    return doc?.status === 'closed' ? 'closed' : 'open';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'open';
    throw e;
  }
}

export async function assertOpen(root: string, period: string, action: string): Promise<void> {
  if ((await periodStatus(root, period)) === 'closed') {
    throw new UserError(`period ${period} is closed: cannot ${action}`, {
      hint: `reopen it first with \`focus-billing periods reopen ${period} --reason "…"\``,
    });
  }
}
