/** Property: whatever decimals a file holds, ingest's totals equal exact BigInt sums. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { formatUnits, SCALE } from '../src/core/money.ts';
import { cli, makeRepo, removeDir, tags, tempDir, writeCsv } from './helpers.ts';

let repo: string;
let work: string;
before(async () => {
  repo = await makeRepo('organization:\n  name: T\n');
  work = await tempDir();
});
after(async () => {
  await removeDir(repo);
  await removeDir(work);
});

/**
 * A decimal with up to 12 integer and 0 to 18 fractional digits written plainly (either side of
 * the 64-bit fast path's limits: 8 integer and 10 fractional digits), or written with an
 * exponent as producers do from floats (at most 17 significant digits).
 */
const plain = fc
  .tuple(fc.boolean(), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: SCALE }), fc.bigInt({ min: 0n, max: 10n ** 30n }))
  .map(([negative, wholeDigits, digits, random]) => {
    const whole = random % 10n ** BigInt(wholeDigits);
    const fraction = (random / 10n ** 12n) % 10n ** BigInt(digits);
    const units = (negative ? -1n : 1n) * (whole * 10n ** BigInt(digits) + fraction);
    return { units: units * 10n ** BigInt(SCALE - digits), text: formatUnits(units, digits) };
  });
const exponent = fc
  .bigInt({ min: -(10n ** 17n) + 1n, max: 10n ** 17n - 1n })
  .map((units) => ({ units: units * 10n ** 6n, text: `${units}E-12` }));
const amount = fc.oneof(plain, exponent);

describe('exact sums (property, DuckDB)', () => {
  it('BilledCost totals equal BigInt sums of the written values', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(amount, { minLength: 1, maxLength: 40 }), async (amounts) => {
        const file = await writeCsv(work, `p${n++}.csv`, [
          ['BillingPeriodStart', 'BilledCost', 'Tags'],
          ...amounts.map((a) => ['2025-01-01', a.text, tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: 'f' })]),
        ]);
        const r = await cli('ingest', file, '--source', 'AWS', '--root', repo, '--dry-run', '--json');
        assert.equal(r.code, 0, r.stderr);
        const expected = amounts.reduce((t, a) => t + a.units, 0n);
        assert.equal(r.json().totals[0].billed, formatUnits(expected, SCALE));
      }),
      { numRuns: 40 },
    );
  });
});
