/**
 * Writes that are all or nothing: each file goes to a temporary name beside its target and is
 * renamed into place only once every file of the change has been written.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type PlannedWrite =
  | { target: string; content: string | Buffer }
  | { target: string; copyFrom: string }
  | { target: string; staged: StagedCopy };

/**
 * A copy started early into a temporary file, so that a long copy overlaps other work (ingest
 * copies while DuckDB reads). It is renamed into place by `commitWrites`, or discarded.
 */
export interface StagedCopy {
  tmp: string;
  done: Promise<void>;
  discard: () => Promise<void>;
}

export async function stageCopy(source: string, dir: string): Promise<StagedCopy> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.staged.${randomBytes(6).toString('hex')}.tmp`);
  // A reflink where the file system offers one, else a plain copy.
  const done = copyFile(source, tmp, constants.COPYFILE_FICLONE);
  done.catch(() => {}); // observed by whoever awaits it; avoid an unhandled rejection meanwhile
  return {
    tmp,
    done,
    discard: async () => {
      await done.catch(() => {});
      await rm(tmp, { force: true });
    },
  };
}

export async function commitWrites(writes: PlannedWrite[]): Promise<void> {
  const staged: { tmp: string; target: string }[] = [];
  try {
    for (const w of writes) {
      await mkdir(dirname(w.target), { recursive: true });
      if ('staged' in w) {
        await w.staged.done;
        staged.push({ tmp: w.staged.tmp, target: w.target });
        continue;
      }
      const tmp = join(dirname(w.target), `.${basename(w.target)}.${randomBytes(6).toString('hex')}.tmp`);
      staged.push({ tmp, target: w.target });
      if ('copyFrom' in w) await copyFile(w.copyFrom, tmp);
      else await writeFile(tmp, w.content);
    }
    for (const s of staged) await rename(s.tmp, s.target);
  } catch (e) {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    throw e;
  }
}
