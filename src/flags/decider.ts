/** Who decides a flag, and when: shared by `review` and the web app. */
import { simpleGit } from 'simple-git';
import { UserError } from '../core/errors.ts';

/** The reviewer: --reviewer, else git user.email, else the login name. */
export async function reviewer(root: string, explicit?: string): Promise<string> {
  if (explicit) return explicit;
  const email = await simpleGit(root)
    .getConfig('user.email')
    .then((c) => c.value)
    .catch(() => null);
  return email || process.env.USER || 'unknown';
}

/** The decision time: OCB_NOW (for reproducible runs and tests), else the clock, in UTC. */
export function now(): string {
  const fixed = process.env.OCB_NOW;
  const date = fixed ? new Date(fixed) : new Date();
  if (Number.isNaN(date.getTime())) throw new UserError(`OCB_NOW ${JSON.stringify(fixed)} is not a date`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
