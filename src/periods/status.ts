/** Period status from `periods/<period>/period.yaml` (open unless it says closed). */
import { UserError } from '../core/errors.ts';
import { readPeriodFile } from './close.ts';

export type PeriodStatus = 'open' | 'closed';

export async function periodStatus(root: string, period: string): Promise<PeriodStatus> {
  return (await readPeriodFile(root, period))?.status ?? 'open';
}

export async function assertOpen(root: string, period: string, action: string): Promise<void> {
  const file = await readPeriodFile(root, period);
  if (file?.status === 'closed') {
    throw new UserError(
      `period ${period} is closed${file.closed_at ? ` (${file.closed_at} by ${file.closed_by})` : ''}: cannot ${action}`,
      {
        hint: `reopen it first with \`focus-billing periods reopen ${period} --reason "…"\``,
      },
    );
  }
}
