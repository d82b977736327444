/**
 * Data files git hosts can hold: a large plain CSV export is stored gzip-compressed, the same
 * bytes every time, with what it was made from recorded so it is still the export byte for byte;
 * a file still too large needs Git LFS, which `init --lfs` sets up.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { copyStamp, keepPlainCopy, pruneCopies } from '../src/repo/plain-copy.ts';
import { checkedMarker } from '../src/report/period-report.ts';
import { cli, SAMPLE, scratch, scratchRepo, snapshot } from './helpers.ts';

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
    // A dry run counts what it would store compressed, and refuses as the ingest does, size and all.
    const dryRun = await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo, '--dry-run');
    const refused = await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /data\/2025-01\/aws\.csv\.gz would be \d{2,3} KB even compressed, more than data_files\.lfs_above_mb \(0\.01 MB\): git hosts refuse files over 100 MB without Git LFS/,
    );
    assert.match(refused.stderr, /hint: run `focus-billing init --lfs`/);
    assert.deepEqual([dryRun.code, dryRun.stderr], [2, refused.stderr]);
    assert.deepEqual(await snapshot(repo), before, 'nothing written');
    const lfs = await cli('init', repo, '--lfs');
    assert.equal(lfs.code, 0, lfs.stderr);
    // The repository had its .gitattributes (line endings): --lfs changed it, and says so.
    assert.match(lfs.stdout, /^Updated in \S+:\n {2}\.gitattributes \(data\/ in Git LFS\)\n/);
    assert.match(await readFile(join(repo, '.gitattributes'), 'utf8'), /^data\/\*\* filter=lfs diff=lfs merge=lfs -text$/m);
    assert.equal((await cli('init', repo, '--lfs', '--json')).json().lfs.gitattributes, false, 'a second time changes nothing');
    assert.match((await cli('init', repo, '--lfs')).stdout, /^\S+ is already set up; nothing to create\.\n/);
    assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo)).code, 0);
  });

  it('is compressed when data/ is missing too (it was stored as its plain bytes under the .csv.gz name)', async (t) => {
    const repo = await scratchRepo(t);
    await withSettings(repo, '{ compress_above_mb: 0.5 }');
    await rm(join(repo, 'data'), { recursive: true });
    // Refused after its copy began (a row with a bad date at the end): no data/ is left behind.
    const bad = join(await scratch(t), 'bad.csv');
    const text = await readFile(EXPORT, 'utf8');
    const last = text.trimEnd().split('\n').at(-1) as string;
    await writeFile(bad, `${text}${last.replace(/2025-01-01/g, '2025-13-01')}\n`);
    const refused = await cli('ingest', bad, '--source', 'AWS', '--root', repo);
    assert.equal(refused.code, 2, refused.stdout);
    assert.equal(existsSync(join(repo, 'data')), false, 'no data/ left behind');

    const r = await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().stored_as, 'data/2025-01/aws.csv.gz');
    const gz = await readFile(join(repo, 'data/2025-01/aws.csv.gz'));
    assert.equal(sha(gunzipSync(gz)), sha(await readFile(EXPORT)));
    assert.ok(existsSync(join(repo, 'data/2025-01/aws.csv.gz.original.json')));
  });

  it('stored as delivered over the LFS threshold is refused by --dry-run too, as the ingest would be', async (t) => {
    const repo = await scratchRepo(t);
    await withSettings(repo, '{ compress_above_mb: 100, lfs_above_mb: 0.01 }');
    const before = await snapshot(repo);
    for (const dryRun of [['--dry-run'], []]) {
      const refused = await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo, ...dryRun);
      assert.equal(refused.code, 2, `${dryRun.join('')} ${refused.stdout}`);
      assert.match(
        refused.stderr,
        /data\/2025-01\/aws\.csv would be 747 KB, more than data_files\.lfs_above_mb \(0\.01 MB\): git hosts refuse files over 100 MB without Git LFS/,
      );
    }
    assert.deepEqual(await snapshot(repo), before, 'nothing written');
  });
});

describe('the plain copy of a compressed export', () => {
  const statements = async (repo: string) => {
    const r = await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo);
    assert.equal(r.code, 0, r.stderr);
    return r.json().statements;
  };
  const gzSha = async (repo: string) => sha(await readFile(join(repo, 'data/2025-01/aws.csv.gz')));
  const copyOf = async (repo: string) => join(repo, '.cache/data', `${await gzSha(repo)}.csv`);
  /** The export in a folder of the test's own: the copy may be a hard link to it, and is written through here. */
  const ownExport = async (t: Parameters<typeof scratch>[0]) => {
    const path = join(await scratch(t), 'aws-export.csv');
    await copyFile(EXPORT, path);
    return path;
  };
  /** A repository that stores the 764 KB export compressed, with it ingested. */
  const ingested = async (t: Parameters<typeof scratch>[0], from: string) => {
    const repo = await scratchRepo(t);
    await withSettings(repo, '{ compress_above_mb: 0.5 }');
    const r = await cli('ingest', from, '--source', 'AWS', '--root', repo);
    assert.equal(r.code, 0, r.stderr);
    return repo;
  };

  it('is kept by ingest in .cache/data/, named by the stored file, and holds the export byte for byte', async (t) => {
    const exported = await ownExport(t);
    const repo = await scratchRepo(t);
    await withSettings(repo, '{ compress_above_mb: 0.5 }');
    assert.equal((await cli('ingest', exported, '--source', 'AWS', '--root', repo, '--dry-run')).code, 0);
    assert.equal(existsSync(join(repo, '.cache/data')), false, 'a dry run keeps nothing');
    assert.equal((await cli('ingest', exported, '--source', 'AWS', '--root', repo)).code, 0);
    const name = `${await gzSha(repo)}.csv`;
    assert.deepEqual((await readdir(join(repo, '.cache/data'))).sort(), [name, `${name}.stamp`]);
    assert.ok((await readFile(await copyOf(repo))).equals(await readFile(EXPORT)));
    assert.deepEqual(await readdir(join(repo, 'data/2025-01')), ['aws.csv.gz', 'aws.csv.gz.original.json'], 'nothing staged is left');
    // Ingest remembers what it stored (the first read of the month hashes nothing).
    const remembered = await readdir(join(repo, '.cache/hashes'));
    assert.equal(remembered.length, 1);
    assert.equal(await readFile(join(repo, '.cache/hashes', remembered[0] as string), 'utf8'), await gzSha(repo));
    // On the same file system it is a hard link to the export: no second copy of the bytes.
    const [copy, original] = await Promise.all([stat(await copyOf(repo)), stat(exported)]);
    assert.equal(copy.ino, original.ino);
    assert.equal(copy.nlink, 2);
    const detail = async (root: string) =>
      (await cli('doctor', '--json', '--root', root)).json().checks.find((c: { name: string }) => c.name === '.cache/').detail;
    assert.match(
      await detail(repo),
      /; 1 plain copy of compressed exports in \.cache\/data\/, 0\.0 MB of their own, 1 of them hard links to the export/,
    );

    // Named through a symbolic link, the export is copied instead (a link to a link would resolve elsewhere).
    const viaSymlink = join(await scratch(t), 'export-link.csv');
    await symlink(exported, viaSymlink);
    const copied = await ingested(t, viaSymlink);
    const own = await stat(await copyOf(copied));
    assert.equal(own.nlink, 1);
    assert.notEqual(own.ino, original.ino);
    assert.ok((await readFile(await copyOf(copied))).equals(await readFile(EXPORT)));
    const mb = ((await readFile(EXPORT)).length / 1e6).toFixed(1);
    assert.match(
      await detail(copied),
      new RegExp(`; 1 plain copy of compressed exports in \\.cache/data/, ${mb.replace('.', '\\.')} MB \\(`),
    );

    // A copy that cannot be kept (here .cache/data is a file) costs only time: the export is stored.
    const blocked = await scratchRepo(t);
    await withSettings(blocked, '{ compress_above_mb: 0.5 }');
    await mkdir(join(blocked, '.cache'), { recursive: true });
    await writeFile(join(blocked, '.cache/data'), 'not a folder');
    const stored = await cli('ingest', exported, '--source', 'AWS', '--root', blocked, '--json');
    assert.equal(stored.code, 0, stored.stderr);
    assert.deepEqual(await readdir(join(blocked, 'data/2025-01')), ['aws.csv.gz', 'aws.csv.gz.original.json']);
    assert.deepEqual(await statements(blocked), await statements(repo));
    assert.equal((await stat(exported)).nlink, 2, 'the link staged for the blocked repository is gone');

    const off = await scratchRepo(t);
    await withSettings(off, '{ compress_above_mb: 0.5, plain_copy: false }');
    assert.equal((await cli('ingest', exported, '--source', 'AWS', '--root', off)).code, 0);
    assert.equal(existsSync(join(off, '.cache/data')), false, 'plain_copy: false keeps none');
    assert.deepEqual(await statements(off), await statements(repo));
  });

  it('is read only while unchanged: an export written through its other name is read from the .csv.gz, and keeps its time', async (t) => {
    const exported = await ownExport(t);
    const repo = await ingested(t, exported);
    const billed = await statements(repo);
    const copy = await copyOf(repo);
    const time = (await stat(exported, { bigint: true })).mtimeNs;
    await rm(join(repo, '.cache/report'), { recursive: true, force: true });
    assert.deepEqual(await statements(repo), billed);
    assert.equal((await stat(exported, { bigint: true })).mtimeNs, time, 'using the copy never touches the export');
    assert.ok(existsSync(copy), 'an unchanged copy is kept');

    // The export edited in place, to the same size: its copy is no longer what was stored.
    const bytes = await readFile(exported);
    const digit = bytes.indexOf('0.', bytes.indexOf('\n')) + 2; // a digit of the first row's first amount
    bytes[digit] = bytes[digit] === 0x39 ? 0x38 : 0x39;
    await writeFile(exported, bytes);
    await rm(join(repo, '.cache/report'), { recursive: true, force: true });
    assert.deepEqual(await statements(repo), billed, 'the stored file is read');
    assert.equal(existsSync(copy), false, 'the changed copy is forgotten');
    assert.ok((await readFile(exported)).equals(bytes), 'the export itself stays as its owner left it');

    // A changed copy that cannot be forgotten (here its stamp's name is taken by a folder) is
    // still never read, and the report goes on from the stored file.
    const stuck = await ingested(t, await ownExport(t));
    const stuckCopy = await copyOf(stuck);
    await rm(`${stuckCopy}.stamp`);
    await mkdir(`${stuckCopy}.stamp`);
    assert.deepEqual(await statements(stuck), billed);
    assert.equal(existsSync(stuckCopy), false);

    // The export deleted after ingest: the copy (now the file's only name) is still read.
    const gone = await ownExport(t);
    const kept = await ingested(t, gone);
    await rm(gone);
    assert.deepEqual(await statements(kept), billed);
    assert.equal((await stat(await copyOf(kept))).nlink, 1);
  });

  it('is what the report reads, only for the stored file it was made from, and messages name the stored file', async (t) => {
    const repo = await ingested(t, await ownExport(t));
    const billed = await statements(repo);
    const copy = await copyOf(repo);
    const lines = (await readFile(EXPORT, 'utf8')).split('\n');
    const header = (lines[0] as string).split(',');
    const cost = header.indexOf('BilledCost');
    /** Writes the copy by hand, with a stamp that matches it, as if ingest had made it so. */
    const forge = async (text: string) => {
      await writeFile(copy, text);
      await writeFile(`${copy}.stamp`, copyStamp(await stat(copy, { bigint: true })));
      await rm(join(repo, '.cache/report'), { recursive: true, force: true });
    };

    // A copy that says otherwise is what a report then shows: the copy is read.
    const cells = (lines[1] as string).split(',');
    cells[cost] = String(Number(cells[cost]) + 1000);
    await forge([lines[0], cells.join(','), ...lines.slice(2)].join('\n'));
    assert.notDeepEqual(await statements(repo), billed);

    // A bad amount in it is reported at its line of the stored file's name.
    cells[cost] = 'twelve';
    await forge([lines[0], cells.join(','), ...lines.slice(2)].join('\n'));
    const refused = await cli('generate', '--period', '2025-01', '--dry-run', '--root', repo);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /data\/2025-01\/aws\.csv\.gz/);
    assert.doesNotMatch(refused.stderr, /\.cache/);

    // Without it, the stored file is read; a replaced export never reads the old copy.
    await rm(join(repo, '.cache'), { recursive: true, force: true });
    assert.deepEqual(await statements(repo), billed);
    const corrected = join(await scratch(t), 'corrected.csv');
    await writeFile(corrected, lines.filter((_, i) => i !== 1).join('\n'));
    assert.equal((await cli('ingest', corrected, '--source', 'AWS', '--root', repo, '--replace')).code, 0);
    await mkdir(dirname(copy), { recursive: true });
    await writeFile(copy, [lines[0], cells.join(','), ...lines.slice(2)].join('\n')); // the old name, bad again
    await writeFile(`${copy}.stamp`, copyStamp(await stat(copy, { bigint: true })));
    const plain = await scratchRepo(t);
    assert.equal((await cli('ingest', corrected, '--source', 'AWS', '--root', plain)).code, 0);
    assert.deepEqual(await statements(repo), await statements(plain));
  });

  it('is kept for a large .csv.gz stored as delivered, from the bytes the scan inflates; reads and flags agree', async (t) => {
    const gz = join(await scratch(t), 'aws-export.csv.gz');
    await writeFile(gz, gzipSync(await readFile(EXPORT)));
    const plain = await scratchRepo(t);
    assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', plain)).code, 0);
    const repo = await scratchRepo(t);
    await withSettings(repo, '{ compress_above_mb: 0.5 }');
    assert.equal((await cli('ingest', gz, '--source', 'AWS', '--root', repo, '--dry-run')).code, 0);
    assert.equal(existsSync(join(repo, '.cache/data')), false, 'a dry run keeps nothing');
    const r = await cli('ingest', gz, '--source', 'AWS', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await readFile(join(repo, 'data/2025-01/aws.csv.gz'))).equals(await readFile(gz)), 'stored as delivered');
    const name = `${await gzSha(repo)}.csv`;
    assert.deepEqual((await readdir(join(repo, '.cache/data'))).sort(), [name, `${name}.stamp`]);
    assert.ok((await readFile(await copyOf(repo))).equals(await readFile(EXPORT)), 'the export inflated, byte for byte');
    assert.deepEqual(await readdir(join(repo, 'data/2025-01')), ['aws.csv.gz'], 'nothing staged is left');
    // The held rows were located through the copy: the same flags, lines and all, as from the plain file.
    const flags = async (root: string) =>
      (await readFile(join(root, 'periods/2025-01/flags.yaml'), 'utf8')).replaceAll('data/2025-01/aws.csv.gz', 'data/2025-01/aws.csv');
    assert.equal(await flags(repo), await flags(plain));
    assert.match(await flags(repo), /line: \d+/);
    assert.deepEqual(await statements(repo), await statements(plain));

    // Small (under compress_above_mb once inflated), or with plain_copy off: no copy.
    for (const settings of ['{ compress_above_mb: 50 }', '{ compress_above_mb: 0.5, plain_copy: false }']) {
      const other = await scratchRepo(t);
      await withSettings(other, settings);
      assert.equal((await cli('ingest', gz, '--source', 'AWS', '--root', other)).code, 0);
      assert.equal(existsSync(join(other, '.cache/data')), false, settings);
    }

    // A refused export leaves no copy and nothing staged.
    const lines = (await readFile(EXPORT, 'utf8')).split('\n');
    const cells = (lines[5] as string).split(',');
    cells[(lines[0] as string).split(',').indexOf('BilledCost')] = 'twelve';
    lines[5] = cells.join(',');
    const bad = join(await scratch(t), 'bad.csv.gz');
    await writeFile(bad, gzipSync(lines.join('\n')));
    const refusing = await scratchRepo(t);
    await withSettings(refusing, '{ compress_above_mb: 0.5 }');
    const refused = await cli('ingest', bad, '--source', 'AWS', '--root', refusing);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /bad\.csv\.gz:6:/);
    assert.deepEqual(await readdir(join(refusing, 'data')), ['.gitkeep'], 'nothing staged is left');
    assert.deepEqual(await readdir(join(refusing, '.cache/data')).catch(() => []), []);
  });

  it('sweeps its folder at most hourly in one process, however many months are read', async (t) => {
    const root = await scratch(t);
    const dir = join(root, '.cache', 'data');
    await mkdir(dir, { recursive: true });
    const stale = async (c: string) => {
      const p = join(dir, `${c.repeat(64)}.csv`);
      await writeFile(p, 'x');
      await writeFile(`${p}.stamp`, copyStamp(await stat(p, { bigint: true })));
      const old = new Date(Date.now() - 40 * 86_400_000);
      await utimes(`${p}.stamp`, old, old);
      return basename(p);
    };
    /** Keeps a copy of a stored file made up here, as ingest does. */
    const keep = async (c: string) => {
      const made = join(root, `made-${c}.csv`);
      await writeFile(made, 'plain');
      const stored = join(root, `stored-${c}.csv.gz`);
      await writeFile(stored, gzipSync('plain'));
      await keepPlainCopy(root, { path: made, stamp: copyStamp(await stat(made, { bigint: true })) }, stored, c.repeat(64));
      return `${c.repeat(64)}.csv`;
    };
    const first = await stale('1');
    const a = await keep('a');
    assert.equal((await readdir(dir)).includes(first), false, 'the first use sweeps');
    const second = await stale('2');
    const b = await keep('b');
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.csv')).sort(),
      [second, a, b].sort(),
      'the next within the hour does not',
    );
    await pruneCopies(dir, []);
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.csv')).sort(), [a, b].sort());
  });

  it('is forgotten 30 days after its last use, and never kept without its stamp', async (t) => {
    const dir = await scratch(t);
    const a = join(dir, `${'a'.repeat(64)}.csv`);
    const b = join(dir, `${'b'.repeat(64)}.csv`);
    const c = join(dir, `${'c'.repeat(64)}.csv`);
    for (const p of [a, b, c]) await writeFile(p, 'x');
    for (const p of [a, b]) await writeFile(`${p}.stamp`, copyStamp(await stat(p, { bigint: true })));
    await writeFile(join(dir, 'notes.txt'), 'not a copy');
    const now = new Date();
    await pruneCopies(dir, [a], now);
    assert.deepEqual((await readdir(dir)).sort(), [basename(a), `${basename(a)}.stamp`, basename(b), `${basename(b)}.stamp`, 'notes.txt']);
    const later = new Date(now.getTime() + 31 * 86_400_000);
    await pruneCopies(dir, [b], later);
    assert.deepEqual((await readdir(dir)).sort(), [basename(b), `${basename(b)}.stamp`, 'notes.txt']);
  });
});

