/**
 * Writes that are all or nothing: each file goes to a temporary name beside its target and is
 * renamed into place only once every file of the change has been written.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type PlannedWrite = { target: string; content: string | Buffer } | { target: string; copyFrom: string };

export async function commitWrites(writes: PlannedWrite[]): Promise<void> {
  const staged: { tmp: string; target: string }[] = [];
  try {
    for (const w of writes) {
      await mkdir(dirname(w.target), { recursive: true });
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
