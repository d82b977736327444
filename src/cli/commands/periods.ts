/** `focus-billing periods list|show`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { loadPiDirectory } from '../../config/pi-directory.ts';
import { type Config, sourceName } from '../../config/schema.ts';
import { minorDigits } from '../../core/currency.ts';
import { alignDecimals, formatUnits, parseDecimal, readableDecimal, SCALE } from '../../core/money.ts';
import { now, reviewer } from '../../flags/decider.ts';
import { closePeriod, reopenPeriod } from '../../periods/close.ts';
import { listPeriods, type PeriodReport, periodReport } from '../../report/period-report.ts';
import { chargesOf, heldBackTotal, type ReconciliationTerm, reconciliationTerms } from '../../statements/build.ts';
import { type Io, money, plural, printJson, table } from '../output.ts';
import { checkPeriod, inRepository, type RootOptions, withRoot } from './common.ts';

export function registerPeriods(program: Command, io: Io): void {
  const periods = program.command('periods').description('billing periods: what data each holds, its review state and reconciliation');
  withRoot(
    periods
      .command('close')
      .description('freeze a period: needs no pending flags; records the sha256 of every data file and of flags.yaml')
      .argument('<period>', 'YYYY-MM')
      .option('--by <email>', 'who closes it (default: git user.email)')
      .option('--dry-run', 'check that it can be closed and say what would be frozen; write nothing')
      .option('--json', 'print period.yaml as JSON'),
  ).action(async (period: string, opts: RootOptions & { by?: string; dryRun?: boolean }) => {
    const file = await inRepository(opts, io, async ({ root, config, db }) =>
      closePeriod(
        {
          root,
          period: checkPeriod(period),
          by: await reviewer(root, opts.by),
          at: now(),
          config,
          directory: await loadPiDirectory(root),
          report: () => periodReport(db, root, config, period),
          dryRun: opts.dryRun,
        },
        { say: io.err },
      ),
    );
    if (opts.json) return printJson(io, opts.dryRun ? { dry_run: true, ...file } : file);
    const files = plural(Object.keys(file.files ?? {}).length, 'data file');
    io.out(
      opts.dryRun
        ? `Dry run, nothing written: ${period} can be closed; ${files}, flags.yaml and what its statements show would be frozen in periods/${period}/period.yaml.`
        : `Closed ${period}: ${files} frozen in periods/${period}/period.yaml. Commit it.`,
    );
  });
  withRoot(
    periods
      .command('reopen')
      .description('reopen a closed period so its data or decisions can change; the reason is recorded')
      .argument('<period>', 'YYYY-MM')
      .requiredOption('--reason <text>', 'why (required, kept in period.yaml)')
      .option('--by <email>', 'who reopens it (default: git user.email)')
      .option('--json', 'print period.yaml as JSON'),
  ).action(async (period: string, opts: RootOptions & { reason: string; by?: string }) => {
    const root = resolve(opts.root);
    await loadConfig(root);
    const file = await reopenPeriod(root, checkPeriod(period), await reviewer(root, opts.by), now(), opts.reason, { say: io.err });
    if (opts.json) return printJson(io, file);
    io.out(`Reopened ${period}: ${opts.reason}`);
  });
  withRoot(
    periods
      .command('list')
      .description('each period with sources, rows, list and billed totals, flags and status')
      .option('--json', 'print as JSON'),
  ).action(async (opts: RootOptions) => {
    const { rows, config } = await inRepository(opts, io, async ({ root, config, db }) => {
      const rows = [];
      for (const period of await listPeriods(root)) {
        io.progress(`Reading ${period}…`);
        rows.push(summarise(await periodReport(db, root, config, period)));
      }
      return { rows, config };
    });
    if (opts.json) return printJson(io, { periods: rows });
    if (rows.length === 0) return io.out('No periods yet. Ingest a FOCUS export: focus-billing ingest <file> --source <name>');
    io.out(
      table(
        ['Period', 'Status', 'Sources', 'Rows', 'List', 'Billed', 'Pending', 'Approved', 'Rejected'],
        rows.flatMap((p) =>
          p.totals.map((t, i) => [
            i === 0 ? p.period : '',
            i === 0 ? p.status : '',
            i === 0 ? p.sources.map((slug) => sourceName(config, slug)).join(', ') : '',
            t.rows.toLocaleString('en-US'),
            `${money(t.list, t.currency, config.billing.minor_units)} ${t.currency}`,
            `${money(t.billed, t.currency, config.billing.minor_units)} ${t.currency}`,
            i === 0 ? String(p.flags.pending) : '',
            i === 0 ? String(p.flags.approved) : '',
            i === 0 ? String(p.flags.rejected) : '',
          ]),
        ),
        ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
    );
  });
  withRoot(
    periods
      .command('show')
      .description('per-source totals and the reconciliation: input = statements + excluded + rounding residue')
      .argument('<period>', 'YYYY-MM')
      .option('--json', 'print as JSON'),
  ).action(async (period: string, opts: RootOptions) => {
    const { report, config } = await inRepository(opts, io, async ({ root, config, db }) => ({
      report: await periodReport(db, root, config, period),
      config,
    }));
    if (opts.json) {
      const { period: p, status, sources, held_back, flag_counts, reconciliation, warnings, statements } = report;
      return printJson(io, { period: p, status, sources, held_back, flag_counts, reconciliation, warnings, statements: statements.length });
    }
    io.out(describePeriod(report, config));
  });
}

function summarise(r: PeriodReport) {
  const totals = new Map<string, { rows: number; list: bigint; billed: bigint }>();
  for (const s of r.sources) {
    const t = totals.get(s.currency) ?? { rows: 0, list: 0n, billed: 0n };
    t.rows += s.rows;
    t.list += parseDecimal(s.list);
    t.billed += parseDecimal(s.billed);
    totals.set(s.currency, t);
  }
  return {
    period: r.period,
    status: r.status,
    sources: [...new Set(r.sources.map((s) => s.source))],
    rows: r.sources.reduce((n, s) => n + s.rows, 0),
    totals: [...totals].map(([currency, t]) => ({
      currency,
      rows: t.rows,
      list: formatUnits(t.list, SCALE),
      billed: formatUnits(t.billed, SCALE),
    })),
    flags: r.flag_counts,
    statements: r.statements.length,
  };
}

const LABELS: Record<ReconciliationTerm, string> = {
  input: 'Input total',
  statements: 'On statements',
  excluded_pending: 'Excluded, pending review',
  excluded_rejected: 'Excluded, rejected',
  rounding_residue: 'Rounding residue',
  policy: 'Policy lines',
  amount_due: 'Amount due',
};

/** A period for people: its sources by their names in config.yaml, and its reconciliation exact, points aligned. */
export function describePeriod(r: PeriodReport, config: Config): string {
  const units = config.billing.minor_units;
  const out = [`Period ${r.period} (${r.status}): ${plural(r.statements.length, 'statement')}`, ''];
  // What review keeps off the statements, by source: on the first of its files (an export in parts has several).
  const heldBack = new Map(r.held_back.map((h) => [JSON.stringify([h.source, h.currency]), heldBackTotal(h)]));
  out.push(
    table(
      ['Source', 'File', 'Rows', 'List', 'Billed', 'Held back'],
      r.sources.map((s, i) => {
        const first = r.sources.findIndex((o) => o.source === s.source && o.currency === s.currency) === i;
        const held = first ? heldBack.get(JSON.stringify([s.source, s.currency])) : undefined;
        return [
          sourceName(config, s.source),
          s.file,
          s.rows.toLocaleString('en-US'),
          `${money(s.list, s.currency, units)} ${s.currency}`,
          `${money(s.billed, s.currency, units)} ${s.currency}`,
          held === undefined ? '' : `${money(held, s.currency, units)} ${s.currency}`,
        ];
      }),
      ['l', 'l', 'r', 'r', 'r', 'r'],
    ),
  );
  out.push('', `Flags: ${r.flag_counts.pending} pending, ${r.flag_counts.approved} approved, ${r.flag_counts.rejected} rejected`);
  for (const c of r.reconciliation) {
    const shown = (v: string) => readableDecimal(v, minorDigits(c.currency, units));
    const terms = reconciliationTerms(c);
    const amounts = alignDecimals(terms.map(([, v]) => shown(v)));
    out.push('', `Reconciliation (${c.currency})`);
    out.push(
      table(
        ['', 'Amount', 'Charges'],
        terms.map(([term], i) => [LABELS[term], amounts[i] as string, chargesOf(c, term)?.toLocaleString('en-US') ?? '']),
        ['l', 'r', 'r'],
      ),
    );
    // A negative term is subtracted, not added as "+ -0.02".
    const added = [c.excluded, c.rounding_residue].map((v) => (v.startsWith('-') ? ` - ${shown(v.slice(1))}` : ` + ${shown(v)}`));
    out.push(`input = statements + excluded + residue: ${shown(c.input)} = ${shown(c.statements)}${added.join('')}`);
    const counts = [c.rows, c.statement_rows, c.pending_rows, c.rejected_rows].map((n) => n.toLocaleString('en-US'));
    out.push(`charges: ${counts[0]} = ${counts.slice(1).join(' + ')}`);
  }
  for (const w of r.warnings) out.push('', `warning: ${w}`);
  return out.join('\n');
}