describe('one export under two sources', () => {
  it('is refused by ingest in every form it can be stored in, and by validate and generate when committed by hand', async (t) => {
    const original = await readFile(EXPORT);
    const dir = await scratch(t);
    const gz = join(dir, 'aws-export.csv.gz');
    await writeFile(gz, gzipSync(original, { level: 9 })); // other bytes than the stored file's
    // Two gzip members one after the other (`cat a.gz b.gz`, bgzip) inflate to the one export; the
    // file's trailer gives only the last member's size.
    const half = original.indexOf('\n', original.length >> 1) + 1;
    const members = join(dir, 'aws-export-2.csv.gz');
    await writeFile(members, Buffer.concat([gzipSync(original.subarray(0, half)), gzipSync(original.subarray(half))]));
    assert.notEqual((await readFile(members)).readUInt32LE((await stat(members)).size - 4), original.length);
    const refusal = /is already stored as data\/2025-01\/aws\.csv(\.gz)?, another source's export: stored again, it would be billed twice/;
    // Stored as it came, and stored compressed with a record of the original.
    for (const settings of ['{ compress_above_mb: 100 }', '{ compress_above_mb: 0.5 }']) {
      const repo = await scratchRepo(t);
      await withSettings(repo, settings);
      assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo)).code, 0);
      const before = await snapshot(repo);
      for (const input of [EXPORT, gz, members]) {
        const r = await cli('ingest', input, '--source', 'Azure', '--root', repo);
        assert.equal(r.code, 2, `${settings} ${input}: ${r.stderr}`);
        assert.match(r.stderr, refusal);
        assert.deepEqual(await snapshot(repo), before, 'nothing written');
      }
    }
    // The gzip of several members stored first, as it came: the plain export is the same one, whether
    // its count of bytes was remembered at ingest or is counted again (a fresh clone).
    for (const cached of [true, false]) {
      const repo = await scratchRepo(t);
      assert.equal((await cli('ingest', members, '--source', 'AWS', '--root', repo)).code, 0);
      const counts = (await readdir(join(repo, '.cache/hashes'))).filter((n) => n.endsWith('.inflated-bytes'));
      assert.deepEqual(await Promise.all(counts.map((n) => readFile(join(repo, '.cache/hashes', n), 'utf8'))), [String(original.length)]);
      if (!cached) await rm(join(repo, '.cache'), { recursive: true, force: true });
      const before = await snapshot(repo);
      const r = await cli('ingest', EXPORT, '--source', 'Azure', '--root', repo);
      assert.equal(r.code, 2, `cached ${cached}: ${r.stderr}`);
      assert.match(r.stderr, /is already stored as data\/2025-01\/aws\.csv\.gz, another source's export/);
      assert.deepEqual(await snapshot(repo), before, 'nothing written');
    }
    // Committed by hand (or by two pull requests, each ingesting it once): every reader refuses the period.
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo)).code, 0);
    for (const copy of [gz, members]) {
      await copyFile(copy, join(repo, 'data/2025-01/azure.csv.gz'));
      for (const command of [['validate'], ['generate', '--period', '2025-01', '--dry-run']]) {
        const r = await cli(...command, '--root', repo);
        assert.equal(r.code, 1, `${basename(copy)} ${command[0]}: ${r.stderr}`);
        assert.match(
          r.stderr,
          /data\/2025-01\/aws\.csv and data\/2025-01\/azure\.csv\.gz hold the same export under two sources; it would be billed twice/,
        );
      }
    }
    // Two sources' months without usage can be the same header alone: that bills nothing twice.
    await writeFile(join(repo, 'data/2025-01/azure.csv.gz'), gzipSync(original.subarray(0, original.indexOf('\n') + 1)));
    await writeFile(join(repo, 'data/2025-01/gcp.csv'), original.subarray(0, original.indexOf('\n') + 1));
    const header = await cli('generate', '--period', '2025-01', '--dry-run', '--root', repo);
    assert.equal(header.code, 0, header.stderr);
  });
});

