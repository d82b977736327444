/**
 * `remove`: an export ingested under the wrong source or into the wrong month comes out with the
 * charges it held for review, and nothing else; a file git holds no copy of stays unless --force.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleGit } from 'simple-git';
import { parse } from 'yaml';
import { cli, SAMPLE, scratchRepo, snapshot } from './helpers.ts';

const NOW = '2026-02-03T10:00:00Z';
before(() => {
  process.env.OCB_NOW = NOW;
});
after(() => {
  delete process.env.OCB_NOW;
});

type FlagEntry = { id: string; source: string; status: string };
const flagsOf = async (root: string): Promise<FlagEntry[]> => parse(await readFile(join(root, 'periods/2025-01/flags.yaml'), 'utf8')).flags;

/** A repository with January's AWS export, and the Azure one ingested as GCP by mistake, committed. */
async function mistaken(t: Parameters<typeof scratchRepo>[0]): Promise<string> {
  const root = await scratchRepo(t);
  for (const [file, source] of [
    ['aws_2025-01.csv', 'AWS'],
    ['azure_2025-01.csv', 'GCP'],
  ] as const) {
    const r = await cli('ingest', join(SAMPLE, file), '--source', source, '--root', root);
    assert.equal(r.code, 0, r.stderr);
  }
  const git = simpleGit(root);
  await git.add('.');
  await git.commit('January, with Azure ingested as GCP');
  return root;
}

