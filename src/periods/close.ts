/** Closing and reopening periods. A closed period's manifest holds the sha256 of every file. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { readYamlFile } from '../config/yaml-file.ts';
import { UserError } from '../core/errors.ts';
import { readFlags } from '../flags/file.ts';
import { layout, relPath } from '../repo/layout.ts';
import { commitWrites } from '../repo/write.ts';
import { type PeriodFile, periodFileSchema } from './schema.ts';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function readPeriodFile(root: string, period: string): Promise<PeriodFile | null> {
  return readYamlFile(
    layout.periodFile(root, period),
    relPath('periods', period, 'period.yaml'),
    periodFileSchema,
    'status is open or closed',
    () => null,
  );
}

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
  return `# Period status. A closed period is frozen: \`focus-billing validate\` fails if any file listed
# here changes. Reopen it with \`focus-billing periods reopen ${p.period} --reason "…"\`.
${stringify(p, { lineWidth: 0 })}`;
}

export async function closePeriod(root: string, period: string, by: string, at: string): Promise<PeriodFile> {
  const current = await readPeriodFile(root, period);
  if (current?.status === 'closed')
    throw new UserError(`period ${period} is already closed (${current.closed_at} by ${current.closed_by})`);
  const manifest = await manifestOf(root, period);
  if (Object.keys(manifest.files).length === 0) throw new UserError(`no data for period ${period}: nothing to close`);
  const flags = await readFlags(layout.flagsFile(root, period), relPath('periods', period, 'flags.yaml'), period);
  const pending = flags.flags.filter((f) => f.status === 'pending');
  if (pending.length > 0) {
    throw new UserError(`period ${period} has ${pending.length} pending flag${pending.length > 1 ? 's' : ''}: decide them before closing`, {
      hint: `focus-billing review list --period ${period} --status pending`,
      exitCode: 1,
    });
  }
  const next: PeriodFile = {
    period,
    status: 'closed',
    closed_at: at,
    closed_by: by,
    files: manifest.files,
    flags_sha256: manifest.flags_sha256,
    history: [...(current?.history ?? []), { action: 'closed', at, by }],
  };
  await commitWrites([{ target: layout.periodFile(root, period), content: periodYaml(next) }]);
  return next;
}

export async function reopenPeriod(root: string, period: string, by: string, at: string, reason: string): Promise<PeriodFile> {
  if (!reason.trim()) throw new UserError('reopening needs a reason: pass --reason "…"');
  const current = await readPeriodFile(root, period);
  if (current?.status !== 'closed') throw new UserError(`period ${period} is not closed`);
  const next: PeriodFile = { period, status: 'open', history: [...current.history, { action: 'reopened', at, by, reason }] };
  await commitWrites([{ target: layout.periodFile(root, period), content: periodYaml(next) }]);
  return next;
}
