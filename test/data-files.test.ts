/**
 * Data files git hosts can hold: a large plain CSV export is stored gzip-compressed, the same
 * bytes every time, with what it was made from recorded so it is still the export byte for byte;
 * a file still too large needs Git LFS, which `init --lfs` sets up.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { cli, SAMPLE, scratchRepo, snapshot } from './helpers.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const EXPORT = join(SAMPLE, 'aws_2025-01.csv'); // 764 KB
/** The sample config with data_files settings (in MB). */
async function withSettings(repo: string, settings: string): Promise<void> {
  const config = await readFile(join(repo, 'config.yaml'), 'utf8');
  await writeFile(join(repo, 'config.yaml'), `${config}\ndata_files: ${settings}\n`);
}

describe('a large export', () => {
  it('is stored gzip-compressed, deterministically, and gunzip gives the export back byte for byte', async (t) => {
    const original = await readFile(EXPORT);
    const stored: Buffer[] = [];
    for (let i = 0; i < 2; i++) {
      const repo = await scratchRepo(t);
      await withSettings(repo, '{ compress_above_mb: 0.5 }');
      const r = await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo, '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json().stored_as, 'data/2025-01/aws.csv.gz');
      assert.equal(existsSync(join(repo, 'data/2025-01/aws.csv')), false);
      const gz = await readFile(join(repo, 'data/2025-01/aws.csv.gz'));
      stored.push(gz);
      assert.ok(gz.length < original.length / 5, `${gz.length} bytes`);
      // RFC 1952 header: no file name (FLG 0), no time (MTIME 0), XFL 4 (the fastest level), OS 3 whatever the system.
      assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3]);
      assert.equal(sha(gunzipSync(gz)), sha(original));
      const record = JSON.parse(await readFile(join(repo, 'data/2025-01/aws.csv.gz.original.json'), 'utf8'));
      assert.deepEqual(record.original, { name: 'aws_2025-01.csv', bytes: original.length, sha256: sha(original) });
    }
    assert.ok(stored[0]?.equals(stored[1] as Buffer), 'the same export gives the same bytes');
  });

  it('is recognised when ingested again (a no-op), bills as the plain file would, and is replaced cleanly', async (t) => {
    const plain = await scratchRepo(t);
    const packed = await scratchRepo(t);
    await withSettings(packed, '{ compress_above_mb: 0.5 }');
    for (const repo of [plain, packed]) assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo)).code, 0);
    const again = await cli('ingest', EXPORT, '--source', 'AWS', '--root', packed, '--json');
    assert.equal(again.json().outcome, 'unchanged');
    const totals = async (repo: string) =>
      (await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo)).json().statements;
    assert.deepEqual(await totals(packed), await totals(plain));
    assert.equal((await cli('validate', '--root', packed)).code, 0);

    // A corrected export (one row fewer) replaces it, and its record with it.
    const lines = (await readFile(EXPORT, 'utf8')).trimEnd().split('\n');
    const corrected = join(packed, '..', `corrected-${process.pid}.csv`);
    await writeFile(corrected, `${lines.slice(0, -1).join('\n')}\n`);
    const replaced = await cli('ingest', corrected, '--source', 'AWS', '--root', packed, '--replace', '--json');
    assert.equal(replaced.json().outcome, 'replaced');
    const record = JSON.parse(await readFile(join(packed, 'data/2025-01/aws.csv.gz.original.json'), 'utf8'));
    assert.equal(record.original.sha256, sha(await readFile(corrected)));
    assert.equal(sha(gunzipSync(await readFile(join(packed, 'data/2025-01/aws.csv.gz')))), sha(await readFile(corrected)));
  });

  it('that would still be too large needs Git LFS: refused with the command that sets it up, then taken', async (t) => {
    const repo = await scratchRepo(t);
    await withSettings(repo, '{ compress_above_mb: 0.5, lfs_above_mb: 0.01 }');
    const before = await snapshot(repo);
    const refused = await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /data\/2025-01\/aws\.csv\.gz would be 0 MB even compressed: git hosts refuse files over 100 MB without Git LFS/,
    );
    assert.match(refused.stderr, /hint: run `focus-billing init --lfs`/);
    assert.deepEqual(await snapshot(repo), before, 'nothing written');
    const lfs = await cli('init', repo, '--lfs', '--json');
    assert.equal(lfs.code, 0, lfs.stderr);
    assert.match(await readFile(join(repo, '.gitattributes'), 'utf8'), /^data\/\*\* filter=lfs diff=lfs merge=lfs -text$/m);
    assert.equal((await cli('init', repo, '--lfs', '--json')).json().lfs.gitattributes, false, 'a second time changes nothing');
    assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo)).code, 0);
  });
});

