/**
 * Writes into the repository: each file goes to a temporary name beside its target and is
 * renamed into place only once every file of the change has been written, so a refused or
 * failed command leaves every target as it was. Each rename is atomic; a crash between the
 * renames of one change (data file, then flags.yaml) can leave the first renamed, which
 * `validate` reports (the flags no longer match the data) with the command that repairs it.
 *
 * A write may carry what it expects the target to hold (a read-modify-write of flags.yaml):
 * the target is checked again just before the renames, and if it changed meanwhile nothing is
 * written. With the repository lock held this never fires; it catches a hand edit or a tool
 * that does not take the lock.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, createWriteStream, rmSync } from 'node:fs';
import { copyFile, link, lstat, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { UserError } from '../core/errors.ts';
import { writeChunk } from '../core/file-chunks.ts';
import { makeDir } from '../core/make-dir.ts';
import { gzipStream, STORED_LEVEL } from '../core/zlib.ts';
import { onInterrupt } from './cleanup.ts';
import { sha256Text } from './hash.ts';
import { copyStamp, type MadeCopy } from './plain-copy.ts';

/** What a target must hold when the change is applied: the sha256 of its bytes, or null for none. */
export interface Expectation {
  sha256: string | null;
  /** How to show the target in a message. */
  display: string;
}

export type PlannedWrite = ({ target: string; content: string | Buffer } | { target: string; staged: StagedCopy }) & {
  expect?: Expectation;
};

/**
 * A copy started early into a temporary file, so that a long copy overlaps other work (ingest
 * copies while DuckDB reads). It is renamed into place by `commitWrites`, or discarded.
 */
export interface StagedCopy {
  tmp: string;
  done: Promise<void>;
  discard: () => Promise<void>;
}

/** A temporary file that is removed if the process is interrupted before it is renamed or discarded. */
function temporary(path: string): { path: string; release: () => void } {
  const release = onInterrupt(() => rmSync(path, { force: true }));
  return { path, release };
}

/** A new temporary file's name in `dir` (see temporary). */
function staging(dir: string): { path: string; release: () => void } {
  return temporary(join(dir, `.staged.${randomBytes(6).toString('hex')}.tmp`));
}

export async function stageCopy(source: string, dir: string, options: { link?: boolean } = {}): Promise<StagedCopy> {
  await makeDir(dir);
  const tmp = staging(dir);
  // A file the caller hands over (an upload nobody else has) is linked, not copied, where the
  // file system allows; else a reflink where it offers one, else a plain copy.
  const copy = () => copyFile(source, tmp.path, constants.COPYFILE_FICLONE);
  const done = options.link ? link(source, tmp.path).catch(copy) : copy();
  done.catch(() => {}); // observed by whoever awaits it; avoid an unhandled rejection meanwhile
  return {
    tmp: tmp.path,
    done,
    discard: async () => {
      await done.catch(() => {});
      await rm(tmp.path, { force: true });
      tmp.release();
    },
  };
}

/**
 * A temporary name in `dir` for a file that other code writes (the plain copy ingest's byte scan
 * inflates from a .csv.gz): removed when discarded, or if the process is interrupted first.
 */
export async function stageTarget(dir: string): Promise<{ path: string; discard: () => Promise<void> }> {
  await makeDir(dir);
  const tmp = staging(dir);
  return {
    path: tmp.path,
    discard: async () => {
      await rm(tmp.path, { force: true });
      tmp.release();
    },
  };
}

/** What a compressed copy was made from: the export as delivered. */
export interface OriginalFile {
  bytes: number;
  sha256: string;
}

/** A staged copy compressed on the way (see stageCompressed): what it was made from, once done. */
export interface StagedCompressed extends StagedCopy {
  original: Promise<OriginalFile>;
  /** The sha256 of the compressed bytes, once done. */
  stored: Promise<string>;
  /** The export's bytes as read, uncompressed, in a temporary file or link (when asked for), or null if none could be made. */
  plain: Promise<MadeCopy | null>;
}

/**
 * A gzip-compressed copy of a file, made while other work runs, deterministically: no file name
 * or time in the header and the OS byte fixed, so the same export gives the same bytes (with the
 * same zlib); the original's size and sha256, and the compressed bytes' sha256, are measured on
 * the way. With `plain`, a second temporary name beside it holds the bytes compressed (see
 * repo/plain-copy.ts): a hard link to the export where the file system allows, read through that
 * link (so the linked file is the one compressed) and checked unchanged after the read; else a
 * copy written from the same read.
 */
