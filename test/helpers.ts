/** Test helpers: real temporary billing repositories, the CLI run in-process, tree snapshots. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { simpleGit } from 'simple-git';
import { main } from '../src/cli/main.ts';
import type { Io } from '../src/cli/output.ts';

export const PROJECT = resolve(import.meta.dirname, '..');
export const SAMPLE = join(PROJECT, 'sample_data');
/**
 * The shared FOCUS samples (CC-BY-4.0, never copied into the repository): `$FOCUS_SAMPLES_DIR`,
 * else `../shared/focus-samples` beside the project, else beside the repository this one was
 * cloned from (a scratch clone in /tmp). Found when a test asks, so that a checkout without them
 * skips only the tests that read them, saying why.
 */
export function sharedSamples(): { dir: string } | { missing: string } {
  const candidates = process.env.FOCUS_SAMPLES_DIR ? [process.env.FOCUS_SAMPLES_DIR] : defaultSampleDirs();
  const found = candidates.find((c) => existsSync(c));
  if (found) return { dir: found };
  return {
    missing: `the shared FOCUS samples are not here (looked in ${candidates.join(', ')}); set FOCUS_SAMPLES_DIR to run these tests`,
  };
}

/** The public FOCUS samples in the shared folder (see SOURCES.md there): the CSVs tests read. */
export const SAMPLE_CSVS = [
  'finops-sample-data_FOCUS-1.0_focus_sample.csv',
  'focus-spec-v1.2_saas_spend_agreements_b2.csv',
  'focus-spec-v1.2_simple_saas_agreements_c.csv',
  'focus-spec-v1.2_zero_percent_utilization_without_commitment_discount_flexibility.csv',
];

function defaultSampleDirs(): string[] {
  const dirs = [resolve(PROJECT, '..', 'shared', 'focus-samples')];
  try {
    const origin = execFileSync('git', ['config', '--get', 'remote.origin.url'], { cwd: PROJECT, encoding: 'utf8' }).trim();
    if (origin && !origin.includes('://')) dirs.push(resolve(PROJECT, origin, '..', 'shared', 'focus-samples'));
  } catch {
    // not a clone: only the place beside the project applies
  }
  return dirs;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** What the command said of its progress, line by line. */
  progress: string[];
  json: () => any;
}

/** Runs `focus-billing <args>` in-process with captured output. */
export async function cli(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const progress: string[] = [];
  const io: Io = {
    out: (t) => {
      stdout += `${t}\n`;
    },
    err: (t) => {
      stderr += `${t}\n`;
    },
    progress: (t) => {
      progress.push(t);
    },
  };
  const code = await main(['node', 'focus-billing', ...args], io);
  return { code, stdout, stderr, progress, json: () => JSON.parse(stdout) };
}

/** The CLI from its sources, as a child process: `[node, ...args]` (tests run the sources; users run the compiled copy). */
export const SOURCE_CLI = ['--import', import.meta.resolve('tsx'), join(PROJECT, 'src', 'cli', 'bin.ts')];

export async function tempDir(prefix = 'ocb-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A temporary folder removed when the test (or suite) `t` ends, whether it passed or not. */
export async function scratch(t: { after: (fn: () => Promise<void>) => void }, prefix?: string): Promise<string> {
  const dir = await tempDir(prefix);
  t.after(() => removeDir(dir));
  return dir;
}

/** A fresh billing repository (see makeRepo) removed when the test `t` ends. */
export async function scratchRepo(t: { after: (fn: () => Promise<void>) => void }, config?: string): Promise<string> {
  const root = await makeRepo(config);
  t.after(() => removeDir(root));
  return root;
}

/** A fresh billing repository (init + git) with the project's sample config, or the given one. */
export async function makeRepo(config?: string): Promise<string> {
  const root = await tempDir();
  await initRepo(root);
  await writeFile(join(root, 'config.yaml'), config ?? (await readFile(join(PROJECT, 'config.yaml'), 'utf8')));
  const git = simpleGit(root);
  await git.add('.');
  await git.commit('init');
  return root;
}

/** `root` as `init` leaves it, with a git identity to commit as: no commit yet (makeRepo commits). */
export async function initRepo(root: string): Promise<void> {
  const r = await cli('init', root, '--json');
  if (r.code !== 0) throw new Error(r.stderr);
  const git = simpleGit(root);
  await git.addConfig('user.email', 'reviewer@example.edu');
  await git.addConfig('user.name', 'Test Reviewer');
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** sha256 of every file under the given folders: equal snapshots mean byte-identical trees. */
export async function snapshot(root: string, dirs = ['data', 'periods']): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else
        out[relative(root, p)] = createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
    }
  };
  for (const d of dirs) await walk(join(root, d));
  return out;
}

/** Writes a small FOCUS CSV from rows of cells (header first). */
export async function writeCsv(dir: string, name: string, rows: (string | number)[][]): Promise<string> {
  const path = join(dir, name);
  const cell = (v: string | number) => {
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  await writeFile(path, `${rows.map((r) => r.map(cell).join(',')).join('\n')}\n`);
  return path;
}

export const tags = (t: Record<string, unknown>) => JSON.stringify(t);

/** The FOCUS columns most tests write: enough for a billed, attributed charge. */
export const FOCUS_HEADER = [
  'BillingPeriodStart',
  'ChargePeriodStart',
  'ChargeCategory',
  'BilledCost',
  'ListCost',
  'ServiceName',
  'ResourceName',
  'Tags',
];

/** A row under FOCUS_HEADER: a charge on a day of March 2025 (its list cost the billed cost without its sign). */
export function focusRow(day: number, category: string, cost: string, resource: string, tags: string, period = '2025-03-01'): string[] {
  return [period, `2025-03-${String(day).padStart(2, '0')}T10:00:00Z`, category, cost, cost.replace('-', ''), 'Amazon EC2', resource, tags];
}

export { serveDir } from '../scripts/lib/serve-dir.ts';
