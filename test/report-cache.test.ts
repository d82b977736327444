/** The report cache is keyed by content: any change to data or config is seen. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, makeRepo, removeDir, tags, writeCsv } from './helpers.ts';

describe('report cache', () => {
  it('serves repeated reports, and never a stale one', async () => {
    const root = await makeRepo('flag_rules: { missing_fund_org: true }\n');
    const t = tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: 'F' });
    const file = await writeCsv(root, 'x.csv', [
      ['BillingPeriodStart', 'BilledCost', 'Tags'],
      ['2025-03-01', '10.00', t],
      ['2025-03-01', '5.00', t],
    ]);
    await cli('ingest', file, '--source', 'AWS', '--root', root);
    const due = async () =>
      (await cli('generate', '--period', '2025-03', '--dry-run', '--json', '--root', root)).json().statements[0]?.amount_due;
    assert.equal(await due(), '15.00');
    assert.equal(readdirSync(join(root, '.cache', 'report')).filter((n) => !n.startsWith('hint-')).length, 1);
    assert.equal(await due(), '15.00', 'from the cache');
    assert.equal(readdirSync(join(root, '.cache', 'report')).filter((n) => !n.startsWith('hint-')).length, 1);

    // Same size, same modification time: only the content differs.
    const data = join(root, 'data/2025-03/aws.csv');
    const before = await readFile(data, 'utf8');
    const { mtime } = await import('node:fs').then((fs) => fs.statSync(data));
    await writeFile(data, before.replace('5.00', '6.00'));
    await utimes(data, mtime, mtime);
    assert.equal(await due(), '16.00');

    await writeFile(join(root, 'config.yaml'), 'flag_rules: { anomalies: { large_charge: 8 } }\n');
    assert.equal(await due(), '6.00', 'the 10.00 charge is now held by the config change');
    await removeDir(root);
  });
});