describe('what data/ may hold', () => {
  it('refuses a link or a special file where an export is stored: a pull request could point one anywhere on the CI machine', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', EXPORT, '--source', 'AWS', '--root', repo)).code, 0);
    await mkdir(join(repo, 'data/2025-02'));
    const link = join(repo, 'data/2025-02/aws.csv');
    for (const target of ['../2025-01/aws.csv', '/etc/passwd']) {
      await rm(link, { force: true });
      await symlink(target, link);
      for (const command of [['validate'], ['generate', '--period', '2025-02', '--dry-run']]) {
        const r = await cli(...command, '--root', repo);
        assert.equal(r.code, 1, `${target} ${command[0]}: ${r.stderr}`);
        assert.match(r.stderr, /data\/2025-02\/aws\.csv is a link: a billing repository holds files, not links/);
        assert.doesNotMatch(r.stderr, /root:/, 'nothing of the target is shown');
      }
    }
    await rm(link);
    // A named pipe would make every reader wait for ever.
    execFileSync('mkfifo', [link]);
    const r = await cli('validate', '--root', repo);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /data\/2025-02\/aws\.csv is not a file or a folder/);
    await rm(link);
    // A period's folder that is a link is refused as well.
    await rm(join(repo, 'data/2025-02'), { recursive: true });
    await symlink('2025-01', join(repo, 'data/2025-02'));
    const folder = await cli('validate', '--root', repo);
    assert.equal(folder.code, 1, folder.stderr);
    assert.match(folder.stderr, /data\/2025-02 is a link: a billing repository holds files, not links/);
    await rm(join(repo, 'data/2025-02'));
    // Office notes and YAML files: a notes.mdx linked to a file outside published that file on every PI's page.
    const secret = join(await scratch(t), 'secret.txt');
    await writeFile(secret, 'SECRET-LINE\n');
    await mkdir(join(repo, 'periods/2025-01'), { recursive: true });
    await symlink(secret, join(repo, 'periods/2025-01/notes.mdx'));
    const out = join(await scratch(t), 'site');
    const build = await cli('build', '--no-pdf', '--out', out, '--root', repo);
    assert.equal(build.code, 1, build.stderr);
    assert.match(build.stderr, /periods\/2025-01\/notes\.mdx is a link: a billing repository holds files, not links/);
    assert.equal(existsSync(out), false, 'nothing published');
    await rm(join(repo, 'periods/2025-01/notes.mdx'));
    await symlink(secret, join(repo, 'pis.yaml'));
    assert.match(
      (await cli('review', 'list', '--root', repo)).stderr,
      /^error: pis\.yaml is a link: a billing repository holds files, not links/,
    );
  });
});

