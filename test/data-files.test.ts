/**
 * Data files git hosts can hold: a large plain CSV export is stored gzip-compressed, the same
 * bytes every time, with what it was made from recorded so it is still the export byte for byte;
 * a file still too large needs Git LFS, which `init --lfs` sets up.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
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
