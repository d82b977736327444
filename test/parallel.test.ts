/**
 * Work run side by side: a failure is thrown only once every other piece has settled, so that
 * nothing still runs on what the failure's handler is about to close (a DuckDB connection).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { settleAll } from '../src/core/parallel.ts';

describe('settleAll', () => {
  it('gives the values in the order asked', async () => {
    assert.deepEqual(await settleAll([sleep(20).then(() => 'slow'), Promise.resolve(2), 'plain'] as const), ['slow', 2, 'plain']);
  });

  it('throws the first failure in the order given, only once every other piece has settled', async () => {
    let finished = false;
    const slow = sleep(50).then(() => {
      finished = true;
    });
    const early = Promise.reject(new Error('early'));
    const late = sleep(10).then(() => Promise.reject(new Error('late')));
    await assert.rejects(settleAll([slow, late, early]), (e: Error) => {
      assert.equal(finished, true, 'the slow piece had finished');
      assert.equal(e.message, 'late', 'the first failure in order, not in time');
      return true;
    });
  });
});
