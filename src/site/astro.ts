/**
 * Runs the Astro build of the site in a child process (astro/runner.mjs), in a root of its own
 * linked to the project's packages: Astro's intermediate bundle then resolves them whichever
 * billing repository is built, two builds at once never share Astro's intermediate files, and
 * nothing of this process (its working folder, environment, memory) is touched. The model reaches the pages through an integration (astro/site-input.mjs).
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { UserError } from '../core/errors.ts';

/** The project folder (Astro's root): found upwards, as this module may run from src/ or from the CLI bundle. */
export const PACKAGE_ROOT = findPackageRoot(import.meta.dirname);

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'astro.config.mjs')) && existsSync(join(dir, 'src', 'site', 'astro', 'runner.mjs'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no astro.config.mjs above ${from}`);
  }
}

/** A file the build read, shown relative to the billing repository when it is inside it. */
function displayPath(root: string, file: string): string {
  const rel = relative(root, file);
  return rel.startsWith('..') ? file : rel;
}

export interface AstroInput {
  /** The billing repository (for showing where a source file is wrong). */
  root: string;
  outDir: string;
  base: string;
  cacheDir: string;
  modelPath: string;
  periodsDir: string;
}

/** Files Astro leaves in the output when it is outside the project (withastro/astro#14903): build artefacts, not site. */
const ASTRO_LEFTOVERS = ['content-assets.mjs', 'content-modules.mjs'];

/**
 * Builds the site into `outDir`; returns the number of pages.
 *
 * Astro starts at once, before the model file exists: it bundles the pages (6-7 s) at a lower
 * priority, on what the builder's queries leave idle, and renders them once `modelWritten`
 * settles (the file written). Rejected, the build is abandoned and Astro stopped.
 */
export async function runAstro(input: AstroInput, modelWritten: Promise<void>): Promise<number> {
  const { root: _repository, ...build } = input;
  // A root of its own for each build: Astro writes its intermediate files (.astro/) in its root,
  // so two builds at once (two billing repositories, two tests) would overwrite each other's in
  // the project's. The project's sources and packages are linked in (and kept as linked).
  const root = await mkdtemp(join(tmpdir(), 'openchargeback-astro-'));
  try {
    for (const entry of ['node_modules', 'package.json', 'tsconfig.json', 'src'])
      if (existsSync(join(PACKAGE_ROOT, entry))) await symlink(join(PACKAGE_ROOT, entry), join(root, entry));
    return await runIn(root, input, build, modelWritten);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function runIn(root: string, input: AstroInput, build: Omit<AstroInput, 'root'>, modelWritten: Promise<void>): Promise<number> {
  const child = fork(join(PACKAGE_ROOT, 'src', 'site', 'astro', 'runner.mjs'), [JSON.stringify({ ...build, root })], {
    cwd: root,
    env: { ...process.env, ASTRO_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    execArgv: [],
  });
  try {
    if (child.pid !== undefined) setPriority(child.pid, 10);
  } catch {
    // Only the time it takes.
  }
  modelWritten.catch(() => child.kill());
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = `${stderr}${d.toString()}`.slice(-20_000);
  });
  type Answer = { pages?: number; error?: string; stack?: string; loc?: { file: string; line?: number; column?: number } | null };
  const result = await new Promise<Answer>((resolve, reject) => {
    let answer: Answer | undefined;
    child.on('message', (m: Answer | { waiting: 'model' }) => {
      // Asked once the pages are bundled: answered once the model file is written.
      if ('waiting' in m)
        modelWritten.then(
          () => child.connected && child.send({ model: 'written' }),
          () => {},
        );
      else answer = m;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      resolve(answer ?? { error: `the Astro build process ended (${signal ?? `exit ${code}`}) without a result`, stack: stderr }),
    );
  });
  if (result.error !== undefined || result.pages === undefined) {
    const cause = new Error(result.error ?? 'no result');
    cause.stack = [result.stack, stderr].filter(Boolean).join('\n');
    const loc = result.loc;
    throw new UserError(`the site did not build: ${(result.error ?? '').split('\n')[0]}`, {
      // Notes MDX cannot read are refused before the build (notesProblem): what is left is the machine's or the tool's.
      hint: 'run with --debug for the whole error, and report it if the machine is not the cause (disk space, memory)',
      exitCode: 1,
      cause,
      location: loc ? { file: displayPath(input.root, loc.file), line: loc.line, column: loc.column } : undefined,
    });
  }
  await Promise.all(ASTRO_LEFTOVERS.map((f) => rm(join(input.outDir, f), { force: true })));
  return result.pages;
}
