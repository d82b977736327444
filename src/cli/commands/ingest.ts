/** `focus-billing ingest <file...> --source <name>`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../core/errors.ts';
import { type IngestReport, ingest } from '../../ingest/ingest.ts';
import { type Io, money, plural, printJson } from '../output.ts';
import { inRepository, type RootOptions, shownPath, withRoot } from './common.ts';

interface IngestCliOptions extends RootOptions {
  commit?: boolean;
  branch?: string;
  source: string;
  period?: string;
  replace?: boolean;
  dryRun?: boolean;
}

export function registerIngest(program: Command, io: Io): void {
  withRoot(
    program
      .command('ingest')
      .description(
        'validate a FOCUS export (.csv, .csv.gz or .parquet), store it byte for byte under data/<period>/ (gzip-compressed when large), and hold flagged charges for review in periods/<period>/flags.yaml',
      )
      .argument('<files...>', 'FOCUS export (CSV, gzip CSV or Parquet); several files are the parts of one export, in order')
      .requiredOption('--source <name>', 'source it came from, as named in config.yaml (e.g. AWS, HPC)')
      .option('--period <YYYY-MM>', 'store under this period; rows of other periods are flagged period_mismatch')
      .option('--replace', 'replace a different export already stored for this period and source')
      .option('--dry-run', 'check and report, write nothing')
      .option('--commit', 'commit the data and flags on a branch ingest/<period>-<source> (never the default branch)')
      .option('--branch <name>', 'with --commit: the branch to commit on')
      .option('--json', 'print the report as JSON'),
  )
    .addHelpText(
      'after',
      `
The period comes from BillingPeriodStart (UTC). Importing an identical file again does nothing;
a corrected export needs --replace, and review decisions on unchanged rows are kept.
An export delivered in several files (AWS and Azure split large months) is ingested in one
command and stored as data/<period>/<source>.part-001.csv, .part-002.csv…; its parts are
replaced together.
Exit codes: 0 ok, 2 invalid input (nothing written).

Examples:
  focus-billing ingest exports/aws-2025-01.csv.gz --source AWS
  focus-billing ingest exports/2025-01/part-*.csv.gz --source AWS`,
    )
    .action(async (files: string[], opts: IngestCliOptions) => {
      if (opts.branch && !opts.commit) throw new UserError('--branch goes with --commit');
      if (opts.commit && opts.dryRun) throw new UserError('--commit and --dry-run do not go together: a dry run writes nothing to commit');
      const report = await inRepository(opts, io, async ({ root, config, db }) => {
        io.progress(`Reading ${files.join(', ')}…`);
        return ingest(db, config, {
          root,
          files: files.map((file) => ({ path: resolve(file), display: shownPath(file) })),
          source: opts.source,
          period: opts.period,
          replace: opts.replace,
          dryRun: opts.dryRun,
          commit: opts.commit ? { branch: opts.branch } : undefined,
          lock: { say: io.err },
        });
      });
      if (opts.json) printJson(io, report);
      else {
        io.out(describeIngest(report));
        if (report.committed)
          io.out(`Committed ${report.committed.commit} on branch ${report.committed.branch}: push it and open a pull request.`);
      }
    });
}

export function describeIngest(r: IngestReport): string {
  const verb = {
    ingested: 'Ingested',
    replaced: 'Replaced',
    unchanged: 'Already ingested (identical file), nothing to do:',
    reflagged: 'Already ingested (identical file), its flags written again (no longer what it holds for review):',
    'dry-run': 'Dry run, nothing written:',
  }[r.outcome];
  const lines =
    r.parts.length === 1
      ? [`${verb} ${r.file} as ${r.source} for ${r.period} → ${r.stored_as}`]
      : [
          `${verb} ${r.parts.length} files, one export, as ${r.source} for ${r.period}:`,
          ...r.parts.map((p) => `  ${p.file} → ${p.stored_as} (${plural(p.rows, 'row')})`),
        ];
  lines.push(
    `  rows      ${r.rows.toLocaleString('en-US')}${r.periods.length > 1 ? ` (${r.periods.map((p) => `${p.period}: ${p.rows}`).join(', ')})` : ''}`,
  );
  for (const t of r.totals) {
    lines.push(`  billed    ${money(t.billed, t.currency)} ${t.currency}`);
    lines.push(`  list      ${money(t.list, t.currency)} ${t.currency}`);
    if (t.flagged_rows > 0)
      lines.push(`  flagged   ${plural(t.flagged_rows, 'charge')}, ${money(t.flagged_amount, t.currency)} ${t.currency}`);
  }
  const rules = Object.entries(r.flags.by_rule);
  if (r.flags.total > 0) {
    lines.push(
      `  review    ${plural(r.flags.total, 'flag')} in periods/${r.period}/flags.yaml (${rules.map(([k, n]) => `${k} ${n}`).join(', ')})`,
    );
    if (r.flags.decisions_kept > 0) lines.push(`            ${plural(r.flags.decisions_kept, 'earlier decision')} kept`);
    if (r.flags.decisions_dropped > 0)
      lines.push(`            ${plural(r.flags.decisions_dropped, 'decision')} dropped: their rows are no longer in the export`);
  } else lines.push('  review    no charges flagged');
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
