/** Cache folders forget what nobody used for a while, and keep what is in use. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { touchAndPrune } from '../src/repo/cache-dir.ts';
import { removeDir, tempDir } from './helpers.ts';

describe('cache folders', () => {
  it('removes entries unused for 30 days, and touches the ones in use', async () => {
    const dir = await tempDir();
    const now = new Date('2026-03-31T12:00:00Z');
    const daysAgo = (n: number) => new Date(now.getTime() - n * 86_400_000);
    const file = async (name: string, age: number) => {
      const path = join(dir, name);
      await writeFile(path, name);
      await utimes(path, daysAgo(age), daysAgo(age));
      return path;
    };
    const usedOld = await file('used-old.pdf', 90);
    const staleOld = await file('stale.pdf', 31);
    const recent = await file('recent.pdf', 29);
    const leftover = await file('x.pdf.123.tmp', 45);
    const r = await touchAndPrune(dir, [usedOld], { now });
    assert.equal(r.removed, 2);
    assert.deepEqual(
      [usedOld, staleOld, recent, leftover].map((p) => existsSync(p)),
      [true, false, true, false],
    );
    assert.equal((await stat(usedOld)).mtimeMs, now.getTime(), 'an entry in use starts its 30 days again');
    assert.deepEqual(await touchAndPrune(join(dir, 'missing'), [], { now }), { removed: 0 });
    await removeDir(dir);
  });
});
