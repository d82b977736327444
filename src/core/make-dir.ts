/**
 * `mkdir -p` that always returns. Node's recursive mkdir (async and sync alike) spins at full
 * CPU forever when the kernel answers ENOENT for a child of a folder that exists, as procfs and
 * sysfs do (`init /proc/x` never returned). Here each missing folder is made on its own, from
 * the nearest one that exists, and an ENOENT once its parent exists is the answer.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/** Makes one folder: null once it is there (made by us or by a racing caller), else the ENOENT of a missing parent. */
async function makeOne(path: string): Promise<Error | null> {
  try {
    await mkdir(path);
    return null;
  } catch (e) {
    if (code(e) === 'ENOENT') return e as Error;
    if (code(e) === 'EEXIST' && (await stat(path).catch(() => null))?.isDirectory()) return null;
    throw e;
  }
}

/** Makes `path` and any missing parents; fine if it is already a folder. */
export async function makeDir(path: string): Promise<void> {
  if ((await makeOne(path)) === null) return;
  await makeDir(dirname(path));
  // The parent is there now, so a second ENOENT is the file system's answer.
  const missing = await makeOne(path);
  if (missing) throw missing;
}
