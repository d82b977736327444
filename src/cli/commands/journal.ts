/** `focus-billing journal --period P --format detail|summary|gl`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { minorDigits } from '../../core/currency.ts';
import { UserError } from '../../core/errors.ts';
import { toCsv } from '../../journal/csv.ts';
import { buildJournal, JOURNAL_FORMATS, type JournalFormat } from '../../journal/journal.ts';
import { issueDate } from '../../repo/issue-date.ts';
import { checkOutputPath } from '../../repo/outputs.ts';
import { commitWrites } from '../../repo/write.ts';
import { periodReport } from '../../report/period-report.ts';
import { type Io, money, plural, printJson } from '../output.ts';
import { checkDate, checkPeriod, fileOut, inRepository, type RootOptions, withRoot } from './common.ts';

export function registerJournal(program: Command, io: Io): void {
  withRoot(
    program
      .command('journal')
      .description('journal entries for accounting from the statements: detail, summary, or a balanced GL journal')
      .requiredOption('--period <YYYY-MM>', 'billing period')
      .option('--format <format>', `${JOURNAL_FORMATS.join(', ')}`, 'gl')
      .option('--out <file>', 'write the CSV to a file (default, or -: stdout)', fileOut)
      .option('--date <YYYY-MM-DD>', "for journal.date: build_date, the entries' date (default: the period's issue date)")
      .option('--json', 'print rows and totals as JSON'),
  )
    .addHelpText('after', '\nEvery format totals exactly what the statements bill. Configure the GL under `journal:` in config.yaml.')
    .action(async (opts: RootOptions & { period: string; format: string; out?: string; date?: string }) => {
      if (!(JOURNAL_FORMATS as readonly string[]).includes(opts.format))
        throw new UserError(`--format ${opts.format}: expected one of ${JOURNAL_FORMATS.join(', ')}`);
      const { journal, units } = await inRepository(opts, io, async ({ root, config, db }) => {
        const report = await periodReport(db, root, config, checkPeriod(opts.period, '--period'));
        const built = buildJournal(opts.format as JournalFormat, {
          period: opts.period,
          statements: report.statements,
          config,
          digitsOf: (c) => minorDigits(c, config.billing.minor_units),
          // The issue date only where the entries carry it (the GL format with journal.date: build_date):
          // it needs the repository's history.
          buildDate:
            opts.date !== undefined
              ? checkDate(opts.date)
              : opts.format === 'gl' && config.journal.date === 'build_date'
                ? await issueDate(root, opts.period)
                : '',
        });
        return { journal: built, units: config.billing.minor_units };
      });
      if (opts.json)
        return printJson(io, {
          format: journal.format,
          columns: journal.columns,
          headers: journal.headers ?? journal.columns,
          rows: journal.rows,
          totals: journal.totals,
        });
      const csv = toCsv(journal.columns, journal.rows, journal.numeric, journal.headers);
      // Shown as every CLI table shows money; the file and --json keep plain decimals.
      const shown = (amount: string, currency: string) => money(amount, currency, units);
      const summary = `${plural(journal.rows.length, 'row')}; ${journal.totals
        .map(
          (t) =>
            `${shown(t.amount, t.currency)} ${t.currency}${t.debit ? ` (debits ${shown(t.debit, t.currency)} = credits ${shown(t.credit ?? '0', t.currency)})` : ''}`,
        )
        .join('; ')}`;
      if (opts.out) {
        await commitWrites([{ target: await checkOutputPath(resolve(opts.root), resolve(opts.out), '--out', 'file'), content: csv }]);
        io.out(`Wrote ${opts.out}: ${summary}`);
      } else {
        io.out(csv.trimEnd());
        io.err(summary);
      }
    });
}
