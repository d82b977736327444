/**
 * Who git commits as. `ingest --commit` and the web app commit for the user, and git refuses a
 * commit when it knows no name and email for its author (a fresh machine, a new account, a
 * container): checked before anything is written, so that the refusal says what to set and the
 * repository is left as it was, not on a new branch with files staged and nothing committed.
 */
import { simpleGit } from 'simple-git';
import { UserError } from '../core/errors.ts';

/** The reason git could not commit in `root` for want of an identity, or null when it can. */
export async function commitIdentityProblem(root: string): Promise<string | null> {
  const git = simpleGit(root);
  for (const v of ['GIT_AUTHOR_IDENT', 'GIT_COMMITTER_IDENT']) {
    const problem = await git.raw(['var', v]).then(
      () => null,
      (e: Error) => /^fatal: (.*)$/m.exec(e.message)?.[1] ?? 'no name and email address to commit with',
    );
    if (problem) return problem;
  }
  return null;
}

/** Refuses, before anything is written, a commit git would refuse for want of a name and email. */
export async function checkCommitIdentity(root: string): Promise<void> {
  const problem = await commitIdentityProblem(root);
  if (problem)
    throw new UserError(`git cannot commit here: it has no name and email address for the author (${problem}); nothing was written`, {
      hint: 'set them once: git config --global user.name "Your Name" && git config --global user.email you@example.edu',
    });
}
