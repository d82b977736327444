/** Each public FOCUS sample in ../shared/focus-samples is ingested or refused precisely. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { cli, makeRepo, removeDir, sharedSamples, snapshot } from './helpers.ts';

const samples = sharedSamples();
const sample = (name: string) => join('dir' in samples ? samples.dir : '', name);
let repo: string;
before(async () => {
  repo = await makeRepo();
});
after(() => removeDir(repo));

describe('FOCUS samples (CC-BY-4.0, FinOps Foundation)', { skip: 'missing' in samples ? samples.missing : false }, () => {
  it('FOCUS 1.0 sample: two periods refused, then ingested with --period and every row flagged', async () => {
    const file = sample('finops-sample-data_FOCUS-1.0_focus_sample.csv');
    const refused = await cli('ingest', file, '--source', 'AWS', '--root', repo);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /rows span 2 billing periods: 2024-09 \(999 rows\), 2024-10 \(1 row\)/);
    const r = await cli('ingest', file, '--source', 'AWS', '--root', repo, '--period', '2024-09', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = r.json();
    assert.equal(report.rows, 1000);
    assert.equal(report.flags.total, 1000, 'its tags carry no PI attribution');
    assert.equal(report.flags.by_rule.period_mismatch, 1);
    // Microsoft rows tag `Project` in mixed case, which the case-insensitive lookup finds.
    assert.equal(report.flags.by_rule.missing_project_id, 969);
    // Its two Oracle Adjustments with a ListCost of 0 are no charges billed above a list price (see below).
    assert.equal(report.flags.by_rule.above_list, undefined);
    // Sums to the last digit (checked with Python's decimal module): NULL tokens, 11-15 decimals, a credit, negative usage.
    // Two Oracle Adjustments (0.192 and 0.08) have a ListCost of 0: no list price (billing.zero_list_cost: unknown),
    // so their list is their cost, 20.39090575119 + 0.272.
    assert.deepEqual(report.totals, [
      {
        currency: 'USD',
        rows: 1000,
        billed: '20.520226728990000000',
        list: '20.662905751190000000',
        flagged_rows: 1000,
        flagged_amount: '20.520226728990000000',
      },
    ]);
    const flags = parse(await readFile(join(repo, 'periods/2024-09/flags.yaml'), 'utf8')).flags;
    const late = flags.find((f: { rule: string; also?: string[] }) => f.also?.includes('period_mismatch'));
    assert.equal(late.charge.period, '2024-10');
    assert.match(late.message, /charge is for 2024-10, but the file is stored under 2024-09/);
  });

  it('spend-agreements sample: M/D/YY dates are refused with the line and column', async () => {
    const before = await snapshot(repo);
    const r = await cli('ingest', sample('focus-spec-v1.2_saas_spend_agreements_b2.csv'), '--source', 'GCP', '--root', repo);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /saas_spend_agreements_b2\.csv:2:7: BillingPeriodStart: expected an ISO 8601 date or datetime .*, found "4\/1\/25"/,
    );
    assert.deepEqual(await snapshot(repo), before);
  });

  it('simple-agreements sample: refused for its dates before its "$10,100.00" costs', async () => {
    const r = await cli('ingest', sample('focus-spec-v1.2_simple_saas_agreements_c.csv'), '--source', 'GCP', '--root', repo);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /simple_saas_agreements_c\.csv:2:\d+: BillingPeriodStart: .*found "4\/1\/25"/);
  });

  it('zero-utilization sample: CRLF, blank lines, `null` tokens, no Tags or currency column', async () => {
    const r = await cli(
      'ingest',
      sample('focus-spec-v1.2_zero_percent_utilization_without_commitment_discount_flexibility.csv'),
      '--source',
      'Azure',
      '--root',
      repo,
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const report = r.json();
    assert.equal(report.period, '2023-01');
    assert.deepEqual(report.totals, [
      {
        currency: 'USD',
        rows: 3,
        billed: '3.500000000000000000',
        list: '8.000000000000000000',
        flagged_rows: 3,
        flagged_amount: '3.500000000000000000',
      },
    ]);
    assert.match(report.warnings[0], /no Tags column/);
    const flags = parse(await readFile(join(repo, 'periods/2023-01/flags.yaml'), 'utf8')).flags;
    assert.deepEqual(
      flags.map((f: { line: number }) => f.line),
      [2, 4, 6],
      'blank lines between rows are counted',
    );
  });
});

describe('without the shared samples', { skip: process.env.OCB_SAMPLES_PROBE ? 'the probe itself' : false }, () => {
  it('skips only the tests that read them, and says where it looked', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, FOCUS_SAMPLES_DIR: '/nonexistent/focus-samples', OCB_SAMPLES_PROBE: '1' };
    delete env.NODE_TEST_CONTEXT; // a test file run on its own, not as a child of this run
    const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--test', fileURLToPath(import.meta.url)], {
      env,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /# SKIP the shared FOCUS samples are not here \(looked in \/nonexistent\/focus-samples\)/);
    assert.match(r.stdout, /^# fail 0$/m);
    assert.match(r.stdout, /^ok 1 - FOCUS samples .* # SKIP /m, 'the suite reading the samples is skipped, not failed');
  });
});
