/**
 * The problems of a converter's records, kept while it reads on, so that one run names every
 * bad line rather than one a run: the first in full with its hint, then the next few, then how
 * many. What is not one record's problem (a file that cannot be read, a header that is not the
 * format's) still ends the conversion where it is found.
 */
import { UserError } from '../core/errors.ts';

/** Problems shown after the first. */
const SHOWN = 9;

/** Reading stops at this many problems (OCB_CONVERT_PROBLEM_LIMIT, for tests): a file this wrong is the wrong file, or needs its fix first. */
const limit = () => Number(process.env.OCB_CONVERT_PROBLEM_LIMIT ?? 1000);

export class RecordProblems {
  private readonly kept: UserError[] = [];
  private count = 0;

  /** Keeps a record's problem (a UserError) and returns; anything else, a bug, is thrown again. */
  keep(e: unknown): void {
    if (!(e instanceof UserError)) throw e;
    this.count++;
    this.kept.push(e); // at most the limit's worth: all of them are sorted, and the first shown
    if (this.count >= limit()) throw this.error(this.count);
  }

  /** Throws the problems kept, if any: the first, naming the others. */
  check(): void {
    if (this.count > 0) throw this.error();
  }

  /** The problems, by file (in the order first met) and line: a file is fixed top to bottom. */
  private error(stoppedAt?: number): UserError {
    const files = [...new Set(this.kept.map((e) => e.location?.file))];
    const place = (e: UserError) => [files.indexOf(e.location?.file), e.location?.line ?? Number.POSITIVE_INFINITY] as const;
    const sorted = [...this.kept].sort((a, b) => {
      const [fa, la] = place(a);
      const [fb, lb] = place(b);
      return fa - fb || la - lb;
    });
    const [first, ...rest] = sorted as [UserError, ...UserError[]];
    if (this.count === 1) return first;
    return first.withMore({ shown: rest.slice(0, SHOWN), count: this.count - 1, stoppedAt });
  }
}
