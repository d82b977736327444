/** Data files are identified by content: git's blob id when git knows it unchanged, else sha256. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { contentIds, rememberSha256, sha256Of } from '../src/repo/content-id.ts';
import { removeDir, scratch, tempDir } from './helpers.ts';

const sha256 = async (path: string) =>
  `sha256:${createHash('sha256')
    .update(await readFile(path))
    .digest('hex')}`;

describe('content ids', () => {
  it('remember a sha256 across processes only while the file is not written, whatever its modification time', async (t) => {
    const dir = await scratch(t);
    const remember = join(dir, 'hashes');
    const file = join(dir, 'aws.csv.gz');
    await writeFile(file, 'a,b\n1,2\n');
    const time = new Date('2025-04-01T00:00:00Z');
    await utimes(file, time, time);
    // What another process recorded (ingest, which wrote the file) is read, not computed again:
    // a value that is not the file's shows it.
    const recorded = 'f'.repeat(64);
    await rememberSha256(remember, file, recorded);
    assert.equal(await sha256Of(file, remember), recorded);
    assert.notEqual(`sha256:${recorded}`, await sha256(file));
    // Written since, to the same size, its modification time set back: hashed again, and remembered.
    const changed = (await stat(file, { bigint: true })).ctimeNs;
    await writeFile(file, 'a,b\n1,3\n');
    await utimes(file, time, time);
    // The kernel moves a change time by its clock's tick (a few ms): wait for the next one if both
    // writes fell in the same (what remembering cannot tell apart; see rememberedEntry).
    while ((await stat(file, { bigint: true })).ctimeNs === changed) {
      await new Promise((r) => setTimeout(r, 5));
      await utimes(file, time, time);
    }
    assert.equal((await stat(file, { bigint: true })).mtimeNs, BigInt(time.getTime()) * 1_000_000n);
    const now = (await sha256(file)).slice('sha256:'.length);
    assert.equal(await sha256Of(file, remember), now);
    const entries = await Promise.all((await readdir(remember)).map((n) => readFile(join(remember, n), 'utf8')));
    assert.deepEqual(entries.sort(), [now, recorded].sort());
    // A remembered value that is not a sha256 is never served.
    const other = join(dir, 'other.csv.gz');
    await writeFile(other, 'x\n');
    await rememberSha256(remember, other, 'not a hash');
    assert.equal(`sha256:${await sha256Of(other, remember)}`, await sha256(other));
  });

  it('give a file git does not know the sha256 remembered across processes, when told where', async (t) => {
    const dir = await scratch(t);
    const remember = join(dir, 'hashes');
    const [kept, other] = [join(dir, 'aws.parquet'), join(dir, 'gcp.parquet')];
    await writeFile(kept, `${'0123456789,'.repeat(3_200_000)}\n`); // 35 MB: git is asked first
    await writeFile(other, `${'9876543210,'.repeat(3_200_000)}\n`);
    // What another process recorded is served, not computed again: a value that is not the file's shows it.
    const recorded = 'e'.repeat(64);
    await rememberSha256(remember, kept, recorded);
    await rememberSha256(remember, other, recorded);
    assert.deepEqual(await contentIds([kept], remember), [`sha256:${recorded}`]);
    assert.deepEqual(await contentIds([other]), [await sha256(other)], 'not told where: hashed');
  });

  it('asks git for large tracked files it reports unchanged, and hashes everything else', async () => {
    const dir = await tempDir();
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
    const large = join(dir, 'large.csv');
    const small = join(dir, 'small.csv');
    await writeFile(large, `${'0123456789,'.repeat(3_200_000)}\n`); // 35 MB
    await writeFile(small, 'a,b\n1,2\n');
    assert.deepEqual(await contentIds([large, small]), [await sha256(large), await sha256(small)], 'not a git work tree');

    git('init', '-q', '-b', 'main');
    git('-c', 'user.email=t@example.edu', '-c', 'user.name=T', 'add', '.');
    git('-c', 'user.email=t@example.edu', '-c', 'user.name=T', 'commit', '-q', '-m', 'data');
    assert.deepEqual(await contentIds([large, small]), [`git:${git('hash-object', 'large.csv')}`, await sha256(small)]);

    // Changed in place, same size: git sees it, and the id follows the new content.
    const text = await readFile(large, 'utf8');
    await writeFile(large, text.replace('0123456789', '9876543210'));
    assert.deepEqual(await contentIds([large]), [await sha256(large)]);
    await removeDir(dir);
  });

  it("asks git once per file until git's index changes: no process starts beside a query", async () => {
    const dir = await tempDir();
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
    // A git on PATH that counts its runs before running the real one.
    const bin = join(dir, 'bin');
    const log = join(dir, 'git-runs.log');
    await mkdir(bin);
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    await writeFile(join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const runs = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const repo = join(dir, 'repo');
      await mkdir(repo);
      git('-C', repo, 'init', '-q', '-b', 'main');
      const large = join(repo, 'large.csv');
      await writeFile(large, `${'0123456789,'.repeat(3_200_000)}\n`); // 35 MB, not yet staged
      const hashed = await sha256(large);
      assert.deepEqual(await contentIds([large]), [hashed]);
      const first = await runs();
      assert.ok(first > 0, 'git was asked');
      assert.deepEqual(await contentIds([large]), [hashed]);
      assert.equal(await runs(), first, 'asked again with the index unchanged');
      git('-C', repo, 'add', 'large.csv');
      assert.deepEqual(await contentIds([large]), [`git:${git('-C', repo, 'hash-object', 'large.csv')}`], 'the index changed: asked again');
      const second = await runs();
      assert.ok(second > first);
      await contentIds([large]);
      assert.equal(await runs(), second, 'a blob id, once known, is kept for the unchanged file');

      // In no git work tree: asked once, then not again while the folders holding it are unchanged.
      const outside = join(dir, 'outside');
      await mkdir(outside);
      const lone = join(outside, 'large.csv');
      await writeFile(lone, `${'0123456789,'.repeat(3_200_000)}\n`);
      // The folders' times, up to the root: another process can change a shared one (/tmp) at any
      // time, and asking again is then right, so the check below holds only while none changed.
      const folders = async () => {
        const times: number[] = [];
        for (let d = outside; ; d = dirname(d)) {
          times.push((await stat(d)).mtimeMs);
          if (dirname(d) === d) return times.join(',');
        }
      };
      const before = await folders();
      assert.deepEqual(await contentIds([lone]), [await sha256(lone)]);
      const third = await runs();
      assert.ok(third > second, 'git was asked');
      await contentIds([lone]);
      if ((await folders()) === before) assert.equal(await runs(), third, 'asked again in the same folders');
      git('-C', outside, 'init', '-q', '-b', 'main');
      await contentIds([lone]);
      assert.ok((await runs()) > third + 1, 'a repository made around it: asked again');
    } finally {
      process.env.PATH = path;
      await removeDir(dir);
    }
  });
});
