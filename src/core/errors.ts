/**
 * Errors meant for people. A `UserError` is a mistake in input or usage: the CLI prints its
 * message and hint without a stack trace and exits with its code. Anything else is a bug.
 */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  /** A data row (1 = the first), for files without lines such as Parquet. */
  row?: number;
}

/** Problems found beside an error's own, so that one run names them all (a converter's bad lines). */
export interface MoreProblems {
  /** The first few of them, by file and line. */
  shown: UserError[];
  /** How many there are, shown or not. */
  count: number;
  /** Reading stopped at this many problems, with more input left unread. */
  stoppedAt?: number;
}

export class UserError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  readonly location?: ErrorLocation;
  readonly more?: MoreProblems;

  constructor(
    message: string,
    options: { hint?: string; exitCode?: number; location?: ErrorLocation; cause?: unknown; more?: MoreProblems } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? 2;
    this.hint = options.hint;
    this.location = options.location;
    this.more = options.more;
  }

  /** This error with the problems found beside it. */
  withMore(more: MoreProblems): UserError {
    return new UserError(this.message, { hint: this.hint, exitCode: this.exitCode, location: this.location, cause: this.cause, more });
  }

  /** `file:line:column (row N): `, or nothing when the error has no file. */
  where(): string {
    const { file, line, column, row } = this.location ?? {};
    if (!file) return '';
    return `${[file, line, column].filter((p) => p !== undefined).join(':')}${row !== undefined ? ` (row ${row})` : ''}: `;
  }

  /** `file:line:column: message` followed by the hint, as printed by the CLI. */
  format(): string {
    return `${this.where()}${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}${this.moreText()}`;
  }

  /** The problems found beside this one, a line each after a count (their hints in --json only). */
  private moreText(): string {
    const more = this.more;
    if (!more || more.count === 0) return '';
    const count = more.count.toLocaleString('en-US');
    const stopped = more.stoppedAt ? `, then reading stopped at ${more.stoppedAt.toLocaleString('en-US')} problems` : '';
    const head = `and ${count} more problem${more.count === 1 ? '' : 's'}${stopped}:`;
    const unshown = more.count - more.shown.length;
    return [
      `\n  ${head}`,
      ...more.shown.map((e) => `\n    ${e.where()}${e.message}`),
      unshown > 0 ? `\n    … ${unshown.toLocaleString('en-US')} more not shown` : '',
    ].join('');
  }

  toJSON(): Record<string, unknown> {
    const more = this.more;
    return {
      error: this.message,
      hint: this.hint,
      ...this.location,
      exit_code: this.exitCode,
      ...(more
        ? {
            more: more.shown.map((e) => ({ error: e.message, hint: e.hint, ...e.location })),
            more_count: more.count,
            ...(more.stoppedAt ? { stopped_at: more.stoppedAt } : {}),
          }
        : {}),
    };
  }
}

/** Input that does not match what was expected: exit 2 with location, expectation and finding. */
export function invalidInput(location: ErrorLocation, what: string, expected: string, found: string, hint?: string): UserError {
  return new UserError(`${what}: expected ${expected}, found ${found}`, { location, hint, exitCode: 2 });
}

/** The first line of a conflict git left in a text file: `<<<<<<< HEAD` at the start of a line. */
export const CONFLICT_MARKER = /^<{7}(?: .*)?$/m;

/** A file git left a merge conflict in, named at its `<<<<<<<` line (`marker`), with how to resolve it. */
export function mergeConflict(location: ErrorLocation, marker: string, hint: string): UserError {
  return new UserError(`an unresolved merge conflict (${marker.trimEnd()})`, { location, hint, exitCode: 2 });
}

/** Shows a user-supplied value in a message: quoted, control characters escaped, long values cut. */
export function showValue(value: string | null | undefined, max = 60): string {
  if (value === null || value === undefined) return 'an empty value';
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}

/** A check that failed after the command already said why (validate, a gate): exit 1, nothing more printed. */
export class ChecksFailed extends Error {
  readonly exitCode = 1;
  constructor(message = 'checks failed') {
    super(message);
    this.name = 'ChecksFailed';
  }
}