describe('the check of a stored .csv.gz', () => {
  it('is remembered by what the file holds: a publish (validate, then build) inflates each month once', async (t) => {
    const repo = await scratchRepo(t);
    const dir = await scratch(t);
    const original = await readFile(EXPORT);
    const gz = join(dir, 'aws.csv.gz');
    await writeFile(gz, gzipSync(original));
    assert.equal((await cli('ingest', gz, '--source', 'AWS', '--root', repo)).code, 0);
    const stored = join(repo, 'data/2025-01/aws.csv.gz');
    const markers = async () => (await readdir(join(repo, '.cache/checked')).catch(() => [] as string[])).filter((n) => n.endsWith('.ok'));
    assert.equal((await cli('validate', '--root', repo)).code, 0);
    const [marker] = await markers();
    assert.deepEqual([marker], [basename(await checkedMarker(repo, stored))]);
    assert.equal((await cli('generate', '--period', '2025-01', '--dry-run', '--root', repo)).code, 0);
    assert.deepEqual(await markers(), [marker]);
    // Other bytes, a last row whose resource id is longer than a line may be (which DuckDB drops
    // without a word), are checked again, and refused; no mark is made for them.
    const text = original.toString('utf8').trimEnd();
    const last = text.slice(text.lastIndexOf('\n') + 1).replace(',arn:aws:', `,arn:aws:${'v'.repeat(6_000_000)}`);
    await writeFile(stored, gzipSync(`${text}\n${last}\n`));
    const refused = await cli('validate', '--root', repo);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /data\/2025-01\/aws\.csv\.gz:\d+: line too long: .*found a longer line \(6,000,\d{3} bytes\)/);
    assert.deepEqual(await markers(), [marker]);
    // What is remembered is trusted (.cache is the machine's own): a mark for these bytes skips the check.
    await writeFile(await checkedMarker(repo, stored), '');
    assert.equal((await cli('validate', '--root', repo)).code, 0);
  });
});
