/**
 * Where a command may write what it produces (a site, a journal, statements JSON, .eml files):
 * never the repository itself or a folder holding it, nothing inside data/, periods/ or .git/,
 * and never one of the repository's own files. Checked before anything is written.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { UserError } from '../core/errors.ts';
import { RECORD_DIRS, REPOSITORY_FILES } from './layout.ts';

/** The real path of `path`, resolving symbolic links in the part of it that exists. */
export async function realish(path: string): Promise<string> {
  const rest: string[] = [];
  let at = resolve(path);
  for (;;) {
    try {
      return join(await realpath(at), ...rest.reverse());
    } catch {
      if (dirname(at) === at) return resolve(path);
      rest.push(basename(at));
      at = dirname(at);
    }
  }
}

export const inside = (path: string, folder: string) =>
  path === folder || path.startsWith(folder.endsWith(sep) ? folder : `${folder}${sep}`);

/**
 * Refuses (exit 2, nothing written) an output path that would overwrite or hold the repository's
 * records, or, for a file (`kind: 'file'`), a folder that is there already.
 */
export async function checkOutputPath(root: string, output: string, option: string, kind: 'file' | 'folder' = 'folder'): Promise<string> {
  const [repo, target] = await Promise.all([realish(root), realish(output)]);
  const refuse = (why: string) =>
    new UserError(`${option} ${output}: ${why}; nothing was written`, {
      hint: 'write it outside data/, periods/ and .git/, e.g. under out/',
    });
  if (inside(repo, target)) throw refuse(target === repo ? 'is the billing repository itself' : 'holds the billing repository');
  for (const dir of RECORD_DIRS)
    if (inside(target, join(repo, dir))) throw refuse(`lies inside ${dir}/, which holds the repository's records`);
  for (const file of REPOSITORY_FILES) if (inside(target, join(repo, file))) throw refuse(`is the repository's ${file}`);
  if (kind === 'file' && (await stat(target).catch(() => null))?.isDirectory())
    throw new UserError(`${option} ${output}: is a folder, where a file is written; nothing was written`, {
      hint: 'name the file to write, inside that folder if you like',
    });
  return target;
}
