/** One timed run of the CLI (or another Node script) in a child process, as every bench takes it. */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

export interface Timed {
  /** Wall seconds. */
  seconds: number;
  /** Peak RSS in MB, as the process reports it to `rssFile` (OCB_REPORT_MAXRSS). */
  rssMb: number;
  stdout: string;
}

/** Runs `node …args` once, with OCB_REPORT_MAXRSS set to `rssFile`; throws with its stderr when it fails. */
export function timedNode(label: string, args: string[], rssFile: string, env: Record<string, string> = {}): Timed {
  rmSync(rssFile, { force: true });
  const t = performance.now();
  const p = spawnSync(process.execPath, args, {
    env: { ...process.env, ...env, OCB_REPORT_MAXRSS: rssFile },
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const seconds = (performance.now() - t) / 1000;
  if (p.status !== 0) throw new Error(`${label} failed (${p.status}): ${p.stderr}`);
  return { seconds, rssMb: Number(readFileSync(rssFile, 'utf8')) / 1024, stdout: p.stdout };
}
