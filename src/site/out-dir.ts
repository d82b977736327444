/**
 * Where `build` may put a site. The site is built beside its output folder and swapped in, which
 * replaces that folder; so the folder must be one this tool built (it carries a marker file,
 * written into every build), or empty, or absent. The billing repository itself, any folder
 * holding it, and anything inside data/, periods/ or .git/ are refused before anything is written.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { checkOutputPath } from '../repo/outputs.ts';

/** Written into every site this tool builds: what marks a folder as one `build` may replace. */
export const SITE_MARKER = '.openchargeback-site';

/** Refuses (exit 2, nothing written) an output folder that `build` must not replace. */
export async function checkOutDir(root: string, out: string, option = '--out'): Promise<void> {
  const target = await checkOutputPath(root, out, option);
  const refuse = (why: string, hint = `choose a folder of its own, such as ${join(root, 'dist')}`) =>
    new UserError(`${option} ${out}: ${why}; nothing was written`, { hint });
  const s = await stat(target).catch(() => null);
  if (s === null) return;
  if (!s.isDirectory()) throw refuse('is a file, not a folder', `choose a folder of its own, such as ${join(root, 'dist')}`);
  const entries = await readdir(target);
  if (entries.length === 0 || entries.includes(SITE_MARKER)) return;
  throw refuse(
    'is a folder this tool did not build (it has no .openchargeback-site marker), and it is not empty',
    `choose another folder, or move this one aside yourself if it is an old build (\`build\` replaces only the sites it built)`,
  );
}

/** Replaces `out` with the built site in `staging` (two renames; the old site is removed only after). */
export async function swapInto(root: string, staging: string, out: string, marker: Record<string, string>): Promise<void> {
  await writeFile(join(staging, SITE_MARKER), `${JSON.stringify({ generator: 'openchargeback', ...marker })}\n`);
  await checkOutDir(root, out); // again, right before replacing it: it may have changed during the build
  const old = `${out}.old-${process.pid}`;
  const hadOld = existsSync(out);
  if (hadOld) await rename(out, old);
  await mkdir(dirname(out), { recursive: true });
  await rename(staging, out);
  if (hadOld) await rm(old, { recursive: true, force: true });
}
