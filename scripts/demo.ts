/**
 * `npm run demo`: a scratch billing repository in demo/ (ignored by git), run through the real CLI
 * as billing staff and a reviewer would: ingest every sample export, decide every flag (with
 * notes), commit, then build the site and the PDF statements and print where they are.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { simpleGit } from 'simple-git';
import { parse, parseDocument } from 'yaml';
import { main } from '../src/cli/main.ts';
import { type Io, shellWord } from '../src/cli/output.ts';
import { UserError } from '../src/core/errors.ts';
import { loadAllFlags } from '../src/flags/review.ts';
import { chromiumOrNull, INSTALL_HINT } from '../src/pdf/browser.ts';
import { PIS } from './make-sample-data.ts';

const project = resolve(import.meta.dirname, '..');
// OCB_DEMO_DIR: where the demo repository goes (tests use a temporary folder).
const workspace = resolve(process.env.OCB_DEMO_DIR ?? join(project, 'demo'));
/** In the .git of a repository the demo made (where nothing commits it): the demo replaces only such a folder. */
const DEMO_MARKER = join('.git', 'openchargeback-demo');
/** The demo repository's first commit: what marks one made before the marker was. */
const FIRST_COMMIT = 'Billing repository for Example University';
const say = (t: string) => process.stdout.write(`${t}\n`);
const quiet: Io = { out: () => {}, err: (t) => process.stderr.write(`${t}\n`), progress: () => {} };
const loud: Io = {
  out: say,
  err: (t) => process.stderr.write(`${t}\n`),
  progress: (t) => {
    // Step-level progress only: per-PDF and per-email lines are for long interactive runs.
    if (!t.startsWith('  ')) process.stderr.write(`${t}\n`);
  },
};

/** A step that failed: its own message is already printed; the demo stops with its exit code, no stack trace. */
class StepFailed extends Error {
  constructor(
    readonly step: string,
    readonly code: number,
  ) {
    super(`${step} exited with ${code}`);
  }
}

const shell = (args: string[]) => args.map(shellWord).join(' ');

async function focusBilling(args: string[], io: Io = loud): Promise<void> {
  if (io === loud) say(`\n$ focus-billing ${shell(args)}`);
  const code = await main(['node', 'focus-billing', ...args, '--root', workspace], io);
  if (code !== 0) throw new StepFailed(`focus-billing ${shell(args)}`, code);
}

try {
  await demo();
} catch (e) {
  if (e instanceof UserError) {
    process.stderr.write(`error: ${e.format()}\n`);
    process.exitCode = e.exitCode;
  } else {
    // The step printed why it failed; say which step, and stop without a stack trace.
    const step = e instanceof StepFailed ? e.step : 'the demo';
    const why = e instanceof StepFailed ? `exited with ${e.code} (its message is above)` : `failed: ${(e as Error).message}`;
    process.stderr.write(`\nThe demo stopped: ${step} ${why}.\n`);
    process.exitCode = e instanceof StepFailed ? e.code : 1;
  }
}

/**
 * Takes away the last demo's repository, and only that: a folder that is absent, empty, or made
 * by the demo (its marker, or, made before the marker, the demo's first commit). Anything else,
 * such as a billing repository or a home folder in OCB_DEMO_DIR, is refused with nothing touched.
 */
async function clearWorkspace(): Promise<void> {
  const s = await stat(workspace).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (s === null) return;
  const refuse = (why: string) =>
    new UserError(`${workspace}: ${why}; nothing was changed`, {
      hint: 'the demo replaces only a folder it made: set OCB_DEMO_DIR to a new folder, or move this one aside yourself',
    });
  if (!s.isDirectory()) throw refuse('is a file, not a folder');
  if ((await readdir(workspace)).length > 0 && !(await madeByDemo()))
    throw refuse('is a folder the demo did not make, and it is not empty');
  await rm(workspace, { recursive: true, force: true });
}

async function madeByDemo(): Promise<boolean> {
  if (existsSync(join(workspace, DEMO_MARKER))) return true;
  if (!existsSync(join(workspace, '.git'))) return false;
  const first = await simpleGit(workspace)
    .raw(['log', '--max-parents=0', '--format=%ae %s', 'HEAD'])
    .catch(() => '');
  return first.trim() === `billing@example.edu ${FIRST_COMMIT}`;
}