describe('removing a stored export', () => {
  it('takes out its files and its flags, decisions included, and the right source can then be ingested', async (t) => {
    const root = await mistaken(t);
    const before = await flagsOf(root);
    const gcp = before.filter((f) => f.source === 'gcp');
    assert.ok(gcp.length > 0, 'the mistaken export held charges');
    const decided = await cli('review', 'reject', gcp[0]?.id as string, '--note', 'not ours', '--root', root);
    assert.equal(decided.code, 0, decided.stderr);
    // A reviewer's comment, and the other flags, stay byte for byte: the diff is the GCP flags' lines alone.
    const path = join(root, 'periods/2025-01/flags.yaml');
    const text = (await readFile(path, 'utf8')).replace('flags:\n', 'flags:\n  # AWS GPU flags: ask Dr Nguyen (ticket 4411)\n');
    await writeFile(path, text);
    await simpleGit(root).commit('a decision and a comment', ['.']);
    const items = text.split(/(?=^ {2}- id: )/m);
    const expected = items.filter((item) => !item.includes('\n    source: gcp\n')).join('');
    assert.ok(expected.length < text.length && items.length > 2);
    const kept = await readFile(join(root, 'data/2025-01/aws.csv'));

    const dry = await cli('remove', '--period', '2025-01', '--source', 'gcp', '--dry-run', '--root', root, '--json');
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(dry.json(), {
      outcome: 'dry-run',
      period: '2025-01',
      source: 'GCP',
      files: ['data/2025-01/gcp.csv'],
      flags: { removed: gcp.length, pending: gcp.length - 1, decided: 1 },
    });
    assert.ok(existsSync(join(root, 'data/2025-01/gcp.csv')), 'a dry run removes nothing');

    const r = await cli('remove', '--period', '2025-01', '--source', 'GCP', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `Removed the GCP export of 2025-01:\n  data/2025-01/gcp.csv\n  ${gcp.length} flags from periods/2025-01/flags.yaml (1 with a decision, note or assignment)\n`,
    );
    assert.equal(existsSync(join(root, 'data/2025-01/gcp.csv')), false);
    assert.equal(await readFile(path, 'utf8'), expected, "the other sources' flags and the comment are as they were");
    assert.deepEqual(
      await flagsOf(root),
      before.filter((f) => f.source !== 'gcp'),
    );
    assert.ok(kept.equals(await readFile(join(root, 'data/2025-01/aws.csv'))), 'the AWS export is untouched');
    assert.equal((await cli('validate', '--root', root)).code, 0);

    const right = await cli('ingest', join(SAMPLE, 'azure_2025-01.csv'), '--source', 'Azure', '--root', root);
    assert.equal(right.code, 0, right.stderr);
  });

  it('refuses a file git holds no copy of, unless --force, and removes nothing', async (t) => {
    const root = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', root)).code, 0);
    const was = await snapshot(root);
    const r = await cli('remove', '--period', '2025-01', '--source', 'HPC', '--root', root);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^error: data\/2025-01\/hpc\.csv is not committed as it is: git keeps no copy, so removing it would lose it\n {2}hint: commit it first, or pass --force/,
    );
    assert.deepEqual(await snapshot(root), was);
    const forced = await cli('remove', '--period', '2025-01', '--source', 'HPC', '--force', '--root', root, '--json');
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(forced.json().files, ['data/2025-01/hpc.csv']);
    assert.equal(existsSync(join(root, 'data/2025-01/hpc.csv')), false);
  });

  it("removes a compressed export's record with it, and keeps flags.yaml's Windows line breaks", async (t) => {
    const root = await scratchRepo(t);
    const config = await readFile(join(root, 'config.yaml'), 'utf8');
    await writeFile(join(root, 'config.yaml'), `${config}\ndata_files: { compress_above_mb: 0.5 }\n`);
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'GCP', '--root', root)).code, 0);
    assert.equal((await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', root)).code, 0);
    const path = join(root, 'periods/2025-01/flags.yaml');
    await writeFile(path, (await readFile(path, 'utf8')).replace(/\n/g, '\r\n'));
    const r = await cli('remove', '--period', '2025-01', '--source', 'GCP', '--force', '--root', root, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json().files, ['data/2025-01/gcp.csv.gz', 'data/2025-01/gcp.csv.gz.original.json']);
    const text = await readFile(path, 'utf8');
    assert.equal(text.split('\r\n').length, text.split('\n').length, 'every line break is \\r\\n');
    assert.deepEqual(
      (parse(text).flags as FlagEntry[]).map((f) => f.source),
      ['hpc'],
    );
  });

  it('commits the removal alone on a branch of its own, and refuses to commit other changes with it', async (t) => {
    const root = await mistaken(t);
    const git = simpleGit(root);
    const path = join(root, 'periods/2025-01/flags.yaml');
    const committed = await readFile(path, 'utf8');
    await writeFile(path, `${committed}# a reviewer's note, not yet committed\n`);
    const refused = await cli('remove', '--period', '2025-01', '--source', 'GCP', '--commit', '--root', root);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^error: periods\/2025-01\/flags\.yaml has changes that are not committed, which a commit of the removal would carry unsaid/,
    );
    assert.ok(existsSync(join(root, 'data/2025-01/gcp.csv')), 'nothing removed');
    await writeFile(path, committed);

    await writeFile(join(root, 'README.txt'), 'not part of the removal\n');
    const r = await cli('remove', '--period', '2025-01', '--source', 'GCP', '--commit', '--root', root, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().committed.branch, 'remove/2025-01-gcp');
    assert.equal((await git.branchLocal()).current, 'remove/2025-01-gcp');
    assert.match((await git.log()).latest?.message ?? '', /^Remove GCP 2025-01: data\/2025-01\/gcp\.csv$/);
    const changed = (await git.raw(['show', '--name-status', '--format=', 'HEAD'])).trim().split('\n');
    assert.deepEqual(changed, ['D\tdata/2025-01/gcp.csv', 'M\tperiods/2025-01/flags.yaml']);
    assert.deepEqual((await git.status()).not_added, ['README.txt'], 'the rest of the working tree is left as it was');
    // The pull request's summary shows the file removed with the rows it held, and GCP's total gone.
    const summary = await cli('pr-summary', '--base', 'main', '--root', root, '--json');
    assert.equal(summary.code, 0, summary.stderr);
    assert.deepEqual(summary.json().data_files, [{ path: 'data/2025-01/gcp.csv', change: 'removed', period: '2025-01', rows: 520 }]);
  });

  it("removes a month's only export as if it had never been ingested, and a folder left with a .DS_Store is no period", async (t) => {
    const root = await scratchRepo(t);
    const was = await snapshot(root);
    // Into the wrong month by a mistyped --period: every row flagged period_mismatch.
    const r = await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--period', '2025-10', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    const git = simpleGit(root);
    await git.add('.');
    await git.commit('October, by mistake');
    const removed = await cli('remove', '--period', '2025-10', '--source', 'HPC', '--commit', '--root', root, '--json');
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.json().flags.removed, 544);
    assert.deepEqual(await snapshot(root), was);
    assert.equal(existsSync(join(root, 'data/2025-10')) || existsSync(join(root, 'periods/2025-10')), false, 'no folder left');
    assert.deepEqual((await git.raw(['show', '--name-status', '--format=', 'HEAD'])).trim().split('\n'), [
      'D\tdata/2025-10/hpc.csv',
      'D\tperiods/2025-10/flags.yaml',
    ]);

    assert.equal((await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', root)).code, 0);
    await mkdir(join(root, 'data/2025-10'));
    await writeFile(join(root, 'data/2025-10/.DS_Store'), 'Bud1');
    const listed = await cli('periods', 'list', '--root', root, '--json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.json().periods.map((p: { period: string }) => p.period),
      ['2025-01'],
    );
    assert.equal((await cli('validate', '--root', root)).code, 0);
  });

  it('takes out the flags an export left behind when it was removed with git rm, as validate says', async (t) => {
    const root = await mistaken(t);
    const git = simpleGit(root);
    await git.rm('data/2025-01/gcp.csv');
    const v = await cli('validate', '--root', root);
    assert.equal(v.code, 1);
    assert.match(
      v.stderr,
      /error: periods\/2025-01\/flags\.yaml: flag [0-9a-f]{16} \(data\/2025-01\/gcp\.csv:\d+\) is of source gcp, which has no export stored in 2025-01\n {2}hint: take the flags out with `focus-billing remove --period 2025-01 --source gcp`/,
    );
    const r = await cli('remove', '--period', '2025-01', '--source', 'gcp', '--commit', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^Removed the flags of GCP in 2025-01, whose export is no longer stored:\n {2}2 flags from periods\/2025-01\/flags\.yaml\n/,
    );
    assert.match((await git.log()).latest?.message ?? '', /^Remove GCP 2025-01: its flags \(2\), whose export is no longer stored$/);
    assert.equal((await cli('validate', '--root', root)).code, 0);
    const again = await cli('remove', '--period', '2025-01', '--source', 'gcp', '--root', root);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^error: no GCP export is stored for 2025-01 \(nothing under data\/2025-01\/gcp\.\*\), and no flag of it/);
  });

  it("takes out the record and flags a month's only compressed export left when it was removed with git rm", async (t) => {
    const root = await scratchRepo(t);
    const was = await snapshot(root);
    const config = await readFile(join(root, 'config.yaml'), 'utf8');
    await writeFile(join(root, 'config.yaml'), `${config}\ndata_files: { compress_above_mb: 0.1 }\n`);
    const i = await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--period', '2025-10', '--root', root);
    assert.equal(i.code, 0, i.stderr);
    const git = simpleGit(root);
    await git.add('.');
    await git.commit('October, by mistake');
    await git.rm('data/2025-10/aws.csv.gz');
    await git.commit('not October');
    const v = await cli('validate', '--root', root);
    assert.equal(v.code, 1);
    assert.match(
      v.stderr,
      /^warning: data\/2025-10\/aws\.csv\.gz\.original\.json: the record of data\/2025-10\/aws\.csv\.gz, which is no longer stored: it bills nothing\n {2}hint: take it out with `focus-billing remove --period 2025-10 --source aws` \(it takes that source's flags too\), or git rm it\nerror: periods\/2025-10\/flags\.yaml: it holds 1,212 flags of aws, but data\/2025-10\/ holds no export\n {2}hint: take them out with `focus-billing remove --period 2025-10 --source aws`, or ingest the exports again\n/,
    );
    const r = await cli('remove', '--period', '2025-10', '--source', 'aws', '--commit', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^Removed what is left of the AWS export of 2025-10, which is no longer stored:\n {2}data\/2025-10\/aws\.csv\.gz\.original\.json\n {2}1,212 flags from periods\/2025-10\/flags\.yaml\n/,
    );
    assert.deepEqual((await git.raw(['show', '--name-status', '--format=', 'HEAD'])).trim().split('\n'), [
      'D\tdata/2025-10/aws.csv.gz.original.json',
      'D\tperiods/2025-10/flags.yaml',
    ]);
    await writeFile(join(root, 'config.yaml'), config);
    assert.deepEqual(await snapshot(root), was, 'the repository as before the ingest');
    assert.equal((await cli('validate', '--root', root)).code, 0);
  });

  it('refuses a closed period, a source with nothing stored, and a month that is not one', async (t) => {
    const root = await mistaken(t);
    const was = await snapshot(root);
    const none = await cli('remove', '--period', '2025-01', '--source', 'Storage', '--root', root);
    assert.equal(none.code, 2);
    assert.match(
      none.stderr,
      /^error: no Storage export is stored for 2025-01 \(nothing under data\/2025-01\/storage\.\*\), and no flag of it/,
    );
    const unknown = await cli('remove', '--period', '2025-01', '--source', 'Oracle', '--root', root);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown source "Oracle": expected one of/);
    const month = await cli('remove', '--period', '2025-13', '--source', 'AWS', '--root', root);
    assert.equal(month.code, 2);
    assert.match(month.stderr, /^error: --period "2025-13": expected a month/);
    assert.deepEqual(await snapshot(root), was, 'nothing removed');

    for (const f of (await flagsOf(root)).filter((f) => f.source === 'aws'))
      await cli('review', 'reject', f.id, '--note', 'x', '--root', root);
    await cli('remove', '--period', '2025-01', '--source', 'GCP', '--root', root);
    const git = simpleGit(root);
    await git.add('.');
    await git.commit('decided');
    const close = await cli('periods', 'close', '2025-01', '--by', 'office@x.edu', '--root', root);
    assert.equal(close.code, 0, close.stderr);
    await git.add('.');
    await git.commit('closed');
    const closed = await cli('remove', '--period', '2025-01', '--source', 'AWS', '--root', root);
    assert.equal(closed.code, 2);
    assert.match(closed.stderr, /^error: period 2025-01 is closed .*: cannot remove an export from it/);
    assert.ok(existsSync(join(root, 'data/2025-01/aws.csv')));
  });
});
