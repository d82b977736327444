/**
 * The report's rows grouped by Tags text (Tags read once per text) are the rows read row by row
 * (Tags read for each): same statement lines, same sums, the same flagged charges with the same
 * row hashes, whatever the Tags texts hold. And the choice between the two, from a file's first rows.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { type Config, configSchema } from '../src/config/schema.ts';
import type { Database } from '../src/db/duckdb.ts';
import { withDatabase } from '../src/db/duckdb.ts';
import type { ChargeFile } from '../src/focus/charges-sql.ts';
import { mapColumns, requiredColumns } from '../src/focus/columns.ts';
import { sniffFile } from '../src/focus/file.ts';
import { withTagKeys } from '../src/focus/scan.ts';
import { groupByTags, reportRows } from '../src/report/report-query.ts';
import { FOCUS_HEADER, focusRow, SAMPLE_CSVS, scratch, sharedSamples, tags, writeCsv } from './helpers.ts';

const config: Config = configSchema.parse({
  flag_rules: {
    fund_org_patterns: ['\\d{6}-\\d{4}'],
    patterns: [{ field: 'resource', pattern: '(?i)gpu' }],
    conflicting_tags: true,
  },
});

const A = tags({ pi_email: 'a@x.edu', project_id: 'pa', fund_org: '123456-1001' });
const B = tags({ pi_email: 'b@x.edu', project_id: 'pb', fund_org: '123456-1002', account_code: '7001' });

/** Tags texts that are held for review, or look as if they were, each with why. */
const HOSTILE: [string, string][] = [
  ['', 'no Tags: every attribute missing'],
  ['{}', 'no keys'],
  ['{"pi_email": "a@x.edu"', 'not JSON'],
  ['{"pi_email":"a@x.edu","pi_email":"b@x.edu","project_id":"p","fund_org":"123456-1001"}', 'a key twice'],
  ['{"pi_email":{"x":1},"project_id":"p","fund_org":"123456-1001"}', 'an object for a value'],
  ['{"pi_email":"not-an-email","project_id":"p","fund_org":"123456-1001"}', 'mentions every key, held for the email'],
  ['{"pi_email":"a@x.edu","project_id":"p\\u0007","fund_org":"123456-1001"}', 'a control character'],
  ['{"pi_email":"","project_id":"p","fund_org":"123456-1001"}', 'an empty value'],
  ['{"pi_email":"a@x.edu","project_id":"p","fund_org":"nope"}', 'a fund/org the patterns refuse'],
  ['{"pi\\u005femail":"a@x.edu","project_id":"p","fund_org":"123456-1001"}', 'an escaped key: never mentioned, yet found'],
  ['{"PI_Email":"c@x.edu","Project":"pc","fund_org":"123456-1003"}', 'keys in another case: the slow path'],
  [`  ${A}  `, "A's text with spaces around: the same text once trimmed"],
  ['{"pi_email":"a@x.edu","project_id":"pa"}', 'no fund/org key'],
  ['{"pi_email":"a@x.edu","user:pi_email":"b@x.edu","project_id":"pa","fund_org":"123456-1001"}', 'the PI under two keys, two values'],
  ['{"pi_email":"a@x.edu","project_id":"pa","Project":"pz","fund_org":"123456-1001"}', 'the project under two names, two values'],
  [
    '{"pi_email":"a@x.edu","USER:PI_EMAIL":" A@x.edu ","project_id":"pa","fund_org":"123456-1001"}',
    'the PI under two keys, one value: billed',
  ],
];

