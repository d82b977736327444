/** `focus-billing generate --period P`: the statements of a period. */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDecimal } from '../../core/money.ts';
import { checkOutputPath } from '../../repo/outputs.ts';
import { commitWrites } from '../../repo/write.ts';
import { periodReport } from '../../report/period-report.ts';
import type { StatementSet } from '../../statements/build.ts';
import { type Io, money, plural, printJson, table } from '../output.ts';
import { folderOut, inRepository, type RootOptions, withRoot } from './common.ts';

interface GenerateOptions extends RootOptions {
  period: string;
  dryRun?: boolean;
  out: string;
}

export function registerGenerate(program: Command, io: Io): void {
  withRoot(
    program
      .command('generate')
      .description('build the statements of a period from unflagged and approved charges: one per PI and project')
      .requiredOption('--period <YYYY-MM>', 'billing period')
      .option('--dry-run', 'print the statements, write nothing')
      .option('--out <dir>', 'where the statements JSON is written', folderOut, 'out')
      .option('--json', 'print the statements as JSON'),
  ).action(async (opts: GenerateOptions) => {
    const report = await inRepository(opts, io, ({ root, config, db }) => periodReport(db, root, config, opts.period));
    const set = statementJson(report);
    if (!opts.dryRun) {
      const root = resolve(opts.root);
      const target = join(await checkOutputPath(root, resolve(root, opts.out), '--out'), report.period, 'statements.json');
      await commitWrites([{ target, content: `${JSON.stringify(set, null, 2)}\n` }]);
      if (!opts.json) io.out(`Wrote ${target}`);
    }
    if (opts.json) return printJson(io, set);
    io.out(describeStatements(report));
    for (const w of report.warnings) io.err(`warning: ${w}`);
  });
}

export function statementJson(set: StatementSet) {
  const currencies = [...new Set(set.statements.map((s) => s.currency))].sort();
  return {
    period: set.period,
    currency: currencies.length === 1 ? currencies[0] : null,
    currencies,
    statements: set.statements,
    reconciliation: set.reconciliation,
    warnings: set.warnings,
  };
}

function describeStatements(set: StatementSet): string {
  const out = [`${plural(set.statements.length, 'statement')} for ${set.period}`, ''];
  // A Prepaid column only where a prepayment paid something: list − discount − prepaid = amount due.
  const prepaid = set.statements.some((s) => parseDecimal(s.prepaid) !== 0n);
  out.push(
    table(
      ['PI', 'Project', 'Fund/org', 'List', 'Discount', ...(prepaid ? ['Prepaid'] : []), 'Amount due'],
      set.statements.map((s) => [
        s.pi_email,
        s.project_id,
        s.fund_org,
        money(s.list, s.currency),
        `${money(s.discount, s.currency)}${s.discount_percent ? ` (${s.discount_percent}%)` : ''}`,
        ...(prepaid ? [parseDecimal(s.prepaid) === 0n ? '–' : money(s.prepaid, s.currency)] : []),
        `${money(s.amount_due, s.currency)} ${s.currency}`,
      ]),
      ['l', 'l', 'l', 'r', 'r', ...(prepaid ? ['r' as const] : []), 'r'],
    ),
  );
  for (const c of set.reconciliation) {
    // With billing policy the column above adds up to the amount due, not to the charges alone: say both.
    const due =
      c.policy === undefined || c.amount_due === undefined
        ? ''
        : `, policy ${money(c.policy, c.currency)}, amount due ${money(c.amount_due, c.currency)}`;
    out.push(
      '',
      `${c.currency}: statements ${money(c.statements, c.currency)}${due}; excluded ${money(c.excluded, c.currency)} (${plural(c.excluded_rows, 'charge')} pending or rejected); input ${money(c.input, c.currency)}`,
    );
  }
  return out.join('\n');
}
