/**
 * Charge details: each statement lists its largest charge groups (day × resource × service), up
 * to the cap, every flagged one whatever its size, and one row summing the rest per line.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.ts';
import { loadPiDirectory } from '../src/config/pi-directory.ts';
import { formatUnits, SCALE } from '../src/core/money.ts';
import { withDatabase } from '../src/db/duckdb.ts';
import { periodDetails } from '../src/report/details.ts';
import { DETAIL_KEYS, PeriodGroups } from '../src/report/groups.ts';
import { periodReport } from '../src/report/period-report.ts';
import { buildSiteModel } from '../src/site/model.ts';
import { cli, FOCUS_HEADER, scratch, scratchRepo, tags, writeCsv } from './helpers.ts';

const A = tags({ pi_email: 'a@x.edu', project_id: 'pa', fund_org: '123456-1001' });
const B = tags({ pi_email: 'b@x.edu', project_id: 'pb', fund_org: '123456-1002' });

/** [day, category, cost, resource, tags] in FOCUS_HEADER's columns. */
const charge = (day: string, category: string, cost: string, resource: string, t = A) => [
  '2025-03-01',
  `2025-03-${day}T10:00:00Z`,
  category,
  cost,
  cost.replace('-', ''),
  'Amazon EC2',
  resource,
  t,
];

const ROWS = [
  charge('05', 'Usage', '5.00', 'node-1'),
  charge('02', 'Usage', '3.00', 'node-c'), // three charges of 3.00: ranked by day, then resource
  charge('02', 'Usage', '3.00', 'node-a'),
  charge('01', 'Usage', '3.00', 'node-b'),
  charge('01', 'Credit', '-3.00', 'node-b'), // as large, same day and resource: ranked by category
  charge('03', 'Usage', '1.00', 'node-2'),
  charge('03', 'Usage', '0.50', 'node-2'), // same day and resource: one group of 1.50
  charge('04', 'Usage', '2.00', 'node-3'),
  charge('06', 'Usage', '7.00', 'node-4'),
  charge('07', 'Credit', '-8.00', 'node-5'), // the largest by amount, though negative
  charge('08', 'Usage', '0.25', 'p3.2xlarge'), // flagged (GPU pattern): listed whatever its size
  charge('09', 'Usage', '4.00', 'node-6', B),
  charge('09', 'Usage', '1.00', 'node-7', B),
];

async function details(t: Parameters<typeof scratchRepo>[0], cap: number, rows = ROWS) {
  const repo = await scratchRepo(t);
  const file = await writeCsv(await scratch(t), 'march.csv', [FOCUS_HEADER, ...rows]);
  const ingest = await cli('ingest', file, '--source', 'AWS', '--root', repo);
  assert.equal(ingest.code, 0, ingest.stderr);
  // The flagged charge is billed once approved; details list billed charges only.
  const list = (await cli('review', 'list', '--json', '--root', repo)).json().flags as { id: string }[];
  assert.equal(list.length, 1);
  assert.equal((await cli('review', 'approve', (list[0] as { id: string }).id, '--root', repo)).code, 0);
  const config = await loadConfig(repo);
  return withDatabase(async (db) => {
    const report = await periodReport(db, repo, config, '2025-03');
    const rows = await periodDetails(db, repo, report.files, config, '2025-03', report.flags, cap);
    return rows.map((r) => ({
      pi: (JSON.parse(r.key) as string[])[0] as string,
      what: r.other_count ? `${r.other_count} others` : `${r.date} ${r.resource}`,
      charges: r.charges,
      cost: formatUnits(r.exactCost, SCALE).replace(/0+$/, '').replace(/\.$/, ''),
    }));
  });
}

/** Rows sorted as a reader scans them: per PI, listed charges first. */
const sorted = (rows: Awaited<ReturnType<typeof details>>) =>
  rows.toSorted(
    (a, b) =>
      a.pi.localeCompare(b.pi) || Number(a.what.includes('others')) - Number(b.what.includes('others')) || a.what.localeCompare(b.what),
  );