async function demo(): Promise<void> {
  await clearWorkspace();
  const init = await main(['node', 'focus-billing', 'init', workspace], quiet);
  if (init !== 0) throw new StepFailed(`focus-billing init ${shell([workspace])}`, init);
  await writeFile(join(workspace, DEMO_MARKER), 'made by npm run demo: the next run replaces this repository\n');
  const git = simpleGit(workspace);
  await git.addConfig('user.email', 'billing@example.edu').addConfig('user.name', 'Billing Office');
  await writeFile(
    join(workspace, 'config.yaml'),
    await withPolicy(join(project, 'config.yaml'), join(project, 'sample_data', 'policy', 'config-policy.yaml')),
  );
  // The price list of the institution's own services and who owns what, beside config.yaml.
  for (const file of ['pis.yaml', 'rates.yaml', 'accounts.yaml']) await cp(join(project, 'sample_data', file), join(workspace, file));
  // Billing policy: credit programs and a prepaid balance, and the institution's logo.
  await cp(join(project, 'sample_data', 'policy', 'credits.yaml'), join(workspace, 'credits.yaml'));
  await mkdir(join(workspace, 'assets'), { recursive: true });
  await cp(join(project, 'sample_data', 'policy', 'logo.svg'), join(workspace, 'assets', 'logo.svg'));
  await git.add('.').commit(FIRST_COMMIT);

  const samples = join(project, 'sample_data');
  // Relative to where the demo was started when inside it (the default workspace); a workspace elsewhere keeps its absolute path.
  const shown = (path: string) => {
    const rel = relative(process.cwd(), path);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  };
  for (const period of ['2025-01', '2025-12']) {
    await git.checkoutLocalBranch(`billing/${period}`);
    // The group's own services: raw exports converted to FOCUS, priced by rates.yaml.
    const raw = (name: string) => shown(join(samples, 'raw', `${name}_${period}`));
    const exported = (source: string) => shown(join(workspace, 'out', 'exports', `${source}_${period}.csv`));
    await focusBilling(['convert', 'slurm', `${raw('sacct')}.txt`, '--period', period, '--out', exported('hpc')]);
    const storage = period === '2025-01' ? ['isilon', `${raw('isilon-quotas')}.json`] : ['csv', `${raw('storage-daily')}.csv`];
    await focusBilling([
      'convert',
      'storage',
      storage[1] as string,
      '--format',
      storage[0] as string,
      '--period',
      period,
      '--out',
      exported('storage'),
    ]);
    await focusBilling(['convert', 'vms', `${raw('vm-inventory')}.csv`, '--period', period, '--out', exported('vms')]);
    // The clouds export FOCUS themselves.
    for (const source of ['aws', 'azure'])
      await focusBilling(['ingest', shown(join(samples, `${source}_${period}.csv`)), '--source', source]);
    for (const source of ['hpc', 'storage', 'vms']) await focusBilling(['ingest', shown(exported(source)), '--source', source]);
    await git.add('.').commit(`Ingest ${period} exports`);
    if (period === '2025-12') {
      // Corrections the billing office makes after the export: a refund and a recovery fee.
      await cp(join(samples, 'policy', `adjustments_${period}.yaml`), join(workspace, 'periods', period, 'adjustments.yaml'));
      await git.add('.').commit(`Adjustments for ${period}`);
    }
    await review(period);
    await git.add('.').commit(`Review ${period} flags`);
    await git.checkout('main').merge([`billing/${period}`, '--no-ff', '-m', `Merge billing ${period}`]);
  }
  await writeFile(
    join(workspace, 'periods', '2025-12', 'notes.mdx'),
    `**Rate change.** From January 2026 research storage costs **$22.00 per TB-month** (was $25.00), and the first
terabyte stays free.

Please send corrections to fund/org codes to rc-billing@example.edu by *January 15, 2026*.
`,
  );
  await git.add('.').commit('Billing office notes for December');

  await focusBilling(['periods', 'list']);
  // PDFs need Chrome or Chromium; without one the site is built alone, and one line says how to add them.
  const browser = chromiumOrNull();
  await focusBilling(['build', '--out', 'dist', ...(browser ? [] : ['--no-pdf'])]);
  const noPdfs = browser
    ? null
    : `No PDFs: no Chrome or Chromium was found (\`npx focus-billing doctor\` says where it looked). ${INSTALL_HINT.replace(/^install/, 'Install')}, then run: npx focus-billing build --root ${shellWord(shown(workspace))} --out ${shellWord(shown(join(workspace, 'dist')))}`;
  // --out is taken from where the command runs, as any path argument is: the workspace's out/, not the project's.
  for (const period of ['2025-01', '2025-12'])
    await focusBilling([
      'journal',
      '--period',
      period,
      '--format',
      'gl',
      '--out',
      shown(join(workspace, 'out', `journal-gl-${period}.csv`)),
    ]);
  // A preview of the emails PIs would get (nothing is sent without --send).
  await focusBilling(['email', '--period', '2025-12', '--base-url', 'http://127.0.0.1:8000/']);
  // One PI's statement with the policy applied: a prepaid balance running out.
  await focusBilling(['preview', 'statement', '--period', '2025-12', '--pi', 'd.kowalski@example.edu']);
  say(`
Demo workspace: ${workspace}
  Site:  ${join(workspace, 'dist')}/   (its pages link from the site's root, as GitHub Pages serves them:
         opened as files they lose their style and links; browse it in the app, under Site)
  App:   npx focus-billing web --root ${shellWord(shown(workspace))}   (import, review, charges, emails, the site; it prints its address)
  PDFs:  ${browser ? `${join(workspace, 'dist', 'periods', '<period>', 'pdf')}/` : 'none (see below)'}
  Journals: ${join(workspace, 'dist', 'periods', '<period>')}/journal-{detail,summary,gl}.csv
  Emails (not sent): ${join(workspace, 'out', 'emails', '2025-12')}/
  Git history of every decision: git -C ${shellWord(shown(workspace))} log --stat`);
  if (noPdfs) say(`\n${noPdfs}`);
}

