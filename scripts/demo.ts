/**
 * `npm run demo`: a scratch billing repository in demo/ (ignored by git), run through the real CLI
 * as billing staff and a reviewer would: ingest every sample export, decide every flag (with
 * notes), commit, then build the site and the PDF statements and print where they are.
 */
import { cp, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { simpleGit } from 'simple-git';
import { main } from '../src/cli/main.ts';
import type { Io } from '../src/cli/output.ts';
import { loadAllFlags } from '../src/flags/review.ts';

const project = resolve(import.meta.dirname, '..');
const workspace = join(project, 'demo');
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

async function focusBilling(args: string[], io: Io = loud): Promise<void> {
  if (io === loud) say(`\n$ focus-billing ${args.join(' ')}`);
  const code = await main(['node', 'focus-billing', ...args, '--root', workspace], io);
  if (code !== 0) throw new Error(`focus-billing ${args.join(' ')} exited with ${code}`);
}

await rm(workspace, { recursive: true, force: true });
await main(['node', 'focus-billing', 'init', workspace], quiet);
const git = simpleGit(workspace);
await git.addConfig('user.email', 'billing@example.edu').addConfig('user.name', 'Billing Office');
await cp(join(project, 'config.yaml'), join(workspace, 'config.yaml'));
await cp(join(project, 'sample_data', 'pis.yaml'), join(workspace, 'pis.yaml'));
await git.add('.').commit('Billing repository for Example University');

const samples = join(project, 'sample_data');
for (const period of ['2025-01', '2025-12']) {
  await git.checkoutLocalBranch(`billing/${period}`);
  for (const source of ['aws', 'azure', 'hpc', 'storage']) {
    // --period: December's storage export carries a late November correction, flagged for review.
    await focusBilling([
      'ingest',
      relative(process.cwd(), join(samples, `${source}_${period}.csv`)),
      '--source',
      source,
      '--period',
      period,
    ]);
  }
  await git.add('.').commit(`Ingest ${period} exports`);
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
await focusBilling(['build', '--out', 'dist']);
for (const period of ['2025-01', '2025-12'])
  await focusBilling(['journal', '--period', period, '--format', 'gl', '--out', `out/journal-gl-${period}.csv`]);
// A preview of the emails PIs would get (nothing is sent without --send).
await focusBilling(['email', '--period', '2025-12', '--base-url', 'http://127.0.0.1:8000/']);
say(`
Demo workspace: ${workspace}
  Site:  ${join(workspace, 'dist', 'index.html')}   (serve it: npx focus-billing web --root demo)
  PDFs:  ${join(workspace, 'dist', 'periods', '<period>', 'pdf')}/
  Journals: ${join(workspace, 'dist', 'periods', '<period>')}/journal-{detail,summary,gl}.csv
  Emails (not sent): ${join(workspace, 'out', 'emails', '2025-12')}/
  Git history of every decision: git -C demo log --stat`);

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
    } else if (!f.charge.pi_email || !f.charge.project_id || !f.charge.fund_org) {
      // Untagged resources: the account owner confirmed whose they are.
      const pi = f.charge.pi_email ?? 'a.rivera@example.edu';
      const projectId = f.charge.project_id ?? 'genomics-atlas';
      const fund = f.charge.fund_org ?? (pi === 'a.rivera@example.edu' ? '100100-1000' : '100100-1011');
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