describe('charge details', () => {
  it("lists each statement's largest groups up to the cap, every flagged one, and sums the rest per line", async (t) => {
    const rows = sorted(await details(t, 4));
    assert.deepEqual(
      rows.filter((r) => r.pi.startsWith('a@')).map((r) => [r.what, r.charges, r.cost]),
      [
        ['2025-03-01 node-b', 1, '-3'], // Credit before Usage
        ['2025-03-05 node-1', 1, '5'],
        ['2025-03-06 node-4', 1, '7'],
        ['2025-03-07 node-5', 1, '-8'],
        ['2025-03-08 p3.2xlarge', 1, '0.25'],
        // node-b's usage, node-a and node-c (3.00 each), node-3 (2.00) and node-2 (1.00 + 0.50)
        ['5 others', 6, '12.5'],
      ],
    );
    assert.deepEqual(
      rows.filter((r) => r.pi.startsWith('b@')).map((r) => [r.what, r.cost]),
      [
        ['2025-03-09 node-6', '4'],
        ['2025-03-09 node-7', '1'],
      ],
      'a statement under the cap lists every charge and no sum',
    );
  });

  it('ranks equal amounts by day, then resource, then category, at any cap', async (t) => {
    const five = sorted(await details(t, 5)).filter((r) => r.pi.startsWith('a@'));
    assert.deepEqual(
      five.map((r) => r.what),
      [
        '2025-03-01 node-b',
        '2025-03-01 node-b',
        '2025-03-05 node-1',
        '2025-03-06 node-4',
        '2025-03-07 node-5',
        '2025-03-08 p3.2xlarge',
        '4 others',
      ],
    );
    const none = sorted(await details(t, 0)).filter((r) => r.pi.startsWith('a@'));
    assert.deepEqual(
      none.map((r) => [r.what, r.charges, r.cost]),
      [
        ['2025-03-08 p3.2xlarge', 1, '0.25'],
        ['2 others', 2, '-11'], // the credits: a statement line of their own
        ['7 others', 8, '24.5'],
      ],
      'cap 0: only the flagged charge is listed; the rest summed per line',
    );
  });

  it('ranks flagged charges apart: a large one takes no place under the cap', async (t) => {
    const rows = sorted(
      await details(t, 2, [
        charge('08', 'Usage', '50.00', 'p3.2xlarge'), // flagged (GPU pattern), approved
        charge('01', 'Usage', '3.00', 'node-1'),
        charge('02', 'Usage', '2.00', 'node-2'),
        charge('03', 'Usage', '1.00', 'node-3'),
      ]),
    );
    assert.deepEqual(
      rows.map((r) => [r.what, r.cost]),
      [
        ['2025-03-01 node-1', '3'],
        ['2025-03-02 node-2', '2'],
        ['2025-03-08 p3.2xlarge', '50'],
        ['1 others', '1'],
      ],
    );
  });

  it("gives the same report and details from the build's one grouping as from their own queries", async (t) => {
    // node-1 on March 2 spans both parts of the export and two account codes: one detail row.
    const withAccount = (code: string) => tags({ pi_email: 'a@x.edu', project_id: 'pa', fund_org: '123456-1001', account_code: code });
    const work = await scratch(t);
    const part1 = await writeCsv(work, 'part-1.csv', [
      FOCUS_HEADER,
      charge('02', 'Usage', '1.25', 'node-1', withAccount('5100')),
      charge('02', 'Usage', '4.00', 'node-2'),
      charge('08', 'Usage', '0.25', 'p3.2xlarge'), // flagged (GPU pattern)
    ]);
    const part2 = await writeCsv(work, 'part-2.csv', [
      FOCUS_HEADER,
      charge('02', 'Usage', '2.50', 'node-1', withAccount('5200')),
      charge('03', 'Credit', '-1.00', 'node-2'),
      charge('09', 'Usage', '6.00', 'node-6', B),
    ]);
    const repo = await scratchRepo(t);
    const ingest = await cli('ingest', part1, part2, '--source', 'AWS', '--root', repo);
    assert.equal(ingest.code, 0, ingest.stderr);
    const config = await loadConfig(repo);
    const both = (groups: boolean, cached = false, keys?: typeof DETAIL_KEYS, cap = 200) =>
      withDatabase(async (db) => {
        // Each way computes, none served from the other's cache; then once more from the cache.
        if (!cached) await rm(join(repo, '.cache'), { recursive: true, force: true });
        const g = groups ? new PeriodGroups(db, keys) : undefined;
        const report = await periodReport(db, repo, config, '2025-03', { groups: g });
        const details = await periodDetails(db, repo, report.files, config, '2025-03', report.flags, cap, g);
        await g?.drop();
        const canonical = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
        return {
          report: canonical({ statements: report.statements, sources: report.sources, reconciliation: report.reconciliation }),
          flagged: report.flagged.map(canonical).sort(),
          details: details.map(canonical).sort(),
          node1: details.filter((d) => d.resource === 'node-1').map((d) => [d.date, d.charges, formatUnits(d.exactCost, SCALE)]),
        };
      });
    const grouped = await both(true);
    const own = await both(false);
    assert.deepEqual(grouped.node1, [['2025-03-02', 2, '3.750000000000000000']]);
    assert.equal(grouped.details.length, 4, 'node-1, node-2 twice (usage, credit), node-6; the pending flagged charge is not billed');
    assert.deepEqual(grouped, own);
    assert.deepEqual(await both(false, true), own, 'the same again from the cache');
    // One detail listed per statement, the rest summed: ranked within each statement alike.
    const ownTop = await both(false, false, undefined, 1);
    assert.notDeepEqual(ownTop.details, own.details);
    assert.deepEqual(await both(true, false, undefined, 1), ownTop);
    // Statement lines or statements whose keys collide (all keyed 0 here) are grouped by their columns.
    assert.deepEqual(await both(true, false, { ...DETAIL_KEYS, line: '0::UBIGINT' }, 1), ownTop, 'two lines share a key');
    assert.deepEqual(await both(true, false, { ...DETAIL_KEYS, statement: '0::UBIGINT' }, 1), ownTop, 'two statements share one');
  });

  it('names the summed row by the charges it sums, as the statement counts them', async (t) => {
    const file = await writeCsv(await scratch(t), 'march.csv', [FOCUS_HEADER, ...ROWS]);
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const config = await loadConfig(repo);
    const [report, details] = await withDatabase(async (db) => {
      const r = await periodReport(db, repo, config, '2025-03');
      return [r, await periodDetails(db, repo, r.files, config, '2025-03', r.flags, 4)] as const;
    });
    const model = buildSiteModel({
      config,
      directory: await loadPiDirectory(repo),
      audience: 'admin',
      reports: [{ report, details, issued: '2025-04-01' }],
      notes: [],
    });
    const a = model.periods[0]?.statements.find((s) => s.pi_email === 'a@x.edu');
    // Five resource-days (node-2's two charges are one) sum six charges.
    assert.deepEqual(
      a?.details.filter((d) => d.other_count).map((d) => [d.resource, d.other_count, d.charges, d.amount.value]),
      [['6 smaller charges', 5, 6, '12.50']],
    );
  });

  it('gives the same rows the rounded cents whatever order the details come in', async (t) => {
    // Three charges of 1.005 on one line: each rounds down to 1.00, and the line's 3.02 leaves two
    // cents for three equal remainders. Which rows get them must not depend on DuckDB's order.
    const work = await scratch(t);
    const file = await writeCsv(work, 'march.csv', [
      FOCUS_HEADER,
      charge('03', 'Usage', '1.005', 'node-c'),
      charge('01', 'Usage', '1.005', 'node-a'),
      charge('02', 'Usage', '1.005', 'node-b'),
    ]);
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const config = await loadConfig(repo);
    const [report, details] = await withDatabase(async (db) => {
      const r = await periodReport(db, repo, config, '2025-03');
      return [r, await periodDetails(db, repo, r.files, config, '2025-03', r.flags, 200)] as const;
    });
    const directory = await loadPiDirectory(repo);
    const shown = (rows: typeof details) =>
      buildSiteModel({
        config,
        directory,
        audience: 'admin',
        reports: [{ report, details: rows, issued: '2025-04-01' }],
        notes: [],
      }).periods[0]?.statements[0]?.details.map((d) => `${d.date} ${d.resource} ${d.amount.value}`);
    const forward = shown(details);
    assert.deepEqual(forward, ['2025-03-01 node-a 1.01', '2025-03-02 node-b 1.01', '2025-03-03 node-c 1.00']);
    assert.deepEqual(shown(details.toReversed()), forward);
  });
});