/** The sample config.yaml with the demo's policy and look (sample_data/policy/config-policy.yaml) merged in, comments kept. */
async function withPolicy(configFile: string, policyFile: string): Promise<string> {
  const doc = parseDocument(await readFile(configFile, 'utf8'));
  const additions = parse(await readFile(policyFile, 'utf8')) as Record<string, Record<string, unknown>>;
  for (const [section, values] of Object.entries(additions))
    for (const [key, value] of Object.entries(values)) doc.setIn([section, key], doc.createNode(value));
  return doc.toString();
}

/** A reviewer's decisions on the demo's flags, each with a note. */
async function review(period: string): Promise<void> {
  const [flags] = await loadAllFlags(workspace, period);
  for (const f of flags?.flags ?? []) {
    const rules = [f.rule, ...(f.also ?? [])];
    if (rules.includes('invalid_fund_org')) {
      await focusBilling([
        'review',
        'reject',
        f.id,
        '--note',
        'Fund/org "TBD" is not a valid account: the PI will resubmit it; billed next month',
      ]);
      continue;
    }
    if (rules.includes('invalid_tags')) {
      await focusBilling([
        'review',
        'assign',
        f.id,
        '--pi',
        'e.haddad@example.edu',
        '--project',
        'nlp-corpus',
        '--fund-org',
        '100248-1004',
      ]);
    } else if (f.source === 'vms' && !f.charge.pi_email) {
      await focusBilling(['review', 'reject', f.id, '--note', `${f.charge.resource}: a scratch VM nobody claimed; deleted, not billed`]);
      continue;
    } else if (f.source === 'hpc' && !f.charge.pi_email) {
      // The Slurm account accounts.yaml does not know yet: a visitor in Wei Chen's lab.
      await focusBilling([
        'review',
        'assign',
        f.id,
        '--pi',
        'w.chen@example.edu',
        '--project',
        'genome-assembly',
        '--fund-org',
        '100951-1023',
      ]);
      await focusBilling([
        'review',
        'approve',
        f.id,
        '--note',
        'visitor-lab is a visiting student in the Chen lab; added to accounts.yaml',
      ]);
      continue;
    } else if (!f.charge.pi_email || !f.charge.project_id || !f.charge.fund_org) {
      // Untagged resources: the account owner confirmed whose they are.
      const pi = f.charge.pi_email ?? 'a.rivera@example.edu';
      const projects = PIS.find(([email]) => email === pi)?.[2] ?? [];
      const projectId = f.charge.project_id ?? projects[0] ?? 'unknown';
      const fund = f.charge.fund_org ?? '100100-1000';
      await focusBilling(['review', 'assign', f.id, '--pi', pi, '--project', projectId, '--fund-org', fund]);
    }
    const note = rules.includes('pattern_match')
      ? 'GPU use approved by the PI for model training (ticket RC-2291)'
      : rules.includes('period_mismatch')
        ? 'November storage correction, billed with December'
        : 'Attribution confirmed with the account owner';
    await focusBilling(['review', 'approve', f.id, '--note', note]);
  }
}
