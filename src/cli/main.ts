/** The `focus-billing` command line. */
import { Command, CommanderError } from 'commander';
import { ChecksFailed, UserError } from '../core/errors.ts';
import { registerBuild } from './commands/build.ts';
import { registerEmail } from './commands/email.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerIngest } from './commands/ingest.ts';
import { registerInit } from './commands/init.ts';
import { registerJournal } from './commands/journal.ts';
import { registerPeriods } from './commands/periods.ts';
import { registerPrSummary } from './commands/pr-summary.ts';
import { registerReview } from './commands/review.ts';
import { registerValidate } from './commands/validate.ts';
import { type Io, processIo } from './output.ts';

export function buildProgram(io: Io): Command {
  const program = new Command('focus-billing')
    .description('Turn FOCUS billing exports into exact per-PI statements. Git is the database.')
    .version('0.1.0')
    .option('--debug', 'show stack traces for unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();
  registerInit(program, io);
  registerIngest(program, io);
  registerPeriods(program, io);
  registerGenerate(program, io);
  registerBuild(program, io);
  registerReview(program, io);
  registerValidate(program, io);
  registerPrSummary(program, io);
  registerJournal(program, io);
  registerEmail(program, io);
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 checks failed, 2 bad input or usage, 70 internal error. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  const wantsJson = argv.includes('--json');
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    if (e instanceof ChecksFailed) return e.exitCode;
    if (e instanceof UserError) {
      if (wantsJson) io.out(JSON.stringify(e.toJSON(), null, 2));
      io.err(`error: ${e.format()}`);
      return e.exitCode;
    }
    const err = e as Error;
    io.err(`internal error: ${err.message}`);
    if (argv.includes('--debug')) io.err(err.stack ?? '');
    else io.err('  (run again with --debug for details, and please report it)');
    return 70;
  }
}
