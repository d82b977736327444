/** Review in pull requests, on real temporary git repositories. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleGit } from 'simple-git';
import { parse } from 'yaml';
import { cli, initRepo, makeRepo, removeDir, SAMPLE, scratch, scratchRepo } from './helpers.ts';

const NOW = '2026-02-03T10:00:00Z';
let repo: string;
before(() => {
  process.env.OCB_NOW = NOW;
});
after(() => {
  delete process.env.OCB_NOW;
});

async function flags(root: string, period = '2025-01') {
  return parse(await readFile(join(root, 'periods', period, 'flags.yaml'), 'utf8')).flags as any[];
}

/** January's AWS flags in a scratch repository, saved with Windows line breaks; and the file as ingest wrote it. */
async function windowsFlags(t: Parameters<typeof scratchRepo>[0]): Promise<{ root: string; path: string; lf: string }> {
  const root = await scratchRepo(t);
  assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', root)).code, 0);
  const path = join(root, 'periods/2025-01/flags.yaml');
  const lf = await readFile(path, 'utf8');
  await writeFile(path, lf.replace(/\n/g, '\r\n'));
  return { root, path, lf };
}

describe('a billing month as a pull request', () => {
  before(async () => {
    repo = await makeRepo();
  });
  after(() => removeDir(repo));

  it('ingests on a branch, summarises, records decisions, and passes the gate only when reviewed', async () => {
    const git = simpleGit(repo);
    const aws = await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', repo, '--commit', '--json');
    assert.equal(aws.code, 0, aws.stderr);
    assert.equal(aws.json().committed.branch, 'ingest/2025-01-aws');
    // A second source joins the same pull request with --branch.
    const hpc = await cli(
      'ingest',
      join(SAMPLE, 'hpc_2025-01.csv'),
      '--source',
      'HPC',
      '--root',
      repo,
      '--commit',
      '--branch',
      'ingest/2025-01-aws',
      '--json',
    );
    assert.equal(hpc.code, 0, hpc.stderr);
    assert.equal(hpc.json().committed.branch, 'ingest/2025-01-aws');
    assert.equal((await git.branchLocal()).current, 'ingest/2025-01-aws');
    assert.match((await git.log()).latest?.message ?? '', /^Ingest HPC 2025-01: 544 rows, \$2,097\.05 USD, 1 flagged$/);

    const gate = await cli('validate', '--require-reviewed', '--root', repo);
    assert.equal(gate.code, 1);
    assert.match(gate.stderr, /error: periods\/2025-01\/flags\.yaml: 2025-01 has 10 pending flags/);

    const summary = await cli('pr-summary', '--base', 'main', '--root', repo);
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(
      summary.stdout,
      /^<!-- openchargeback:pr-summary -->\n## Billing data summary\n\nCompared with `main`: 2 data files changed in 2025-01\./,
    );
    assert.match(summary.stdout, /\| 2025-01 \| `data\/2025-01\/aws\.csv` \| added \| 1,212 \|/);
    assert.match(summary.stdout, /\| 2025-01 \| AWS \| – \| \$29,395\.97 \| \+\$29,395\.97 \|/);
    assert.match(summary.stdout, /### Pending review: 10 flags/);
    // The same, as data for scripts: exact amounts (the inputs' sums, not rounded), the same rows.
    const data = (await cli('pr-summary', '--base', 'main', '--json', '--root', repo)).json();
    assert.equal(data.base, 'main');
    assert.deepEqual(data.periods, ['2025-01']);
    assert.deepEqual(data.data_files, [
      { path: 'data/2025-01/aws.csv', change: 'added', period: '2025-01', rows: 1212 },
      { path: 'data/2025-01/hpc.csv', change: 'added', period: '2025-01', rows: 544 },
    ]);
    assert.deepEqual(
      data.totals.map((t: Record<string, unknown>) => [t.source, t.source_name, t.before, t.after, t.change]),
      [
        ['aws', 'AWS', null, '29395.9675069898', '29395.9675069898'],
        ['hpc', 'HPC', null, '2097.051609685', '2097.051609685'],
      ],
    );
    assert.equal(data.pending_flags.length, 10);
    assert.deepEqual(Object.keys(data.pending_flags[0]), ['period', 'id', 'rules', 'pi_email', 'amount', 'currency', 'file', 'line']);
    const pis = data.pis as { change: string; after: string }[];
    assert.ok(pis.length > 0 && pis.every((p) => p.change === p.after), 'every PI is new against main');

    // Bulk approval skips charges without a PI and says how many.
    const bulk = await cli('review', 'approve', '--period', '2025-01', '--all', '--note', 'GPU use confirmed', '--root', repo);
    assert.equal(bulk.code, 0, bulk.stderr);
    // 6 GPU charges have a PI; 3 untagged AWS charges and the HPC job of a Slurm account nobody mapped do not.
    assert.match(bulk.stdout, /2025-01: 6 flags approved, 4 skipped/);
    assert.equal((bulk.stderr.match(/skipped [0-9a-f]{16}: no usable PI, project or fund\/org: assign one first/g) ?? []).length, 4);

    const [untagged, noTags, badJson, visitor] = (await flags(repo)).filter((f) => f.status === 'pending');
    assert.deepEqual(
      [untagged.rule, noTags.rule, badJson.rule, visitor.rule, visitor.source],
      ['missing_pi_email', 'missing_pi_email', 'invalid_tags', 'missing_pi_email', 'hpc'],
    );
    const noNote = await cli('review', 'reject', untagged.id, '--root', repo);
    assert.equal(noNote.code, 2);
    assert.match(noNote.stderr, /required option '--note <text>'/);
    // An id no period holds: named with the file searched when --period is given, else alone.
    for (const [args, where] of [
      [['--period', '2025-01'], ' in periods/2025-01/flags.yaml'],
      [[], ''],
    ] as const) {
      const unknown = await cli('review', 'reject', 'dddddddddddddddd', ...args, '--note', 'x', '--root', repo);
      assert.equal(unknown.code, 2, unknown.stderr);
      assert.equal(
        unknown.stderr,
        `error: no flag with id dddddddddddddddd${where}\n  hint: list flags with \`focus-billing review list\`\n`,
      );
    }
    assert.equal((await cli('review', 'reject', untagged.id, '--note', 'not a research charge', '--root', repo)).code, 0);
    assert.equal(
      (
        await cli(
          'review',
          'assign',
          badJson.id,
          '--pi',
          'e.haddad@example.edu',
          '--project',
          'nlp-corpus',
          '--fund-org',
          '100248-1004',
          '--root',
          repo,
        )
      ).code,
      0,
    );
    const partly = await cli('review', 'approve', badJson.id, noTags.id, '--note', 'attributed by the account owner', '--root', repo);
    assert.equal(partly.code, 1, 'noTags has no PI yet: it is not approved, and the command says so');
    assert.match(partly.stdout, /2025-01: 1 flag approved, 1 skipped/);
    assert.equal(
      (
        await cli(
          'review',
          'assign',
          noTags.id,
          '--pi',
          'a.rivera@example.edu',
          '--project',
          'genomics-atlas',
          '--fund-org',
          '100100-1000',
          '--root',
          repo,
        )
      ).code,
      0,
    );
    assert.equal(
      (
        await cli(
          'review',
          'assign',
          visitor.id,
          '--pi',
          'w.chen@example.edu',
          '--project',
          'genome-assembly',
          '--fund-org',
          '100951-1023',
          '--root',
          repo,
        )
      ).code,
      0,
    );
    assert.equal((await cli('review', 'approve', noTags.id, visitor.id, '--note', 'owner confirmed', '--root', repo)).code, 0);

    const decided = await flags(repo);
    const rejected = decided.find((f) => f.id === untagged.id);
    assert.deepEqual(
      { status: rejected.status, by: rejected.decided_by, at: rejected.decided_at, note: rejected.note },
      { status: 'rejected', by: 'reviewer@example.edu', at: NOW, note: 'not a research charge' },
    );
    assert.ok(decided.every((f) => f.status !== 'pending'));
    const text = await readFile(join(repo, 'periods/2025-01/flags.yaml'), 'utf8');
    assert.match(
      text,
      /^# yaml-language-server: \$schema=\.\.\/\.\.\/schemas\/flags\.schema\.json\n# Charges held for review/,
      'comments kept',
    );

    const ok = await cli('validate', '--require-reviewed', '--root', repo);
    assert.equal(ok.code, 0, ok.stderr);

    // The rejected charge is off every statement and shows as excluded.
    const show = (await cli('periods', 'show', '2025-01', '--json', '--root', repo)).json();
    assert.equal(show.reconciliation[0].excluded_rejected, '1.889280000000000000');
    assert.equal(show.reconciliation[0].excluded_pending, '0.000000000000000000');
    // And as what review holds back of its source.
    assert.deepEqual(show.held_back, [
      { source: 'aws', currency: 'USD', pending: '0.000000000000000000', rejected: '1.889280000000000000' },
    ]);
    const gen = (await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo)).json();
    const haddad = gen.statements.find(
      (s: { pi_email: string; project_id: string }) => s.pi_email === 'e.haddad@example.edu' && s.project_id === 'nlp-corpus',
    );
    assert.ok(
      haddad.lines.some((l: { service: string }) => l.service === 'Amazon Simple Storage Service'),
      'the assigned charge is billed',
    );
  });

  it('refuses to commit on the default branch', async () => {
    const r = await cli(
      'ingest',
      join(SAMPLE, 'storage_2025-01.csv'),
      '--source',
      'Storage',
      '--root',
      repo,
      '--commit',
      '--branch',
      'main',
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--commit never commits on the default branch \(main\)/);
  });

  it('refuses to commit, before writing anything, in a repository with no commit yet', async (t) => {
    const root = await scratch(t);
    await initRepo(root);
    const git = simpleGit(root);
    const r = await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', root, '--commit');
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'error: this repository has no commit yet: a branch made now would hold this change alone, with nothing to open a pull request against; nothing was written\n' +
        '  hint: commit the repository as it is first (git add -A && git commit -m "Billing repository"), then try again\n',
    );
    assert.equal(existsSync(join(root, 'data', '2025-01')), false);
    assert.deepEqual((await git.branchLocal()).all, []);
    // Once committed, the same command commits on its own branch.
    await git.add('.').commit('Billing repository');
    const again = await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', root, '--commit');
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await git.branchLocal()).current, 'ingest/2025-01-storage');
  });

  it("keeps a flags.yaml's Windows line breaks when it records a decision", async (t) => {
    const { root, path, lf } = await windowsFlags(t);
    const [flag] = parse(lf).flags as { id: string }[];
    const r = await cli('review', 'reject', flag?.id as string, '--note', 'not ours\nsee ticket 12', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(path, 'utf8');
    assert.equal(text.split('\r\n').length, text.split('\n').length, 'every line break is \\r\\n');
    assert.ok(text.split('\r\n').length > lf.split('\n').length, 'the decision added lines');
    const decided = (parse(text).flags as { id: string; status: string; note: string }[]).find((f) => f.id === flag?.id);
    assert.equal(decided?.status, 'rejected');
    assert.equal(decided?.note, 'not ours\nsee ticket 12');
    assert.equal((await cli('validate', '--root', root)).code, 0);
  });

  it("keeps a flags.yaml's Windows line breaks when another source's export adds flags to it", async (t) => {
    const { root, path, lf } = await windowsFlags(t);
    const r = await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', root, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().flags.new, 1);
    const text = await readFile(path, 'utf8');
    assert.equal(text.split('\r\n').length, text.split('\n').length, 'every line break is \\r\\n');
    // Every line that was there is still there, in order: a diff shows only the HPC flag.
    const added = text.split('\r\n');
    let at = 0;
    for (const line of lf.split('\n')) {
      at = added.indexOf(line, at) + 1;
      assert.ok(at > 0, `kept, in order: ${line}`);
    }
    assert.ok(added.length > lf.split('\n').length, 'the HPC flag added lines');
    assert.deepEqual(
      (parse(text).flags as { source: string }[]).map((f) => f.source).sort(),
      [...(parse(lf).flags as { source: string }[]).map((f) => f.source), 'hpc'].sort(),
    );
    assert.equal((await cli('validate', '--root', root)).code, 0);
  });

  it("keeps a reviewer's comments in flags.yaml, and every other source's flag as written, when another export is ingested", async (t) => {
    const root = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', root)).code, 0);
    const path = join(root, 'periods/2025-01/flags.yaml');
    const written = await readFile(path, 'utf8');
    // Comments a reviewer adds by hand, above a flag and inside one.
    const commented = written
      .replace('flags:\n', 'flags:\n  # GPU flags: asked Dr Nguyen, ticket 4411\n')
      .replace(/(\n {4}rule: invalid_tags\n)/, '$1    # the tags are cut off in the export; AWS case 17\n');
    assert.notEqual(commented, written);
    await writeFile(path, commented);
    for (const [file, source] of [
      ['hpc_2025-01.csv', 'HPC'],
      ['vms_2025-01.csv', 'VMs'],
    ]) {
      const r = await cli('ingest', join(SAMPLE, file as string), '--source', source as string, '--root', root);
      assert.equal(r.code, 0, r.stderr);
    }
    const text = await readFile(path, 'utf8');
    assert.ok(text.startsWith(commented), 'the AWS flags and both comments are as they were, the new flags after them');
    const flags = parse(text).flags as { source: string }[];
    assert.deepEqual(
      flags.map((f) => f.source),
      [...(parse(written).flags as { source: string }[]).map((f) => f.source), 'hpc', 'vms'],
    );
    // Replacing one source's export leaves the others' lines, and the comments, alone.
    const replaced = await cli(
      'ingest',
      join(SAMPLE, 'hpc_2025-12.csv'),
      ...['--source', 'HPC', '--period', '2025-01', '--replace', '--root', root, '--json'],
    );
    assert.equal(replaced.code, 0, replaced.stderr);
    const after = await readFile(path, 'utf8');
    assert.ok(after.startsWith(commented));
    const sources = (parse(after).flags as { source: string }[]).map((f) => f.source);
    assert.equal(sources.filter((s) => s === 'hpc').length, replaced.json().flags.total, "the HPC flags are the new export's alone");
    assert.equal(sources.at(-1), 'hpc', "the new export's flags come last");
    assert.equal((await cli('validate', '--root', root)).code, 0);
  });

  it("keeps the comments on a source's own flags when its export is ingested again: in place, or above a flag written anew", async (t) => {
    const root = await scratchRepo(t);
    const lines = (await readFile(join(SAMPLE, 'aws_2025-01.csv'), 'utf8')).split('\n');
    const untagged = lines.findIndex((l) => l.includes('untagged-0'));
    assert.ok(untagged > 0);
    const extra = (lines[untagged] as string).replace('untagged-0', 'untagged-new');
    const exportOf = async (name: string, rows: string[]) => {
      const file = join(root, '..', name);
      await writeFile(file, rows.join('\n'));
      return file;
    };
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', root)).code, 0);
    const path = join(root, 'periods/2025-01/flags.yaml');
    const written = await readFile(path, 'utf8');
    const ids = (parse(written).flags as { id: string }[]).map((f) => f.id);
    assert.ok(ids.length >= 3, written);
    assert.equal((await cli('review', 'reject', ids[1] as string, '--note', 'not a charge of ours', '--root', root)).code, 0);
    // Comments after a value and on lines of their own, inside flags; a note whose lines look like comments.
    const commented = (await readFile(path, 'utf8'))
      .replace(`id: ${ids[0]}\n    status: pending\n`, `id: ${ids[0]}\n    status: pending  # asked the PI, ticket 4411\n`)
      .replace(`id: ${ids[1]}\n    status: rejected\n`, `id: ${ids[1]}\n    status: rejected\n    # see AWS case 17\n`)
      .replace(/(id: [0-9a-f]{16}\n(?: {4}.*\n)*? {4}note: )not a charge of ours\n/, '$1|\n      not a charge of ours\n      # ours: no\n')
      .replace(`id: ${ids[2]}\n`, `id: ${ids[2]}  # the last one\n`);
    await writeFile(path, commented);
    assert.equal((await cli('validate', '--root', root)).code, 0);

    // A corrected export with a row added at the end: the flags' lines are as they were, the new one after them.
    const later = await exportOf('aws-later.csv', [...lines.slice(0, -1), extra, '']);
    const r = await cli('ingest', later, '--source', 'AWS', '--period', '2025-01', '--replace', '--root', root, '--json');
    assert.equal(r.code, 0, r.stderr);
    const appended = await readFile(path, 'utf8');
    assert.ok(appended.startsWith(commented), 'every flag and comment as it was');
    assert.match(appended.slice(commented.length), /^ {2}- id: [0-9a-f]{16}\n {4}status: pending\n/);

    // A row added at the top: every flag's line moves, so each is written anew, its comments above it.
    const earlier = await exportOf('aws-earlier.csv', [lines[0] as string, extra, ...lines.slice(1)]);
    const e = await cli('ingest', earlier, '--source', 'AWS', '--period', '2025-01', '--replace', '--root', root, '--json');
    assert.equal(e.code, 0, e.stderr);
    const moved = await readFile(path, 'utf8');
    assert.match(moved, new RegExp(`\\n {2}# asked the PI, ticket 4411\\n {2}- id: ${ids[0]}\\n {4}status: pending\\n`));
    assert.match(moved, new RegExp(`\\n {2}# see AWS case 17\\n {2}- id: ${ids[1]}\\n {4}status: rejected\\n`));
    assert.match(moved, new RegExp(`\\n {2}# the last one\\n {2}- id: ${ids[2]}\\n`));
    assert.doesNotMatch(moved, /^ {2}# ours: no$/m, "the note's lines are the note's, not a comment");
    const flags = parse(moved).flags as { id: string; status: string; note?: string; line: number }[];
    assert.deepEqual(flags.map((f) => f.id).slice(0, ids.length), ids, 'in their places');
    assert.equal(flags[1]?.note, 'not a charge of ours\n# ours: no\n');
    assert.equal(flags.length, ids.length + 1);
    assert.equal((await cli('validate', '--root', root)).code, 0);
  });

  it('refuses to commit, before writing anything, where git has no name for the author', async (t) => {
    const root = await scratchRepo(t);
    const git = simpleGit(root);
    await git.addConfig('user.name', ''); // as git refuses a machine's unknown identity: its own words are quoted
    const r = await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', root, '--commit');
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: git cannot commit here: it has no name and email address for the author \(empty ident name \(for <reviewer@example\.edu>\) not allowed\); nothing was written\n {2}hint: set them once: git config --global user\.name/,
    );
    assert.equal((await git.branchLocal()).current, 'main');
    assert.equal((await git.status()).files.length, 0, 'nothing written or staged');
    await git.addConfig('user.name', 'Billing Office');
    const committed = await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', root, '--commit');
    assert.equal(committed.code, 0, committed.stderr);
    assert.equal((await git.branchLocal()).current, 'ingest/2025-01-storage');
  });
});

