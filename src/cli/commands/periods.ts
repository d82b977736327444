/** `focus-billing periods list|show`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { loadPiDirectory } from '../../config/pi-directory.ts';
import { formatUnits, parseDecimal, SCALE, trimDecimal } from '../../core/money.ts';
import { now, reviewer } from '../../flags/decider.ts';
import { closePeriod, reopenPeriod } from '../../periods/close.ts';
import { listPeriods, type PeriodReport, periodReport } from '../../report/period-report.ts';
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
      .option('--json', 'print period.yaml as JSON'),
  ).action(async (period: string, opts: RootOptions & { by?: string }) => {
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
        },
        { say: io.err },
      ),
    );
    if (opts.json) return printJson(io, file);
    io.out(
      `Closed ${period}: ${plural(Object.keys(file.files ?? {}).length, 'data file')} frozen in periods/${period}/period.yaml. Commit it.`,
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
    const rows = await inRepository(opts, io, async ({ root, config, db }) => {
      const out = [];
      for (const period of await listPeriods(root)) {
        io.progress(`Reading ${period}…`);
        out.push(summarise(await periodReport(db, root, config, period)));
      }
      return out;
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
            i === 0 ? p.sources.join(', ') : '',
            t.rows.toLocaleString('en-US'),
            `${money(t.list, t.currency)} ${t.currency}`,
            `${money(t.billed, t.currency)} ${t.currency}`,
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
    const report = await inRepository(opts, io, ({ root, config, db }) => periodReport(db, root, config, period));
    if (opts.json) {
      const { period: p, status, sources, flag_counts, reconciliation, warnings, statements } = report;
      return printJson(io, { period: p, status, sources, flag_counts, reconciliation, warnings, statements: statements.length });
    }
    io.out(describePeriod(report));
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

export function describePeriod(r: PeriodReport): string {
  const out = [`Period ${r.period} (${r.status}): ${plural(r.statements.length, 'statement')}`, ''];
  out.push(
    table(
      ['Source', 'File', 'Rows', 'List', 'Billed'],
      r.sources.map((s) => [
        s.source,
        s.file,
        s.rows.toLocaleString('en-US'),
        `${money(s.list, s.currency)} ${s.currency}`,
        `${money(s.billed, s.currency)} ${s.currency}`,
      ]),
      ['l', 'l', 'r', 'r', 'r'],
    ),
  );
  out.push('', `Flags: ${r.flag_counts.pending} pending, ${r.flag_counts.approved} approved, ${r.flag_counts.rejected} rejected`);
  for (const c of r.reconciliation) {
    out.push('', `Reconciliation (${c.currency})`);
    out.push(
      table(
        ['', 'Amount', 'Charges'],
        [
          ['Input total', trimDecimal(c.input), c.rows.toLocaleString('en-US')],
          ['On statements', c.statements, ''],
          ['Excluded, pending review', trimDecimal(c.excluded_pending), ''],
          ['Excluded, rejected', trimDecimal(c.excluded_rejected), ''],
          ['Rounding residue', trimDecimal(c.rounding_residue), ''],
          ...(c.policy === undefined
            ? []
            : [
                ['Policy lines', c.policy, ''],
                ['Amount due', c.amount_due as string, ''],
              ]),
        ],
        ['l', 'r', 'r'],
      ),
    );
    out.push(
      `input = statements + excluded + residue: ${trimDecimal(c.input)} = ${c.statements} + ${trimDecimal(c.excluded)} + ${trimDecimal(c.rounding_residue)}`,
    );
  }
  for (const w of r.warnings) out.push('', `warning: ${w}`);
  return out.join('\n');
}
