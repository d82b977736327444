/**
 * A billing repository holds files, not links. Git stores a symbolic link as readily as a file,
 * and a pull request can add one that points anywhere on the machine CI runs on: a `notes.mdx`
 * linked to `.git/config` published the checkout's credentials on every PI's page, and a data
 * file linked to another month's billed that month again. So the folders the tool reads
 * (`data/`, `periods/`) and the files it reads at the top are looked at before a command reads
 * anything, and a link, or anything else that is not a file or a folder (a named pipe would make
 * every reader wait for ever), is refused by its path, never followed.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';

/** The files at the top of a repository that commands read. */
const TOP_FILES = ['config.yaml', 'pis.yaml', 'credits.yaml', 'rates.yaml', 'accounts.yaml', '.gitattributes'];
/** The folders whose whole tree commands read. */
const TREES = ['data', 'periods'];

/** The refusal of `rel` (a path in the repository, with `/`), which is a link or not a file. */
export function notAFile(rel: string, isLink: boolean): UserError {
  return new UserError(
    isLink
      ? `${rel} is a link: a billing repository holds files, not links (one could bill or publish any file of the machine)`
      : `${rel} is not a file or a folder`,
    { hint: 'remove it with git rm, and put the file itself there (for an export, ingest it)', exitCode: 1 },
  );
}

/** Refuses the first link or special file among the top files, `data/` and `periods/`. */
export async function refuseLinks(root: string): Promise<void> {
  for (const rel of TOP_FILES) await refuseLinkAt(root, rel);
  for (const tree of TREES) {
    const info = await lstat(join(root, tree)).catch(() => null);
    if (!info) continue;
    if (!info.isDirectory()) throw notAFile(tree, info.isSymbolicLink());
    await walk(root, tree);
  }
}

/** Refuses `rel` if it is there as a link or a special file (another file the repository names, such as the logo). */
export async function refuseLinkAt(root: string, rel: string): Promise<void> {
  const info = await lstat(join(root, rel)).catch(() => null);
  if (info && !info.isFile() && !info.isDirectory()) throw notAFile(rel, info.isSymbolicLink());
}

async function walk(root: string, rel: string): Promise<void> {
  const entries: Dirent[] = await readdir(join(root, rel), { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const path = `${rel}/${e.name}`;
    if (e.isDirectory()) await walk(root, path);
    else if (!e.isFile()) throw notAFile(path, e.isSymbolicLink());
  }
}