/** [BillingPeriodStart, ChargePeriodStart, ChargeCategory, BilledCost, ListCost, ServiceName, ResourceName, Tags] */
function rows(): string[][] {
  const out: string[][] = [];
  const row = focusRow;
  for (let i = 0; i < 40; i++) {
    out.push(row(1 + (i % 28), 'Usage', `${i}.0${i % 10}1`, `node-${i % 3}`, A));
    out.push(row(1 + (i % 28), 'Usage', `0.${String(i).padStart(2, '0')}5`, `disk-${i % 2}`, B));
  }
  for (const [i, [t]] of HOSTILE.entries()) {
    out.push(row(3, 'Usage', `1.2${i}`, 'node-h', t));
    out.push(row(3, 'Usage', `1.2${i}`, 'node-h', t)); // the same charge twice: one row hash, two rows
    out.push(row(4, 'Usage', `2.5${i}`, `gpu-${i}`, t)); // also held by the GPU pattern
  }
  out.push(row(5, 'Usage', '12000.00', 'node-big', A)); // held as large, its Tags clean
  out.push(row(6, 'Usage', '-3.00', 'node-neg', HOSTILE[5]?.[0] as string)); // held as negative usage and by Tags
  out.push(row(7, 'Usage', '4.00', 'node-feb', B, '2025-02-01')); // held: another period
  out.push(row(8, 'Credit', '-0.75', 'node-1', A)); // a credit on a clean line
  return out;
}

async function fileOf(db: Database, path: string, relPath: string): Promise<ChargeFile> {
  const file = await sniffFile(path, relPath, db);
  return withTagKeys(db, { file, columns: mapColumns(file, requiredColumns('BilledCost')), sourceSlug: 'aws', relPath });
}

/** The rows as sorted text, so that two ways of reading can be compared whatever their order. */
const canonical = (rs: Record<string, unknown>[]) =>
  rs
    .map((r) =>
      JSON.stringify(
        Object.keys(r)
          .sort()
          .map((k) => [k, r[k] === null ? null : String(r[k])]),
      ),
    )
    .sort();

