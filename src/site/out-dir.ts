/**
 * Where `build` may put a site. The site is built beside its output folder and swapped in, which
 * replaces that folder; so the folder must be one this tool built (it carries a marker file,
 * written into every build), or empty, or absent. The billing repository itself, any folder
 * holding it, and anything inside data/, periods/ or .git/ are refused before anything is written.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { makeDir } from '../core/make-dir.ts';
import { forEachLimit } from '../core/parallel.ts';
import { layout } from '../repo/layout.ts';
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

/** What a built site's marker says of it. */
export interface SiteMarker {
  audience: string;
  pages: string;
  /** Whether its statements' PDFs were printed into it. */
  pdf: boolean;
  /** Each period's key (page-cache.ts): the period's folders hold what that key built. */
  periods: Record<string, string>;
}

/** The marker of the site in `out`, or null (none there, or unreadable). */
export async function readSiteMarker(out: string): Promise<Partial<SiteMarker> | null> {
  try {
    const marker = JSON.parse(await readFile(join(out, SITE_MARKER), 'utf8')) as unknown;
    return marker !== null && typeof marker === 'object' ? (marker as Partial<SiteMarker>) : null;
  } catch {
    return null;
  }
}

/**
 * Replaces `out` with the built site in `staging` (two renames; the old site is removed only
 * after). The folders named in `carry` (of periods unchanged since the site in `out` was built)
 * are first moved from the old site into the new one: renaming a period's folder costs what
 * linking its thousands of files again would not. Should a move fail, those moved go back.
 */
export async function swapInto(root: string, staging: string, out: string, marker: SiteMarker, carry: string[] = []): Promise<void> {
  await writeFile(join(staging, SITE_MARKER), `${JSON.stringify({ generator: 'openchargeback', ...marker })}\n`);
  await checkOutDir(root, out); // again, right before replacing it: it may have changed during the build
  const moved: string[] = [];
  try {
    for (const folder of carry) {
      await makeDir(dirname(join(staging, folder)));
      await rename(join(out, folder), join(staging, folder));
      moved.push(folder);
    }
  } catch (e) {
    for (const folder of moved.reverse()) await rename(join(staging, folder), join(out, folder)).catch(() => {});
    throw e;
  }
  let old = `${out}.old-${process.pid}`;
  const hadOld = existsSync(out);
  if (hadOld) {
    // Into .cache/ (which git ignores) when it is on the same file system, so that the old site
    // is never seen by `git add -A` while it is being removed; else beside the output.
    const trash = join(layout.cacheDir(root, 'trash'), `${basename(out)}-${process.pid}-${Date.now()}`);
    await makeDir(dirname(trash)).catch(() => {});
    old = await rename(out, trash)
      .then(() => trash)
      .catch(async () => {
        await rename(out, old);
        return old;
      });
  }
  await makeDir(dirname(out));
  await rename(staging, out);
  if (hadOld) await removeSite(old);
}

/**
 * Above this many files the old site is removed by a process of its own after the build returns:
 * unlinking the 55,000 files of three years' site takes 15 s on a VM disk, and the new site is
 * already in place. (It waits in `.cache/trash/`, which git ignores, and says what it is there if that
process is killed.)
 */
const BACKGROUND_REMOVAL_FILES = 10_000;

/** Removes an old site: its files in parallel, then its folders; a very large one (says its marker) in the background. */
async function removeSite(path: string): Promise<void> {
  const marker = await readFile(join(path, SITE_MARKER), 'utf8')
    .then((t) => JSON.parse(t) as { pages?: string })
    .catch(() => ({ pages: undefined }));
  if (Number(marker.pages) > BACKGROUND_REMOVAL_FILES) {
    const script = "require('node:fs').rmSync(process.argv[1], { recursive: true, force: true })";
    spawn(process.execPath, ['-e', script, path], { detached: true, stdio: 'ignore' }).unref();
    return;
  }
  const entries = await readdir(path, { withFileTypes: true, recursive: true }).catch(() => []);
  const files = entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));
  await forEachLimit(files, 32, (f) => unlink(f).catch(() => {}));
  await rm(path, { recursive: true, force: true });
}
