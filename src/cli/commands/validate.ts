/** `focus-billing validate`. */
import type { Command } from 'commander';
import { ChecksFailed } from '../../core/errors.ts';
import { compareText } from '../../domain/order.ts';
import { type Finding, validateRepository } from '../../validate/validate.ts';
import { type Io, plural, printJson } from '../output.ts';
import { inRepository, type RootOptions, withRoot } from './common.ts';

export function registerValidate(program: Command, io: Io): void {
  withRoot(
    program
      .command('validate')
      .description(
        'check the repository: data files parse, flags.yaml matches the data, closed periods are unchanged, config is valid, and no export or record is left unread',
      )
      .option(
        '--require-reviewed',
        'fail while any flag is pending, or approved with nothing to bill it to (the check to require before merging)',
      )
      .option('--json', 'print findings as JSON'),
  )
    .addHelpText('after', '\nExit codes: 0 valid (warnings allowed), 1 errors found, 2 the config itself is invalid.')
    .action(async (opts: RootOptions & { requireReviewed?: boolean }) => {
      const result = await inRepository(opts, io, ({ root, config, db }) =>
        validateRepository(db, root, config, { requireReviewed: opts.requireReviewed }),
      );
      if (opts.json) printJson(io, result);
      else {
        for (const f of result.findings) io.err(formatFinding(f));
        const errors = result.findings.filter((f) => f.level === 'error').length;
        const warnings = result.findings.length - errors;
        // Every period, in order: one whose statements could not be made is named, not left out of the count.
        const states: [string, string][] = [
          ...result.periods.map((p): [string, string] => [p.period, `${p.period} ${p.status}${p.pending ? `, ${p.pending} pending` : ''}`]),
          ...result.unread.map((p): [string, string] => [p, `${p} not read`]),
        ].sort(([a], [b]) => compareText(a, b));
        const count = result.periods.length + result.unread.length;
        io.out(
          `${result.ok ? 'Valid' : 'Invalid'}: ${plural(count, 'period')}, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}${
            states.length ? ` (${states.map(([, text]) => text).join('; ')})` : ''
          }`,
        );
      }
      if (!result.ok) throw new ChecksFailed();
    });
}

export function formatFinding(f: Finding): string {
  const where = f.file ? `${[f.file, f.line, f.column].filter((x) => x !== undefined).join(':')}: ` : '';
  return `${f.level}: ${where}${f.message}${f.hint ? `\n  hint: ${f.hint}` : ''}`;
}
