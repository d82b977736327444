/** The `focus-billing` command line. */
import { Command, CommanderError } from 'commander';
import { ChecksFailed, UserError } from '../core/errors.ts';
import { registerBuild } from './commands/build.ts';
import { registerConvert } from './commands/convert.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerEmail } from './commands/email.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerIngest } from './commands/ingest.ts';
import { registerInit } from './commands/init.ts';
import { registerJournal } from './commands/journal.ts';
import { registerPeriods } from './commands/periods.ts';
import { registerPrSummary } from './commands/pr-summary.ts';
import { registerPreview } from './commands/preview.ts';
import { registerRemove } from './commands/remove.ts';
import { registerReview } from './commands/review.ts';
import { registerValidate } from './commands/validate.ts';
import { type Io, processIo, shownIo } from './output.ts';

export function buildProgram(io: Io): Command {
  const program = new Command('focus-billing')
    .description('Turn FOCUS billing exports into exact per-PI statements. Git is the database.')
    .version('0.1.0')
    .option('--debug', 'show stack traces for unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();
  registerInit(program, io);
  registerConvert(program, io);
  registerIngest(program, io);
  registerRemove(program, io);
  registerPeriods(program, io);
  registerGenerate(program, io);
  registerBuild(program, io);
  registerReview(program, io);
  registerValidate(program, io);
  registerPrSummary(program, io);
  registerJournal(program, io);
  registerEmail(program, io);
  registerPreview(program, io);
  registerDoctor(program, io);
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 checks failed, 2 bad input or usage, 70 internal error. */
export async function main(argv: string[], given: Io = processIo): Promise<number> {
  const io = shownIo(given);
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
    const user = e instanceof UserError ? e : fileSystemError(e);
    if (user) {
      if (wantsJson) io.out(JSON.stringify(user.toJSON(), null, 2));
      io.err(`error: ${user.format()}`);
      if (argv.includes('--debug') && user.cause) io.err(`cause: ${(user.cause as Error).stack ?? String(user.cause)}`);
      return user.exitCode;
    }
    const err = e as Error;
    io.err(`internal error: ${err.message}`);
    if (argv.includes('--debug')) io.err(err.stack ?? '');
    else io.err('  (run again with --debug for details, and please report it)');
    return 70;
  }
}

/**
 * A file system error about a path the user named or owns (a folder where a file should be, no
 * permission, a full disk) is a problem to fix, not a bug: said as such, without a stack trace.
 */
function fileSystemError(e: unknown): UserError | null {
  const err = e as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or folder',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'a folder where a file was expected',
    ENOTDIR: 'a file where a folder was expected',
    EEXIST: 'something already exists there',
    ENOSPC: 'no space left on the device',
    EROFS: 'the file system is read-only',
    ENAMETOOLONG: 'the name is too long',
    ELOOP: 'too many symbolic links',
    EMFILE: 'too many open files',
  };
  const reason = err?.code ? reasons[err.code] : undefined;
  if (!reason || !err.path) return null;
  return new UserError(`cannot ${err.syscall ?? 'use'} ${err.path}: ${reason}`, {
    hint: 'check the path and its permissions',
    exitCode: 2,
    cause: e,
  });
}