describe('the plain copy of a compressed export', () => {
  const statements = async (repo: string) => {
    const r = await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo);
    assert.equal(r.code, 0, r.stderr);
    return r.json().statements;
  };
  const gzSha = async (repo: string) => sha(await readFile(join(repo, 'data/2025-01/aws.csv.gz')));

  it('is kept by ingest in .cache/data/, named by the stored file, and holds the export byte for byte', async (t) => {
    const repo = await scratchRepo(t);
    await withSettings(repo, '{ compress_above_mb: 0.5 }');
    assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo, '--dry-run')).code, 0);
    assert.equal(existsSync(join(repo, '.cache/data')), false, 'a dry run keeps nothing');
    assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo)).code, 0);
    assert.deepEqual(await readdir(join(repo, '.cache/data')), [`${await gzSha(repo)}.csv`]);
    assert.ok((await readFile(join(repo, '.cache/data', `${await gzSha(repo)}.csv`))).equals(await readFile(EXPORT)));
    assert.deepEqual(await readdir(join(repo, 'data/2025-01')), ['aws.csv.gz', 'aws.csv.gz.original.json'], 'nothing staged is left');
    const doctor = (await cli('doctor', '--json', '--root', repo)).json();
    const cacheCheck = doctor.checks.find((c: { name: string }) => c.name === '.cache/');
    const mb = ((await readFile(EXPORT)).length / 1e6).toFixed(1);
    assert.match(cacheCheck.detail, new RegExp(`; 1 plain copy of compressed exports in \\.cache/data/, ${mb.replace('.', '\\.')} MB`));

    // A copy that cannot be kept (here .cache/data is a file) costs only time: the export is stored.
    const blocked = await scratchRepo(t);
    await withSettings(blocked, '{ compress_above_mb: 0.5 }');
    await mkdir(join(blocked, '.cache'), { recursive: true });
    await writeFile(join(blocked, '.cache/data'), 'not a folder');
    const stored = await cli('ingest', EXPORT, '--source', 'AWS', '--root', blocked, '--json');
    assert.equal(stored.code, 0, stored.stderr);
    assert.deepEqual(await readdir(join(blocked, 'data/2025-01')), ['aws.csv.gz', 'aws.csv.gz.original.json']);
    assert.deepEqual(await statements(blocked), await statements(repo));

    const off = await scratchRepo(t);
    await withSettings(off, '{ compress_above_mb: 0.5, plain_copy: false }');
    assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', off)).code, 0);
    assert.equal(existsSync(join(off, '.cache/data')), false, 'plain_copy: false keeps none');
    assert.deepEqual(await statements(off), await statements(repo));
  });

  it('is what the report reads, only for the stored file it was made from, and messages name the stored file', async (t) => {
    const repo = await scratchRepo(t);
    await withSettings(repo, '{ compress_above_mb: 0.5 }');
    assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo)).code, 0);
    const billed = await statements(repo);
    const copy = join(repo, '.cache/data', `${await gzSha(repo)}.csv`);
    const lines = (await readFile(EXPORT, 'utf8')).split('\n');
    const header = (lines[0] as string).split(',');
    const cost = header.indexOf('BilledCost');

    // A copy that says otherwise (made here by hand) is what a report then shows: the copy is read.
    const cells = (lines[1] as string).split(',');
    cells[cost] = String(Number(cells[cost]) + 1000);
    await writeFile(copy, [lines[0], cells.join(','), ...lines.slice(2)].join('\n'));
    await rm(join(repo, '.cache/report'), { recursive: true, force: true });
    assert.notDeepEqual(await statements(repo), billed);

    // A bad amount in it is reported at its line of the stored file's name.
    cells[cost] = 'twelve';
    await writeFile(copy, [lines[0], cells.join(','), ...lines.slice(2)].join('\n'));
    await rm(join(repo, '.cache/report'), { recursive: true, force: true });
    const refused = await cli('generate', '--period', '2025-01', '--dry-run', '--root', repo);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /data\/2025-01\/aws\.csv\.gz/);
    assert.doesNotMatch(refused.stderr, /\.cache/);

    // Without it, the stored file is read; a replaced export never reads the old copy.
    await rm(join(repo, '.cache'), { recursive: true, force: true });
    assert.deepEqual(await statements(repo), billed);
    const corrected = join(repo, '..', `corrected-plain-${process.pid}.csv`);
    await writeFile(corrected, lines.filter((_, i) => i !== 1).join('\n'));
    t.after(() => rm(corrected, { force: true }));
    assert.equal((await cli('ingest', corrected, '--source', 'AWS', '--root', repo, '--replace')).code, 0);
    await writeFile(copy, [lines[0], cells.join(','), ...lines.slice(2)].join('\n')); // the old name, bad again
    const plain = await scratchRepo(t);
    assert.equal((await cli('ingest', corrected, '--source', 'AWS', '--root', plain)).code, 0);
    assert.deepEqual(await statements(repo), await statements(plain));
  });
});