describe('closed periods', () => {
  it('freeze data and decisions until reopened with a reason', async (t) => {
    const root = await scratchRepo(t);
    await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', root);
    // A dry run checks and says what would be frozen, and writes nothing.
    const dry = await cli('periods', 'close', '2025-01', '--dry-run', '--root', root);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(
      dry.stdout,
      'Dry run, nothing written: 2025-01 can be closed; 1 data file, flags.yaml and what its statements show would be frozen in periods/2025-01/period.yaml.\n',
    );
    assert.equal(existsSync(join(root, 'periods/2025-01/period.yaml')), false);
    const dryJson = await cli('periods', 'close', '2025-01', '--dry-run', '--json', '--root', root);
    assert.deepEqual([dryJson.json().dry_run, dryJson.json().status], [true, 'closed']);
    const closed = await cli('periods', 'close', '2025-01', '--root', root, '--json');
    assert.equal(closed.code, 0, closed.stderr);
    assert.match(closed.json().files['data/2025-01/storage.csv'], /^[0-9a-f]{64}$/);
    assert.equal((await cli('validate', '--root', root)).code, 0);
    // A record under a name the tool does not read was never applied: in a closed period, renaming it would change what it issued.
    await writeFile(join(root, 'periods/2025-01/adjustments.yml'), 'adjustments: []\n');
    const misnamed = await cli('validate', '--root', root);
    assert.equal(misnamed.code, 0, misnamed.stderr);
    assert.match(
      misnamed.stderr,
      /warning: periods\/2025-01\/adjustments\.yml: not read, as the tool reads adjustments\.yaml: what it holds is not applied; 2025-01 is closed, and issued its statements without it\n {2}hint: leave it, or take it out \(git rm\)/,
    );
    await rm(join(root, 'periods/2025-01/adjustments.yml'));

    await appendFile(join(root, 'data/2025-01/storage.csv'), '\n');
    const v = await cli('validate', '--root', root);
    assert.equal(v.code, 1);
    assert.match(
      v.stderr,
      /error: data\/2025-01\/storage\.csv: changed after 2025-01 was closed \(2026-02-03T10:00:00Z\)\n {2}hint: a closed period is frozen/,
    );

    const ingest = await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', root, '--replace');
    assert.equal(ingest.code, 2);
    assert.match(ingest.stderr, /period 2025-01 is closed \(2026-02-03T10:00:00Z by reviewer@example\.edu\): cannot ingest into it/);

    assert.equal((await cli('periods', 'reopen', '2025-01', '--root', root)).code, 2, '--reason is required');
    const reopened = await cli('periods', 'reopen', '2025-01', '--reason', 'storage quota corrected', '--root', root, '--json');
    assert.equal(reopened.code, 0);
    assert.deepEqual(
      reopened.json().history.map((h: { action: string; reason?: string }) => [h.action, h.reason]),
      [
        ['closed', undefined],
        ['reopened', 'storage quota corrected'],
      ],
    );
  });

  it('cannot be closed with pending flags', async (t) => {
    const root = await scratchRepo(t);
    await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', root);
    const r = await cli('periods', 'close', '2025-01', '--root', root);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /period 2025-01 has 1 pending flag: decide them before closing/);
    const dry = await cli('periods', 'close', '2025-01', '--dry-run', '--root', root);
    assert.equal(dry.code, 1);
    assert.match(dry.stderr, /period 2025-01 has 1 pending flag: decide them before closing/);
  });
});

