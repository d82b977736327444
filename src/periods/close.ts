/**
 * Closing and reopening periods. A closed period's period.yaml holds the sha256 of every data
 * file and of flags.yaml, and the hashes of everything else its statements show (freeze.ts).
 * Closing needs no pending flags and statements that can be generated.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { PiDirectory } from '../config/pi-directory.ts';
import type { Config } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { unbillableApprovals } from '../domain/rules.ts';
import { sha256File } from '../repo/hash.ts';
import { layout, relPath } from '../repo/layout.ts';
import { type LockOptions, withRepositoryLock } from '../repo/lock.ts';
import { type PeriodFile, readPeriodFile } from '../repo/period-file.ts';
import { commitWrites } from '../repo/write.ts';
import type { PeriodReport } from '../report/period-report.ts';
import { frozenOf } from './freeze.ts';

/** The current sha256 of each data file of a period and of its flags.yaml. */
export async function manifestOf(root: string, period: string): Promise<{ files: Record<string, string>; flags_sha256: string | null }> {
  const dir = layout.periodDataDir(root, period);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
  const files: Record<string, string> = {};
  for (const n of names) files[relPath('data', period, n)] = await sha256File(join(dir, n));
  const flags = await sha256File(layout.flagsFile(root, period)).catch(() => null);
  return { files, flags_sha256: flags };
}

function periodYaml(p: PeriodFile): string {
  return `# yaml-language-server: $schema=../../schemas/period.schema.json
# Period status. A closed period is frozen: \`focus-billing validate\` fails if any file listed
# here, or anything its statements show, changes. Reopen it with
# \`focus-billing periods reopen ${p.period} --reason "…"\`; never by editing this file.
${stringify(p, { lineWidth: 0 })}`;
}

export interface CloseInput {
  root: string;
  period: string;
  by: string;
  at: string;
  config: Config;
  directory: PiDirectory;
  /** Reads the period's report (its statements must generate). */
  report: () => Promise<PeriodReport>;
  /** Check everything closing checks and return what period.yaml would hold, writing nothing. */
  dryRun?: boolean;
}

export async function closePeriod(input: CloseInput, lock: LockOptions = {}): Promise<PeriodFile> {
  const { root, period, by, at } = input;
  return withRepositoryLock(
    root,
    `focus-billing periods close ${period}`,
    async () => {
      const current = await readPeriodFile(root, period);
      if (current?.status === 'closed')
        throw new UserError(`period ${period} is already closed (${current.closed_at} by ${current.closed_by})`);
      const manifest = await manifestOf(root, period);
      if (Object.keys(manifest.files).length === 0) throw new UserError(`no data for period ${period}: nothing to close`);
      const report = await input.report(); // refuses what cannot be billed: two exports of a source, mixed currencies…
      if (report.flag_counts.pending > 0) {
        const n = report.flag_counts.pending;
        throw new UserError(`period ${period} has ${n} pending flag${n > 1 ? 's' : ''}: decide them before closing`, {
          hint: `focus-billing review list --period ${period} --status pending`,
          exitCode: 1,
        });
      }
      const unbillable = unbillableApprovals(report.flags);
      if (unbillable.length > 0) {
        const n = unbillable.length;
        throw new UserError(
          `period ${period} has ${n} approved flag${n > 1 ? 's' : ''} with no usable PI, project or fund/org (${unbillable[0]?.id}${n > 1 ? ', …' : ''}): closed, ${n > 1 ? 'their charges' : 'its charge'} would stay off statements for good`,
          { hint: 'assign each one first: focus-billing review assign <id> --pi <email> --project <id> --fund-org <fund>', exitCode: 1 },
        );
      }
      const next: PeriodFile = {
        period,
        status: 'closed',
        closed_at: at,
        closed_by: by,
        files: manifest.files,
        flags_sha256: manifest.flags_sha256,
        frozen: await frozenOf(root, period, input.config, report, input.directory),
        history: [...(current?.history ?? []), { action: 'closed', at, by }],
      };
      if (!input.dryRun) await commitWrites([{ target: layout.periodFile(root, period), content: periodYaml(next) }]);
      return next;
    },
    lock,
  );
}

export async function reopenPeriod(
  root: string,
  period: string,
  by: string,
  at: string,
  reason: string,
  lock: LockOptions = {},
): Promise<PeriodFile> {
  if (!reason.trim()) throw new UserError('reopening needs a reason: pass --reason "…"');
  return withRepositoryLock(
    root,
    `focus-billing periods reopen ${period}`,
    async () => {
      const current = await readPeriodFile(root, period);
      if (current?.status !== 'closed') throw new UserError(`period ${period} is not closed`);
      const next: PeriodFile = { period, status: 'open', history: [...current.history, { action: 'reopened', at, by, reason }] };
      await commitWrites([{ target: layout.periodFile(root, period), content: periodYaml(next) }]);
      return next;
    },
    lock,
  );
}
