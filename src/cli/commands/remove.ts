/** `focus-billing remove --period P --source S`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfigLocated } from '../../config/load.ts';
import { UserError } from '../../core/errors.ts';
import { type RemoveReport, removeExport } from '../../ingest/remove.ts';
import { ORIGINAL_SUFFIX } from '../../repo/stored-export.ts';
import { type Io, plural, printJson } from '../output.ts';
import { type RootOptions, withRoot } from './common.ts';

interface RemoveCliOptions extends RootOptions {
  period: string;
  source: string;
  dryRun?: boolean;
  force?: boolean;
  commit?: boolean;
  branch?: string;
}

export function registerRemove(program: Command, io: Io): void {
  withRoot(
    program
      .command('remove')
      .description(
        'take a stored export out of an open period, with the charges it held for review: for an export ingested under the wrong source or into the wrong month',
      )
      .requiredOption('--period <YYYY-MM>', 'the period it is stored in')
      .requiredOption('--source <name>', 'the source it is stored under, as named in config.yaml')
      .option('--dry-run', 'say what would be removed, remove nothing')
      .option('--force', 'remove files git holds no copy of (never committed, or changed since)')
      .option('--commit', 'commit the removal on a branch remove/<period>-<source> (never the default branch)')
      .option('--branch <name>', 'with --commit: the branch to commit on (name the one checked out to add the removal to its pull request)')
      .option('--json', 'print the report as JSON'),
  )
    .addHelpText(
      'after',
      `
It removes data/<period>/<source>.* (every part, and the records of compressed files) and that
source's flags from periods/<period>/flags.yaml, decisions included. Nothing else is touched. A
closed period is refused (reopen it first). A file git holds no copy of is refused unless --force:
removing it would lose it, so keep the export to ingest it again. Flags whose export is gone
already (git rm) are taken out alone; a month left with no export and no flag is left as it was
before it was ingested.
Exit codes: 0 ok, 2 invalid input (nothing removed).

Examples (an AWS export ingested as GCP by mistake):
  focus-billing remove --period 2025-01 --source GCP --dry-run
  focus-billing remove --period 2025-01 --source GCP
  focus-billing ingest exports/aws-2025-01.csv --source AWS`,
    )
    .action(async (opts: RemoveCliOptions) => {
      if (opts.branch && !opts.commit) throw new UserError('--branch goes with --commit');
      const root = resolve(opts.root);
      const config = (await loadConfigLocated(root)).data;
      const report = await removeExport(config, {
        root,
        period: opts.period,
        source: opts.source,
        dryRun: opts.dryRun,
        force: opts.force,
        commit: opts.commit ? { branch: opts.branch } : undefined,
        lock: { say: io.err },
      });
      if (opts.json) printJson(io, report);
      else io.out(describeRemove(report));
    });
}

export function describeRemove(r: RemoveReport): string {
  const what = r.files.some((f) => !f.endsWith(ORIGINAL_SUFFIX))
    ? `the ${r.source} export of ${r.period}`
    : r.files.length > 0
      ? `what is left of the ${r.source} export of ${r.period}, which is no longer stored`
      : `the flags of ${r.source} in ${r.period}, whose export is no longer stored`;
  const lines = [
    `${r.outcome === 'dry-run' ? 'Dry run, nothing removed: would remove' : 'Removed'} ${what}:`,
    ...r.files.map((f) => `  ${f}`),
  ];
  if (r.flags.removed === 0) lines.push(`  no flags in periods/${r.period}/flags.yaml`);
  else
    lines.push(
      `  ${plural(r.flags.removed, 'flag')} from periods/${r.period}/flags.yaml${r.flags.decided > 0 ? ` (${r.flags.decided.toLocaleString('en-US')} with a decision, note or assignment)` : ''}`,
    );
  if (r.committed) lines.push(`Committed ${r.committed.commit} on branch ${r.committed.branch}: push it and open a pull request.`);
  return lines.join('\n');
}
