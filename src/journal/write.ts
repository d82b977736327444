/** Journals per period as CSV files, for finance (the staff site links them). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { minorDigits } from '../core/currency.ts';
import { UserError } from '../core/errors.ts';
import { makeDir } from '../core/make-dir.ts';
import type { StatementSet } from '../statements/build.ts';
import { toCsv } from './csv.ts';
import { buildJournal, JOURNAL_FORMATS } from './journal.ts';

/** Writes journal-<format>.csv for each period into `dir/periods/<period>/`; a journal that cannot be made (a GL that cannot balance) is skipped and said. */
export async function writeJournals(dir: string, sets: StatementSet[], config: Config, dates: Map<string, string>): Promise<string[]> {
  const warnings: string[] = [];
  for (const set of sets) {
    const out = join(dir, 'periods', set.period);
    await makeDir(out);
    for (const format of JOURNAL_FORMATS) {
      try {
        const journal = buildJournal(format, {
          period: set.period,
          statements: set.statements,
          config,
          digitsOf: (c) => minorDigits(c, config.billing.minor_units),
          buildDate: dates.get(set.period) as string,
        });
        await writeFile(join(out, `journal-${format}.csv`), toCsv(journal.columns, journal.rows, journal.numeric, journal.headers));
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        warnings.push(`${set.period}: no ${format} journal: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      }
    }
  }
  return warnings;
}