describe('validate', () => {
  it('names the line of a typo in a hand-edited flags.yaml', async (t) => {
    const root = await scratchRepo(t);
    await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', root);
    const path = join(root, 'periods/2025-01/flags.yaml');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('status: pending', 'status: aproved'));
    const line = text.split('\n').findIndex((l) => l.includes('status: pending')) + 1;
    const r = await cli('validate', '--root', root);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `error: periods/2025-01/flags\\.yaml:${line}:13: flags\\.0\\.status: expected one of "pending", "approved", "rejected"\n  hint: status is one of pending, approved, rejected`,
      ),
    );
    // A key of a reviewer's own: the hint says what a flag holds, and where a remark goes.
    await writeFile(path, text.replace('status: pending\n', 'status: approved\n    comment: asked the PI\n'));
    const key = await cli('validate', '--root', root);
    assert.equal(key.code, 1);
    assert.match(
      key.stderr,
      /flags\.0: unknown setting "comment"\n {2}hint: a flag holds id, status, rule, also, message, source, file, line, charge, decided_by, decided_at, note, assign: write a remark in its note, or after a # \(a comment\)\n/,
    );
  });

  it("mends, by the command it names, flags that are no longer what the data holds: rules changed, or a charge's amount edited by hand", async (t) => {
    const root = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', root)).code, 0);
    const git = simpleGit(root);
    await git.add('.').commit('January');
    const path = join(root, 'periods/2025-01/flags.yaml');
    const first = (parse(await readFile(path, 'utf8')).flags as { id: string }[])[0]?.id as string;
    assert.equal((await cli('review', 'reject', first, '--note', 'not ours', '--root', root)).code, 0);
    const hinted = async () => {
      const v = await cli('validate', '--root', root, '--json');
      assert.equal(v.code, 1);
      const error = (v.json().findings as { level: string; hint?: string }[]).find((f) => f.level === 'error');
      const command = /`focus-billing (ingest [^`]+)`/.exec(error?.hint ?? '')?.[1];
      assert.ok(command, JSON.stringify(error));
      // As run from the repository's top, where the hint's paths start.
      return command.split(' ').map((a) => (a.startsWith('data/') ? join(root, a) : a));
    };
    // A rule changed since: more charges are held than flags.yaml lists.
    const configPath = join(root, 'config.yaml');
    await writeFile(
      configPath,
      (await readFile(configPath, 'utf8')).replace('flag_rules:\n', 'flag_rules:\n  anomalies: { large_charge: 100 }\n'),
    );
    const mend = await cli(...(await hinted()), '--root', root, '--json');
    assert.equal(mend.code, 0, mend.stderr);
    assert.equal(mend.json().outcome, 'reflagged');
    assert.ok(mend.json().flags.new > 0);
    assert.equal(mend.json().flags.decisions_kept, 1);
    assert.equal((await cli('validate', '--root', root)).code, 0);
    const again = await cli('ingest', join(root, 'data/2025-01/aws.csv'), '--source', 'aws', '--root', root, '--json');
    assert.equal(again.json().outcome, 'unchanged');
    // A charge's amount changed by hand: reviewers would decide on a charge that is not the one billed.
    const text = await readFile(path, 'utf8');
    const amount = /\n {6}amount: "([^"]+)"\n/.exec(text)?.[1] as string;
    await writeFile(path, text.replace(`amount: "${amount}"`, 'amount: "0.01"'));
    const v = await cli('validate', '--root', root);
    assert.match(
      v.stderr,
      new RegExp(`shows amount 0\\.01, but its charge in data/2025-01/aws\\.csv is ${amount.replace('.', '\\.')} USD`),
    );
    // And its PI, project, fund/org or service, which tell reviewers whose charge it is.
    const pi = /\n {6}pi_email: ([^\n]+)\n/.exec(text)?.[1] as string;
    await writeFile(path, text.replace(`pi_email: ${pi}\n`, 'pi_email: someone.else@example.edu\n'));
    const who = await cli('validate', '--root', root);
    assert.equal(who.code, 1);
    assert.match(who.stderr, /shows pi_email "someone\.else@example\.edu", but its charge in data\/2025-01\/aws\.csv has /);
    await writeFile(path, text.replace(`amount: "${amount}"`, 'amount: "0.01"'));
    const fixed = await cli(...(await hinted()), '--root', root, '--commit', '--branch', 'mend', '--json');
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal(fixed.json().outcome, 'reflagged');
    assert.equal(await readFile(path, 'utf8'), text, 'the flags as they were before the edit, decisions included');
    assert.match((await git.log()).latest?.message ?? '', /^Flags of AWS 2025-01 written again: \d+ flagged/);
    assert.deepEqual((await git.raw(['show', '--name-only', '--format=', 'HEAD'])).trim().split('\n'), ['periods/2025-01/flags.yaml']);
    assert.equal((await cli('validate', '--root', root)).code, 0);
  });

  it('fails the merge gate for a charge approved by hand with nothing to bill it to', async (t) => {
    const root = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', root)).code, 0);
    const path = join(root, 'periods/2025-01/flags.yaml');
    const text = await readFile(path, 'utf8');
    type Entry = { id: string; charge: Record<string, string | null> };
    const flags = parse(text).flags as Entry[];
    const tagged = (f: Entry) => Boolean(f.charge.pi_email && f.charge.project_id && f.charge.fund_org);
    // Decide them all, as a reviewer does before merging: the untagged ones approved by hand.
    for (const f of flags.filter(tagged)) assert.equal((await cli('review', 'approve', f.id, '--note', 'fine', '--root', root)).code, 0);
    const untagged = flags.filter((f) => !tagged(f)).map((f) => f.id);
    assert.ok(untagged.length > 0);
    let edited = await readFile(path, 'utf8');
    for (const id of untagged) edited = edited.replace(`id: ${id}\n    status: pending\n`, `id: ${id}\n    status: approved\n`);
    await writeFile(path, edited);
    const plain = await cli('validate', '--root', root);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /no usable PI, project or fund\/org and stays? held back/);
    const gate = await cli('validate', '--require-reviewed', '--root', root);
    assert.equal(gate.code, 1);
    assert.match(
      gate.stderr,
      new RegExp(
        `error: periods/2025-01/flags\\.yaml: 2025-01 has ${untagged.length} approved flags? with no usable PI, project or fund/org \\(${untagged[0]}[^)]*\\): their charges stay off statements\\n {2}hint: assign each one: focus-billing review assign <id>`,
      ),
    );
    // Nor can the period be closed so: the charges would stay off statements for good.
    const close = await cli('periods', 'close', '2025-01', '--root', root);
    assert.equal(close.code, 1);
    assert.match(
      close.stderr,
      new RegExp(`^error: period 2025-01 has ${untagged.length} approved flags? with no usable PI, project or fund/org \\(${untagged[0]}`),
    );
  });

  it('bills a charge assigned by hand with spaces around its values to the statement they name, as review assign would', async (t) => {
    const root = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', root)).code, 0);
    const path = join(root, 'periods/2025-01/flags.yaml');
    const untagged = (await flags(root)).find((f) => !f.charge.pi_email);
    assert.ok(untagged);
    const projects = async () => {
      const r = await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', root);
      assert.equal(r.code, 0, r.stderr);
      return r
        .json()
        .statements.filter((s: any) => s.pi_email === 'a.rivera@example.edu')
        .map((s: any) => [s.project_id, s.fund_org, s.charges]);
    };
    const before = await projects();
    assert.deepEqual(before.filter(([p]: string[]) => p === 'genomics-atlas').length, 1);
    const text = await readFile(path, 'utf8');
    await writeFile(
      path,
      text.replace(
        `id: ${untagged.id}\n    status: pending\n`,
        `id: ${untagged.id}\n    status: approved\n    assign:\n      pi_email: " a.rivera@example.edu"\n      project_id: "genomics-atlas "\n      fund_org: " 100100-1000 "\n`,
      ),
    );
    // The same statements, genomics-atlas with one charge more: not a statement of its own for "genomics-atlas ".
    assert.deepEqual(
      await projects(),
      before.map(([p, f, n]: [string, string, number]) => [p, f, p === 'genomics-atlas' ? n + 1 : n]),
    );
  });

  it('review list says what a charge with nothing to bill it to needs, where approving it would be refused', async (t) => {
    const root = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', root)).code, 0);
    const all = await flags(root);
    const untagged = all.filter((f) => !(f.charge.pi_email && f.charge.project_id && f.charge.fund_org));
    assert.ok(untagged.length > 1 && untagged.length < all.length, 'the sample has flags of both kinds');
    const tail = async (...args: string[]) => {
      const r = await cli('review', 'list', '--period', '2025-01', ...args, '--root', root);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trimEnd().split('\n').slice(-2);
    };
    const assign = '`focus-billing review assign <id> --pi … --project … --fund-org …`, then approve; or reject with a note.';
    assert.deepEqual(await tail(), [
      `${all.length} flags. Approve with \`focus-billing review approve <id…> --note "…"\`.`,
      `${untagged.length} of them have no usable PI, project or fund/org: attribute each with ${assign}`,
    ]);
    // Only charges without a PI: approving any is refused, so the list does not offer it.
    const noPi = all.filter((f) => [f.rule, ...(f.also ?? [])].includes('missing_pi_email'));
    assert.ok(noPi.length > 1);
    assert.deepEqual(await tail('--rule', 'missing_pi_email'), [
      `${noPi.length} flags.`,
      `They have no usable PI, project or fund/org: attribute each with ${assign}`,
    ]);
    // Once one is attributed, it can be approved.
    const r = await cli('review', 'assign', noPi[0].id, '--pi', 'a@x.edu', '--project', 'p', '--fund-org', '100100-1000', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await tail('--rule', 'missing_pi_email'), [
      `${noPi.length} flags. Approve with \`focus-billing review approve <id…> --note "…"\`.`,
      `${noPi.length - 1} of them ${noPi.length - 1 === 1 ? 'has' : 'have'} no usable PI, project or fund/org: attribute ${noPi.length - 1 === 1 ? 'it' : 'each'} with ${assign}`,
    ]);
  });

  it('finds flags that no longer match the data, and flagged charges with no flag', async (t) => {
    const root = await scratchRepo(t);
    await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', root);
    const path = join(root, 'periods/2025-01/flags.yaml');
    const text = await readFile(path, 'utf8');
    const id = /id: ([0-9a-f]{16})/.exec(text)?.[1] as string;
    await writeFile(path, text.replace(id, 'ffffffffffffffff'));
    const r = await cli('validate', '--json', '--root', root);
    assert.equal(r.code, 1);
    const messages = r.json().findings.map((f: { message: string }) => f.message);
    assert.ok(
      messages.some((m: string) => m.startsWith('flag ffffffffffffffff (data/2025-01/hpc.csv:545) matches no flagged charge in the data')),
    );
    assert.ok(messages.some((m: string) => m.startsWith('1 flagged charge has no entry in flags.yaml (data/2025-01/hpc.csv)')));
  });
});