export async function stageCompressed(source: string, dir: string, options: { plain?: boolean } = {}): Promise<StagedCompressed> {
  await makeDir(dir);
  const tmp = staging(dir);
  const hash = createHash('sha256');
  const storedHash = createHash('sha256');
  let bytes = 0;
  let first = true;
  const plainTmp = options.plain ? staging(dir) : null;
  const linked = plainTmp ? await linkRegularFile(source, plainTmp.path) : null;
  const plainOut = plainTmp && !linked ? createWriteStream(plainTmp.path) : null;
  // A write that fails (a full disk) only leaves the copy out: the compressed file goes on.
  let plainFailed = false;
  plainOut?.on('error', () => {
    plainFailed = true;
  });
  const gzip = gzipStream(STORED_LEVEL);
  const written = pipeline(
    gzip,
    new Transform({
      transform(chunk: Buffer, _enc, next) {
        // The header's OS byte (RFC 1952, offset 9) is the build's; 3 (Unix) on every system.
        if (first && chunk.length > 9) chunk[9] = 3;
        first = false;
        storedHash.update(chunk);
        next(null, chunk);
      },
    }),
    createWriteStream(tmp.path),
  );
  written.catch(() => {}); // awaited by done
  const done = (async () => {
    // Read into a few buffers used again and again, each once zlib (and the plain copy) are done
    // with it: a stream's fresh chunk for every read faulted in new memory, 0.2-0.5 s more CPU
    // for the 349 MB export. The bytes read are hashed, compressed and, for a plain copy of its
    // own, written as they are.
    const handle = await open(linked ? (plainTmp?.path as string) : source, 'r');
    try {
      const slots = Array.from({ length: 4 }, () => ({ buffer: Buffer.allocUnsafe(1 << 20), busy: Promise.resolve() }));
      for (let k = 0; ; k = (k + 1) % slots.length) {
        const slot = slots[k] as (typeof slots)[number];
        await slot.busy;
        const { bytesRead } = await handle.read(slot.buffer, 0, slot.buffer.length, null);
        if (bytesRead === 0) break;
        const chunk = slot.buffer.subarray(0, bytesRead);
        hash.update(chunk);
        bytes += bytesRead;
        const copied = plainOut && !plainFailed ? writeChunk(plainOut, chunk).catch(() => {}) : undefined;
        slot.busy = Promise.all([writeChunk(gzip, chunk), copied]).then(() => {});
        slot.busy.catch(() => {}); // a failure is thrown where the slot is awaited, not reported unhandled before
      }
      gzip.end();
      plainOut?.end();
      await written;
    } catch (e) {
      gzip.destroy();
      plainOut?.destroy();
      throw e;
    } finally {
      await handle.close();
    }
  })();
  let plain: Promise<MadeCopy | null> = Promise.resolve(null);
  if (plainTmp && plainOut) {
    plain = finished(plainOut).then(
      async () => (plainFailed ? null : { path: plainTmp.path, stamp: copyStamp(await stat(plainTmp.path, { bigint: true })) }),
      () => null,
    );
  }
  done.catch(() => {});
  const original = done.then(() => ({ bytes, sha256: hash.digest('hex') }));
  original.catch(() => {});
  const stored = done.then(() => storedHash.digest('hex'));
  stored.catch(() => {});
  return {
    tmp: tmp.path,
    done,
    original,
    stored,
    // The plain copy counts only if the compressed one was made from the whole read; a link, only
    // if the file was not written meanwhile and holds just what was read.
    plain: Promise.all([plain, done]).then(
      async ([made]) => {
        if (!linked || !plainTmp) return made;
        const after = await stat(plainTmp.path, { bigint: true });
        const stamp = copyStamp(after);
        return stamp === linked && after.size === BigInt(bytes) ? { path: plainTmp.path, stamp } : null;
      },
      () => null,
    ),
    discard: async () => {
      await done.catch(() => {});
      plainOut?.destroy();
      for (const t of plainTmp ? [tmp, plainTmp] : [tmp]) {
        await rm(t.path, { force: true });
        t.release();
      }
    },
  };
}

/**
 * Links a regular file (never a symbolic link: a link to that would resolve elsewhere) to a new
 * name: its stamp then (see copyStamp), or null where the file system or its settings refuse.
 */
async function linkRegularFile(source: string, to: string): Promise<string | null> {
  try {
    if (!(await lstat(source)).isFile()) return null;
    await link(source, to);
    return copyStamp(await stat(to, { bigint: true }));
  } catch {
    await rm(to, { force: true });
    return null;
  }
}

/** The sha256 of a file's bytes, or null when there is none. */
export async function currentHash(path: string): Promise<string | null> {
  try {
    return sha256Text(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export async function commitWrites(writes: PlannedWrite[]): Promise<void> {
  const staged: { tmp: string; target: string; release: () => void }[] = [];
  try {
    for (const w of writes) {
      await makeDir(dirname(w.target));
      if ('staged' in w) {
        await w.staged.done;
        staged.push({ tmp: w.staged.tmp, target: w.target, release: () => {} });
        continue;
      }
      const tmp = temporary(join(dirname(w.target), `.${basename(w.target)}.${randomBytes(6).toString('hex')}.tmp`));
      staged.push({ tmp: tmp.path, target: w.target, release: tmp.release });
      await writeFile(tmp.path, w.content);
    }
    for (const w of writes) {
      if (!w.expect) continue;
      if ((await currentHash(w.target)) !== w.expect.sha256)
        throw new UserError(`${w.expect.display} changed while this command ran: nothing was written`, {
          hint: 'another command or an editor changed it; run the command again',
          exitCode: 1,
        });
    }
    for (const s of staged) await rename(s.tmp, s.target);
  } catch (e) {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    throw e;
  } finally {
    for (const s of staged) s.release();
  }
}
