/**
 * Who git commits as. `ingest --commit` and the web app commit for the user, and git refuses a
 * commit when it knows no name and email for its author (a fresh machine, a new account, a
 * container): checked before anything is written, so that the refusal says what to set and the
 * repository is left as it was, not on a new branch with files staged and nothing committed.
 * The same check (checkCanCommit) refuses a repository with no commit yet.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { UserError } from '../core/errors.ts';

const run = promisify(execFile);

/**
 * Whom git commits as in `root` (`Name <email>`, by git's own rules: set, or found), or why it
 * cannot: the author and the committer both need a name and an email address.
 */
export async function commitIdentity(root: string): Promise<{ ident: string } | { problem: string }> {
  const cwd = existsSync(root) ? root : undefined;
  let ident = '';
  for (const v of ['GIT_AUTHOR_IDENT', 'GIT_COMMITTER_IDENT']) {
    try {
      const { stdout } = await run('git', ['var', v], { cwd });
      ident ||= stdout.trim().replace(/ \d+ [+-]\d{4}$/, ''); // without the timestamp
    } catch (e) {
      return {
        problem: /^fatal: (.*)$/m.exec(String((e as { stderr?: string }).stderr ?? e))?.[1] ?? 'no name and email address to commit with',
      };
    }
  }
  return { ident };
}

/** The reason git could not commit in `root` for want of an identity, or null when it can. */
export async function commitIdentityProblem(root: string): Promise<string | null> {
  const who = await commitIdentity(root);
  return 'problem' in who ? who.problem : null;
}

/**
 * Refuses, before anything is written, a commit git would refuse for want of a name and email,
 * and one in a repository with no commit yet: the branch it made would hold that change alone,
 * with no default branch to open a pull request against (and config.yaml left out of it).
 */
export async function checkCanCommit(root: string): Promise<void> {
  const problem = await commitIdentityProblem(root);
  if (problem)
    throw new UserError(`git cannot commit here: it has no name and email address for the author (${problem}); nothing was written`, {
      hint: 'set them once: git config --global user.name "Your Name" && git config --global user.email you@example.edu',
    });
  const head = await run('git', ['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: root }).then(
    () => true,
    () => false,
  );
  if (!head)
    throw new UserError(
      'this repository has no commit yet: a branch made now would hold this change alone, with nothing to open a pull request against; nothing was written',
      { hint: 'commit the repository as it is first (git add -A && git commit -m "Billing repository"), then try again' },
    );
}