describe('an export in parts, in a pull request', () => {
  it('lists each part and totals the source once, over all its parts', async (t) => {
    const root = await scratchRepo(t);
    const lines = (await readFile(join(SAMPLE, 'aws_2025-01.csv'), 'utf8')).trimEnd().split('\n');
    const work = join(root, '..', `${root.split('/').pop()}-parts`);
    await mkdir(work);
    const part1 = join(work, 'p1.csv');
    const part2 = join(work, 'p2.csv');
    await writeFile(part1, `${lines.slice(0, 700).join('\n')}\n`);
    await writeFile(part2, `${[lines[0], ...lines.slice(700)].join('\n')}\n`);
    const r = await cli('ingest', part1, part2, '--source', 'AWS', '--root', root, '--commit', '--json');
    assert.equal(r.code, 0, r.stderr);
    const summary = await cli('pr-summary', '--base', 'main', '--root', root);
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stdout, /\| 2025-01 \| `data\/2025-01\/aws\.part-001\.csv` \| added \| 699 \|/);
    assert.match(summary.stdout, /\| 2025-01 \| `data\/2025-01\/aws\.part-002\.csv` \| added \| 513 \|/);
    // The whole sample file's total, as when it is ingested in one piece.
    assert.match(summary.stdout, /\| 2025-01 \| AWS \| – \| \$29,395\.97 \| \+\$29,395\.97 \|/);
    assert.match(
      (await simpleGit(root).log()).latest?.body ?? '',
      /File: .*p1\.csv → data\/2025-01\/aws\.part-001\.csv\nFile: .*p2\.csv → data\/2025-01\/aws\.part-002\.csv/,
    );
    await removeDir(work);
  });
});
