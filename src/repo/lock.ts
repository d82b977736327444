/**
 * One writer at a time. Every command that writes the billing repository's records (ingest,
 * review, periods close|reopen, email --send's log, the web app) holds this lock while it reads
 * what it will change and writes it back, so two writers never lose each other's work.
 *
 * The lock is a file, `.cache/write.lock`, created exclusively (O_EXCL) and holding the holder's
 * PID, host, start time and command. A second writer waits briefly, then gives up naming the
 * holder. A lock left by a process that no longer runs on this host (killed, or a PID since
 * reused by another program) is taken over, with a message saying so.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { link, open, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { makeDir } from '../core/make-dir.ts';
import { onInterrupt } from './cleanup.ts';

export interface LockHolder {
  pid: number;
  host: string;
  /** When the holder took the lock (ISO 8601). */
  started: string;
  /** When the holding process itself started (ms since the epoch), to tell a reused PID apart. */
  process_started: number;
  command: string;
  token: string;
}

export interface LockOptions {
  /** How long to wait for a busy lock (default: OCB_LOCK_WAIT_MS, else 10 s). */
  waitMs?: number;
  /** Told once when waiting starts, and when a stale lock is taken over. */
  say?: (text: string) => void;
}

export const lockPath = (root: string) => join(root, '.cache', 'write.lock');

const POLL_MS = 100;

function defaultWait(): number {
  const env = Number(process.env.OCB_LOCK_WAIT_MS);
  return Number.isFinite(env) && env >= 0 ? env : 10_000;
}

/** Runs `fn` holding the repository's lock. */
export async function withRepositoryLock<T>(root: string, command: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const release = await acquire(root, command, options);
  try {
    return await fn();
  } finally {
    release();
  }
}

async function acquire(root: string, command: string, options: LockOptions): Promise<() => void> {
  const path = lockPath(root);
  await makeDir(join(root, '.cache'));
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    process_started: Math.round(Date.now() - process.uptime() * 1000),
    command,
    token: randomBytes(8).toString('hex'),
  };
  const deadline = Date.now() + (options.waitMs ?? defaultWait());
  let told = false;
  for (;;) {
    if (await tryCreate(path, me)) break;
    const holder = await readHolder(path);
    if (holder === undefined) continue; // released between our attempt and the read: try again
    if (holder === null || isStale(holder)) {
      if (await takeOver(path, holder)) {
        options.say?.(
          holder
            ? `Took over the repository lock left by ${describe(holder)}, which is no longer running.`
            : 'Took over an unreadable repository lock.',
        );
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new UserError(`the billing repository is busy: ${describe(holder)} is writing to it`, {
        hint: `wait for it to finish and run this again${holder.host === me.host ? '' : `; if that process no longer runs on ${holder.host}, delete ${path}`}`,
      });
    }
    if (!told) {
      options.say?.(`Waiting for ${describe(holder)} to finish writing the billing repository…`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const unregister = onInterrupt(() => releaseSync(path, me.token));
  return () => {
    unregister();
    releaseSync(path, me.token);
  };
}

async function tryCreate(path: string, me: LockHolder): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    await handle.writeFile(`${JSON.stringify(me)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/** The holder, null for a lock file that is not ours to read (empty, damaged), undefined for none. */
async function readHolder(path: string): Promise<LockHolder | null | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === 'number' && typeof h.token === 'string' ? h : null;
  } catch {
    // A holder writes its lock right after creating it: give an empty file a moment.
    await new Promise((r) => setTimeout(r, POLL_MS));
    try {
      return JSON.parse(await readFile(path, 'utf8')) as LockHolder;
    } catch {
      return null;
    }
  }
}

/** The holder ran on this host and that process is gone (or its PID now belongs to a later process). */
function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const started = processStart(holder.pid);
  // A process that started after the lock was taken cannot be its holder: the PID was reused.
  return started !== null && started > Date.parse(holder.started) + 1000;
}

/** When a process started (ms since the epoch), on Linux; null where /proc cannot tell. */
function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 of the whole line: start time, clock ticks after boot
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(boot)) return null;
    return boot * 1000 + (ticks / 100) * 1000;
  } catch {
    return null;
  }
}

/**
 * Moves a stale lock aside and removes it, if it is still the one judged stale: two newcomers
 * judging the same lock both try, and only the one whose rename finds that lock goes on.
 */
async function takeOver(path: string, stale: LockHolder | null): Promise<boolean> {
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  const moved = await readHolder(aside);
  if (stale && moved && moved.token !== stale.token) {
    // A live holder's fresh lock was moved: put it back, unless yet another writer got in
    // meanwhile (link, unlike rename, never replaces an existing file).
    await link(aside, path).catch(() => {});
    await rm(aside, { force: true });
    return false;
  }
  await rm(aside, { force: true });
  return true;
}

function releaseSync(path: string, token: string): void {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    if (holder.token === token) rmSync(path, { force: true });
  } catch {
    // already gone, or no longer ours
  }
}

function describe(h: LockHolder): string {
  return `\`${h.command}\` (pid ${h.pid}${h.host === hostname() ? '' : ` on ${h.host}`}, since ${h.started})`;
}