describe('report rows grouped by Tags text', () => {
  it('equal the rows read one by one, for every kind of Tags text', async (t) => {
    const dir = await scratch(t);
    const path = await writeCsv(dir, 'aws.csv', [FOCUS_HEADER, ...rows()]);
    await withDatabase(async (db) => {
      const f = await fileOf(db, path, 'data/2025-03/aws.csv');
      const perRow = (await reportRows<Record<string, unknown>>(db, [f], config, '2025-03', () => false)).rows;
      const grouped = (await reportRows<Record<string, unknown>>(db, [f], config, '2025-03', () => true)).rows;
      assert.deepEqual(canonical(grouped), canonical(perRow));
      // What both agree on: each held text's two identical charges share a row hash (all but the
      // escaped key, the other case, A with spaces and the PI under two keys with one value hold
      // their attributes), every GPU charge has its own, and so do the large, negative and
      // other-period charges.
      const held = perRow.filter((r) => r.row_hash !== null);
      assert.equal(held.length, HOSTILE.length - 4 + HOSTILE.length + 3);
      const pairs = held.filter((r) => Number(r.rows) === 2);
      assert.equal(pairs.length, HOSTILE.length - 4);
      const escaped = perRow.filter((r) => r.row_hash === null && r.project_id === 'p' && r.pi_email === 'a@x.edu');
      assert.equal(
        escaped.reduce((n, r) => n + Number(r.rows), 0),
        2,
        'the escaped key is found: not held',
      );
      const lowerCase = perRow.find((r) => r.pi_email === 'c@x.edu' && r.row_hash === null);
      assert.equal(lowerCase?.project_id, 'pc');
    });
  });

  it('equal them with several files, some grouped and some not', async (t) => {
    const dir = await scratch(t);
    const all = rows();
    const one = await writeCsv(dir, 'aws.csv', [FOCUS_HEADER, ...all.slice(0, 60)]);
    const two = await writeCsv(dir, 'gcp.csv', [FOCUS_HEADER, ...all.slice(60)]);
    await withDatabase(async (db) => {
      const files = [await fileOf(db, one, 'data/2025-03/aws.csv'), await fileOf(db, two, 'data/2025-03/gcp.csv')];
      const perRow = (await reportRows<Record<string, unknown>>(db, files, config, '2025-03', () => false)).rows;
      for (const choice of [(f: ChargeFile) => f === files[0], (f: ChargeFile) => f === files[1], () => true]) {
        const rs = (await reportRows<Record<string, unknown>>(db, files, config, '2025-03', choice)).rows;
        assert.deepEqual(canonical(rs), canonical(perRow));
      }
      assert.deepEqual([...new Set(perRow.map((r) => r.file))].sort(), ['data/2025-03/aws.csv', 'data/2025-03/gcp.csv']);
    });
  });

  const samples = sharedSamples();
  it('equal them on the public FOCUS samples', { skip: 'missing' in samples ? samples.missing : false }, async () => {
    const dir = 'dir' in samples ? samples.dir : '';
    await withDatabase(async (db) => {
      for (const name of SAMPLE_CSVS) {
        const f = await fileOf(db, `${dir}/${name}`, name);
        const periods = await db.query<{ p: string }>(
          `SELECT DISTINCT strftime(BillingPeriodStart::TIMESTAMPTZ, '%Y-%m') AS p FROM read_csv($path) ORDER BY p`,
          { path: `${dir}/${name}` },
        );
        assert.ok(periods.length > 0, name);
        for (const { p } of periods) {
          const perRow = (await reportRows<Record<string, unknown>>(db, [f], config, p, () => false)).rows;
          const grouped = (await reportRows<Record<string, unknown>>(db, [f], config, p, () => true)).rows;
          assert.deepEqual(canonical(grouped), canonical(perRow), `${name} ${p}`);
          // No sample carries a PI's tags: every charge is held, each with its row hash.
          assert.ok(perRow.length > 0 && perRow.every((r) => r.row_hash !== null), `${name} ${p}`);
        }
        assert.equal(await groupByTags(db, f, config), false, `${name}: every row held, so read row by row`);
      }
    });
  });

  it('are chosen where texts repeat and few rows are held, from the first rows', async (t) => {
    const dir = await scratch(t);
    const texts = (n: number, text: (i: number) => string) =>
      Array.from({ length: n }, (_, i) => ['2025-03-01', '2025-03-02T00:00:00Z', 'Usage', '1.5', '1.5', 'S3', `r-${i}`, text(i)]);
    const tag = (i: number, extra: Record<string, string> = {}) =>
      tags({ pi_email: `p${i % 7}@x.edu`, project_id: `p${i % 3}`, fund_org: '123456-1001', ...extra });
    const cases: [string, string[][], boolean][] = [
      ['repeating', texts(5000, (i) => tag(i)), true],
      ['a new text every fifth row', texts(5000, (i) => tag(i, i % 5 ? {} : { Name: `n${i}` })), false],
      ['a new text every 50th row', texts(5000, (i) => tag(i, i % 50 ? {} : { Name: `n${i}` })), true],
      ['most rows held', texts(5000, (i) => (i % 4 ? '' : tag(i))), false],
      ['a few rows held', texts(5000, (i) => (i % 100 ? tag(i) : '')), true],
      ['a small file', texts(10, (i) => tag(i % 2)), true],
      ['a small file of texts seen once', texts(10, (i) => tag(i)), false],
      // 5,000 texts in turn: the first 4,096 rows see each at most once.
      ['5,000 texts in a small file', texts(20_000, (i) => tag(0, { Name: `n${i % 5000}` })), false],
    ];
    await withDatabase(async (db) => {
      for (const [name, body, expected] of cases) {
        const path = await writeCsv(dir, `${name.replace(/ /g, '-')}.csv`, [FOCUS_HEADER, ...body]);
        assert.equal(await groupByTags(db, await fileOf(db, path, 'x.csv'), config), expected, name);
      }
      // The same texts in a file of 32 MB or more: worth a larger sample, which sees each 13 times.
      const large = texts(100_000, (i) => tag(0, { Name: `n${i % 5000}`, Owner: 'x'.repeat(200) }));
      const path = await writeCsv(dir, 'large.csv', [FOCUS_HEADER, ...large]);
      assert.ok((await stat(path)).size >= 32 << 20);
      assert.equal(await groupByTags(db, await fileOf(db, path, 'large.csv'), config), true, '5,000 texts in a large file');
      const untagged = await writeCsv(dir, 'untagged.csv', [
        FOCUS_HEADER.filter((h) => h !== 'Tags'),
        ...texts(100, () => '').map((r) => r.slice(0, -1)),
      ]);
      assert.equal(await groupByTags(db, await fileOf(db, untagged, 'u.csv'), config), false, 'no Tags column');
    });
  });
});
