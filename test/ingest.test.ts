/** `ingest` end to end on real temporary git repositories. */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { CSV_RETRY_SQL, Database } from '../src/db/duckdb.ts';
import { Params } from '../src/db/params.ts';
import { sniffFile } from '../src/focus/file.ts';
import { readFileSql } from '../src/focus/read-sql.ts';
import { cli, PROJECT, removeDir, SAMPLE, scratchRepo, snapshot, tags, tempDir, writeCsv } from './helpers.ts';

const HEADER = [
  'BillingPeriodStart',
  'ChargePeriodStart',
  'BilledCost',
  'ListCost',
  'BillingCurrency',
  'ServiceName',
  'ResourceId',
  'Tags',
];
const good = (i: number, extra: Partial<{ cost: string; tags: string; period: string }> = {}) => [
  extra.period ?? '2025-03-01T00:00:00Z',
  `2025-03-${String(1 + (i % 28)).padStart(2, '0')}`,
  extra.cost ?? `${i}.25`,
  `${i + 1}.00`,
  'USD',
  'Compute',
  `vm-${i}`,
  extra.tags ?? tags({ pi_email: 'pi@example.edu', project_id: 'p1', fund_org: '123456-1234' }),
];
const untagged = tags({ project_id: 'p1' });

let work: string;
before(async () => {
  work = await tempDir();
});
after(() => removeDir(work));

describe('ingest', () => {
  it('stores the file byte-for-byte, and a second identical import is a no-op', async (t) => {
    const repo = await scratchRepo(t);
    const r = await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'aws', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = r.json();
    assert.equal(report.outcome, 'ingested');
    assert.equal(report.stored_as, 'data/2025-01/aws.csv');
    assert.deepEqual(await readFile(join(repo, 'data/2025-01/aws.csv')), await readFile(join(SAMPLE, 'aws_2025-01.csv')));
    const before = await snapshot(repo);
    const again = await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', repo);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /Already ingested \(identical file\), nothing to do/);
    assert.deepEqual(await snapshot(repo), before);
  });

  it('refuses a different export for the same period and source unless --replace', async (t) => {
    const repo = await scratchRepo(t);
    const first = await writeCsv(work, 'first.csv', [HEADER, good(1), good(2)]);
    const second = await writeCsv(work, 'second.csv', [HEADER, good(1), good(2, { cost: '9.99' })]);
    assert.equal((await cli('ingest', first, '--source', 'AWS', '--root', repo)).code, 0);
    const before = await snapshot(repo);
    const refused = await cli('ingest', second, '--source', 'AWS', '--root', repo);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /already holds a different AWS export for 2025-03\n {2}hint: pass --replace/);
    assert.deepEqual(await snapshot(repo), before);
    const replaced = await cli('ingest', second, '--source', 'AWS', '--root', repo, '--replace', '--json');
    assert.equal(replaced.json().outcome, 'replaced');
    assert.deepEqual(await readFile(join(repo, 'data/2025-03/aws.csv')), await readFile(second));
  });

  it('keeps review decisions on unchanged rows when a corrected export replaces the old one', async (t) => {
    const repo = await scratchRepo(t);
    const v1 = await writeCsv(work, 'v1.csv', [HEADER, good(1), good(2, { tags: untagged }), good(3, { tags: untagged }), good(4)]);
    await cli('ingest', v1, '--source', 'AWS', '--root', repo);
    const flagsPath = join(repo, 'periods/2025-03/flags.yaml');
    const doc = parse(await readFile(flagsPath, 'utf8'));
    assert.equal(doc.flags.length, 2);
    const [keep, change] = doc.flags;
    keep.status = 'approved';
    keep.note = 'lab shared VM';
    keep.assign = { pi_email: 'pi@example.edu', project_id: 'p1', fund_org: '123456-1234' };
    change.status = 'rejected';
    await writeFile(flagsPath, stringify(doc));
    // The correction moves the kept row to another line and changes the other flagged row.
    const v2 = await writeCsv(work, 'v2.csv', [
      HEADER,
      good(4),
      good(1),
      good(3, { tags: untagged, cost: '3.26' }),
      good(2, { tags: untagged }),
    ]);
    const r = await cli('ingest', v2, '--source', 'AWS', '--root', repo, '--replace', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().flags.decisions_kept, 1);
    assert.equal(r.json().flags.decisions_dropped, 1);
    const after = parse(await readFile(flagsPath, 'utf8'));
    const kept = after.flags.find((f: { id: string }) => f.id === keep.id);
    assert.equal(kept.status, 'approved');
    assert.equal(kept.note, 'lab shared VM');
    assert.equal(kept.line, 5, 'the line follows the row');
    const fresh = after.flags.find((f: { id: string }) => f.id !== keep.id);
    assert.notEqual(fresh.id, change.id, 'a changed row is a new charge');
    assert.equal(fresh.status, 'pending');
  });

  it('keeps ids and decisions when a re-export reorders its columns and adds new ones', async (t) => {
    const repo = await scratchRepo(t);
    const rows = [good(1), good(2, { tags: untagged }), good(3, { tags: untagged })];
    const v1 = await writeCsv(work, 'cols-v1.csv', [HEADER, ...rows]);
    await cli('ingest', v1, '--source', 'AWS', '--root', repo);
    const flagsPath = join(repo, 'periods/2025-03/flags.yaml');
    const doc = parse(await readFile(flagsPath, 'utf8'));
    doc.flags[0].status = 'rejected';
    doc.flags[0].note = 'not research';
    await writeFile(flagsPath, stringify(doc));
    // The same charges, columns reversed, with a new FOCUS column and a provider's x_ column.
    const order = [...HEADER.keys()].reverse();
    const v2 = await writeCsv(work, 'cols-v2.csv', [
      ['x_Project', 'SubAccountName', ...order.map((i) => HEADER[i] as string)],
      ...rows.map((row, n) => [`extra-${n}`, 'Lab A', ...order.map((i) => row[i] as string)]),
    ]);
    const r = await cli('ingest', v2, '--source', 'AWS', '--root', repo, '--replace', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json().flags, {
      total: 2,
      new: 0,
      decisions_kept: 1,
      decisions_dropped: 0,
      by_rule: { missing_pi_email: 2, missing_fund_org: 2 },
    });
    const after = parse(await readFile(flagsPath, 'utf8'));
    assert.deepEqual(
      after.flags.map((f: { id: string; status: string }) => [f.id, f.status]),
      doc.flags.map((f: { id: string; status: string }) => [f.id, f.status]),
    );
  });

  it('gives identical rows distinct ids and finds lines across quoted newlines and blank lines', async (t) => {
    const repo = await scratchRepo(t);
    const path = join(work, 'lines.csv');
    const row = (i: number, t: string, service = 'Compute') => good(i, { tags: t }).map((c, k) => (k === 5 ? service : c));
    const cell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const lines = [
      HEADER,
      row(1, untagged, 'Multi\nline'),
      row(2, tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: '123456-1234' })),
      row(3, untagged),
      row(3, untagged),
    ].map((r) => r.map(cell).join(','));
    // line 1 header; 2-3 first record; 4 second; 5 blank; 6 and 7 the duplicates
    await writeFile(path, `${lines[0]}\n${lines[1]}\n${lines[2]}\n\n${lines[3]}\n${lines[4]}\n`);
    const r = await cli('ingest', path, '--source', 'AWS', '--root', repo);
    assert.equal(r.code, 0, r.stderr);
    const flags = parse(await readFile(join(repo, 'periods/2025-03/flags.yaml'), 'utf8')).flags;
    assert.deepEqual(
      flags.map((f: { line: number }) => f.line),
      [2, 6, 7],
    );
    assert.equal(flags[2].id, `${flags[1].id}-2`);
    assert.match(flags[1].id, /^[0-9a-f]{16}$/);
  });

  it('ingests an export delivered in parts: stored side by side, ids numbered across them, as one file would be', async (t) => {
    const repo = await scratchRepo(t);
    const dup = good(9, { tags: untagged });
    const rows1 = [good(1), dup, good(2, { tags: untagged })];
    const rows2 = [good(3), dup, good(4)];
    const part1 = await writeCsv(work, 'part-1.csv', [HEADER, ...rows1]);
    const plain2 = await writeCsv(work, 'part-2.csv', [HEADER, ...rows2]);
    const part2 = join(work, 'part-2.csv.gz');
    await writeFile(part2, gzipSync(await readFile(plain2)));
    const r = await cli('ingest', part1, part2, '--source', 'AWS', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = r.json();
    assert.deepEqual(
      report.parts.map((p: { stored_as: string; rows: number }) => [p.stored_as, p.rows]),
      [
        ['data/2025-03/aws.part-001.csv', 3],
        ['data/2025-03/aws.part-002.csv.gz', 3],
      ],
    );
    assert.equal(report.rows, 6);
    assert.equal(report.totals[0].billed, '29.500000000000000000'); // 1.25 + 9.25 + 2.25 + 3.25 + 9.25 + 4.25
    // One row alike in both parts is billed twice, as written, and said: parts rarely share a row.
    assert.deepEqual(report.warnings, [
      `${part1} and ${part2} hold 1 of the same row, alike to every column (such as this one: 2025-03-01T00:00:00Z,2025-03-10,9.25,10.00,USD,Compute,vm-9,"{""project_id"":""p1""}"): check that these are parts of one export, not two versions of it, whose shared charges would be billed twice`,
    ]);
    assert.deepEqual(await readFile(join(repo, 'data/2025-03/aws.part-002.csv.gz')), await readFile(part2));
    const flags = parse(await readFile(join(repo, 'periods/2025-03/flags.yaml'), 'utf8')).flags;
    assert.deepEqual(
      flags.map((f: { file: string; line: number }) => `${f.file}:${f.line}`),
      ['data/2025-03/aws.part-001.csv:3', 'data/2025-03/aws.part-001.csv:4', 'data/2025-03/aws.part-002.csv.gz:3'],
    );
    assert.equal(flags[2].id, `${flags[0].id}-2`, 'the same charge in two parts: one id, then -2');
    assert.equal((await cli('validate', '--root', repo)).code, 0);

    // The same charges as one file give the same flags and the same statements.
    const whole = await scratchRepo(t);
    const single = await writeCsv(work, 'whole.csv', [HEADER, ...rows1, ...rows2]);
    assert.equal((await cli('ingest', single, '--source', 'AWS', '--root', whole)).code, 0);
    const wholeFlags = parse(await readFile(join(whole, 'periods/2025-03/flags.yaml'), 'utf8')).flags;
    assert.deepEqual(
      wholeFlags.map((f: { id: string }) => f.id),
      flags.map((f: { id: string }) => f.id),
    );
    const statements = async (root: string) =>
      (await cli('generate', '--period', '2025-03', '--dry-run', '--json', '--root', root)).json().statements;
    assert.deepEqual(await statements(repo), await statements(whole));

    // A flag lost from flags.yaml: the fix re-ingests the whole export, every part in order.
    const flagsPath = join(repo, 'periods/2025-03/flags.yaml');
    const full = await readFile(flagsPath, 'utf8');
    const lost = parse(full);
    lost.flags.pop();
    await writeFile(flagsPath, stringify(lost));
    const check = await cli('validate', '--root', repo);
    assert.equal(check.code, 1);
    assert.match(
      check.stdout + check.stderr,
      /focus-billing ingest data\/2025-03\/aws\.part-001\.csv data\/2025-03\/aws\.part-002\.csv\.gz --source aws --period 2025-03 --replace/,
    );
    await writeFile(flagsPath, full);

    // Parts are one export: the same again is a no-op, another order is a different export.
    assert.equal((await cli('ingest', part1, part2, '--source', 'AWS', '--root', repo, '--json')).json().outcome, 'unchanged');
    const swapped = await cli('ingest', part2, part1, '--source', 'AWS', '--root', repo);
    assert.equal(swapped.code, 2);
    assert.match(swapped.stderr, /aws\.part-001\.csv, data\/2025-03\/aws\.part-002\.csv\.gz already hold a different AWS export/);

    // Replaced by one corrected file: the parts go, decisions on unchanged charges stay.
    const doc = parse(await readFile(join(repo, 'periods/2025-03/flags.yaml'), 'utf8'));
    doc.flags[0].status = 'rejected';
    doc.flags[0].note = 'duplicate';
    await writeFile(join(repo, 'periods/2025-03/flags.yaml'), stringify(doc));
    const replaced = await cli('ingest', single, '--source', 'AWS', '--root', repo, '--replace', '--json');
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.equal(replaced.json().flags.decisions_kept, 1);
    assert.deepEqual((await readdir(join(repo, 'data/2025-03'))).sort(), ['aws.csv']);
  });

  it('refuses two versions of a month given as its parts, whose shared charges would be billed twice', async (t) => {
    const repo = await scratchRepo(t);
    // The month as exported on the 10th, then again at its end: the later holds the earlier's rows.
    const early = Array.from({ length: 12 }, (_, i) => good(i + 1));
    const late = [...early, ...Array.from({ length: 8 }, (_, i) => good(i + 13))];
    const v1 = await writeCsv(work, 'aws-2025-03-v1.csv', [HEADER, ...early]);
    const v2 = await writeCsv(work, 'aws-2025-03-v2.csv', [HEADER, ...late]);
    const before = await snapshot(repo);
    for (const dry of [['--dry-run'], []]) {
      const r = await cli('ingest', v1, v2, '--source', 'AWS', '--root', repo, ...dry);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /^error: \S*aws-2025-03-v1\.csv and \S*aws-2025-03-v2\.csv hold 12 of the same rows, alike to every column \(such as this one: 2025-03-01T00:00:00Z,2025-03-\d\d,\d+\.25,[^)]*vm-\d+,[^)]*\): parts of one export never hold the same row, so these are two versions of the export, and their shared charges would be billed twice\n {2}hint: ingest the latest version of the month alone/,
      );
    }
    assert.deepEqual(await snapshot(repo), before);
    // The same as Parquet, compared by their columns.
    const db = await Database.open();
    const parquet = [join(work, 'aws-2025-03-v1.parquet'), join(work, 'aws-2025-03-v2.parquet')];
    try {
      for (const [i, csv] of [v1, v2].entries())
        await db.query(`COPY (SELECT * FROM read_csv($csv, all_varchar = true)) TO '${parquet[i]}' (FORMAT parquet)`, { csv });
    } finally {
      db.close();
    }
    const asParquet = await cli('ingest', ...parquet, '--source', 'AWS', '--root', repo);
    assert.equal(asParquet.code, 2, asParquet.stderr);
    assert.match(
      asParquet.stderr,
      /hold 12 of the same rows, alike to every column \(such as ResourceId "vm-\d+", ChargePeriodStart "2025-03-\d\d", BilledCost "\d+\.25"\)/,
    );
    // The later version alone is the month.
    const alone = await cli('ingest', v2, '--source', 'AWS', '--root', repo, '--json');
    assert.equal(alone.code, 0, alone.stderr);
    assert.equal(alone.json().rows, 20);
  });

  it('refuses parts that are one file, or hold the same bytes, which would bill every row twice', async (t) => {
    const repo = await scratchRepo(t);
    const part1 = await writeCsv(work, 'same-1.csv', [HEADER, good(1), good(2)]);
    const copy = join(work, 'same-1-copy.csv.gz');
    await writeFile(copy, gzipSync(await readFile(part1)));
    const link = join(work, 'same-1-link.csv');
    await rm(link, { force: true });
    await symlink(part1, link);
    const before = await snapshot(repo);
    for (const [second, said] of [
      [part1, /same-1\.csv is named twice/],
      [link, /same-1-link\.csv is the same file as \S*same-1\.csv/],
      [copy, /same-1-copy\.csv\.gz holds the same bytes as \S*same-1\.csv/],
    ] as const) {
      const r = await cli('ingest', part1, second, '--source', 'AWS', '--root', repo);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, said);
      assert.match(r.stderr, /hint: name each part of the export once: two parts never hold the same rows/);
    }
    assert.deepEqual(await snapshot(repo), before);
    // Stored so by hand, as parts of one export, every reader refuses the period.
    assert.equal((await cli('ingest', part1, '--source', 'AWS', '--root', repo)).code, 0);
    await rename(join(repo, 'data/2025-03/aws.csv'), join(repo, 'data/2025-03/aws.part-001.csv'));
    await writeFile(join(repo, 'data/2025-03/aws.part-002.csv.gz'), await readFile(copy));
    const check = await cli('validate', '--root', repo);
    assert.equal(check.code, 1);
    assert.match(
      check.stderr,
      /data\/2025-03\/aws\.part-001\.csv and data\/2025-03\/aws\.part-002\.csv\.gz hold the same export, as two parts of one; it would be billed twice/,
    );
  });

  it('ingests Parquet exports: typed columns and map Tags read as the same charges as CSV', async (t) => {
    const rows = [good(1), good(2, { tags: untagged }), good(3, { cost: '1.5E-3' })];
    const csv = await writeCsv(work, 'typed.csv', [HEADER, ...rows]);
    const parquet = join(work, 'typed.parquet');
    const db = await Database.open();
    try {
      // As providers write it: decimal and double amounts, timestamps with zone, Tags as a map.
      await db.query(
        `COPY (SELECT BillingPeriodStart::TIMESTAMPTZ AS BillingPeriodStart, ChargePeriodStart::DATE AS ChargePeriodStart,
            BilledCost::DECIMAL(18,10) AS BilledCost, ListCost::DOUBLE AS ListCost, BillingCurrency, ServiceName, ResourceId,
            json_transform(Tags, '"MAP(VARCHAR, VARCHAR)"') AS Tags
          FROM read_csv($csv, all_varchar = true)) TO '${parquet}' (FORMAT parquet)`,
        { csv },
      );
    } finally {
      db.close();
    }
    const repo = await scratchRepo(t);
    const r = await cli('ingest', parquet, '--source', 'AWS', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().stored_as, 'data/2025-03/aws.parquet');
    assert.deepEqual(await readFile(join(repo, 'data/2025-03/aws.parquet')), await readFile(parquet));
    const fromCsv = await cli('ingest', csv, '--source', 'AWS', '--root', await scratchRepo(t), '--dry-run', '--json');
    assert.deepEqual(r.json().totals, fromCsv.json().totals);
    assert.equal(r.json().totals[0].billed, '3.501500000000000000'); // 1.25 + 2.25 + 0.0015
    const flags = parse(await readFile(join(repo, 'periods/2025-03/flags.yaml'), 'utf8')).flags;
    assert.deepEqual(
      flags.map((f: { line: number; rule: string }) => [f.line, f.rule]),
      [[2, 'missing_pi_email']],
      'Parquet has rows, not lines: line is the row number',
    );
    assert.equal((await cli('validate', '--root', repo)).code, 0);

    const bad = join(work, 'bad.parquet');
    const db2 = await Database.open();
    try {
      await db2.query(
        `COPY (SELECT '2025-03-01' AS BillingPeriodStart, unnest(['1.00', '$5']) AS BilledCost) TO '${bad}' (FORMAT parquet)`,
      );
    } finally {
      db2.close();
    }
    const refused = await cli('ingest', bad, '--source', 'AWS', '--root', repo);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /bad\.parquet \(row 2\): BilledCost: expected a decimal number such as 12\.34 or 1\.5E-3, found "\$5"/);

    // Parquet has no header line to point after: said in its own terms.
    const empty = join(work, 'empty-rows.parquet');
    const db3 = await Database.open();
    try {
      await db3.query(`COPY (SELECT '2025-03-01' AS BillingPeriodStart, '1.00' AS BilledCost WHERE false) TO '${empty}' (FORMAT parquet)`);
    } finally {
      db3.close();
    }
    const none = await cli('ingest', empty, '--source', 'AWS', '--root', repo);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^error: \S+empty-rows\.parquet: no charges: expected at least one row, found a Parquet file without rows\n/);
  });

  it("reads Tags given as a list of key/value records (Google's FOCUS export to BigQuery) as the JSON a CSV writes", async (t) => {
    const rows = [good(1), good(2, { tags: untagged }), good(3), good(4)];
    const csv = await writeCsv(work, 'records.csv', [HEADER, ...rows]);
    const parquet = join(work, 'records.parquet');
    const db = await Database.open();
    try {
      // Each entry a record with more fields than key and value, as Google writes them. vm-3 has a
      // key twice (a project's label and the resource's), vm-4 an entry that is NULL.
      await db.query(
        `COPY (SELECT BillingPeriodStart, ChargePeriodStart, BilledCost, ListCost, BillingCurrency, ServiceName, ResourceId,
            CASE ResourceId
              WHEN 'vm-3' THEN [{key: 'pi_email', value: 'a@x.edu', x_inherited: true}, {key: 'pi_email', value: 'b@x.edu', x_inherited: false}]
              WHEN 'vm-4' THEN [NULL, {key: 'project_id', value: 'p1', x_inherited: false}]
              ELSE list_transform(map_entries(json_transform(Tags, '"MAP(VARCHAR, VARCHAR)"')), e -> {key: e.key, value: e.value, x_inherited: false})
            END AS Tags
          FROM read_csv($csv, all_varchar = true)) TO '${parquet}' (FORMAT parquet)`,
        { csv },
      );
    } finally {
      db.close();
    }
    const repo = await scratchRepo(t);
    const r = await cli('ingest', parquet, '--source', 'GCP', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().totals[0].billed, '11.000000000000000000'); // 1.25 + 2.25 + 3.25 + 4.25
    const flags = parse(await readFile(join(repo, 'periods/2025-03/flags.yaml'), 'utf8')).flags;
    assert.deepEqual(
      flags.map((f: { line: number; rule: string }) => [f.line, f.rule]),
      [
        [2, 'missing_pi_email'],
        [3, 'invalid_tags'],
        [4, 'invalid_tags'],
      ],
    );
    // vm-1's record list is the object {"pi_email": …, "project_id": …, "fund_org": …}: billed to its PI.
    const set = (await cli('generate', '--period', '2025-03', '--dry-run', '--json', '--root', repo)).json();
    assert.deepEqual(
      set.statements.map((s: { pi_email: string; project_id: string; fund_org: string; amount_due: string }) => [
        s.pi_email,
        s.project_id,
        s.fund_org,
        s.amount_due,
      ]),
      [['pi@example.edu', 'p1', '123456-1234', '1.25']],
    );
  });

  it('bills EffectiveCost under that cost basis, and never adds two currencies on one statement', async (ctx) => {
    const header = [...HEADER, 'EffectiveCost'];
    const t = tags({ pi_email: 'pi@example.edu', project_id: 'p1', fund_org: '123456-1234' });
    const rows = [
      [...good(1, { tags: t }), '0.75'],
      [...good(2, { tags: t }), '1.50'],
    ];
    const file = await writeCsv(work, 'effective.csv', [header, ...rows]);
    const effective = await scratchRepo(ctx, 'billing:\n  cost_basis: EffectiveCost\n');
    const r = await cli('ingest', file, '--source', 'AWS', '--root', effective, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().totals[0].billed, '2.250000000000000000'); // 0.75 + 1.50, not 1.25 + 2.25
    const billed = await cli('ingest', file, '--source', 'AWS', '--root', await scratchRepo(ctx), '--dry-run', '--json');
    assert.equal(billed.json().totals[0].billed, '3.500000000000000000');

    const mixed = await scratchRepo(ctx);
    const eur = [...good(3, { tags: t })];
    eur[4] = 'EUR';
    const two = await writeCsv(work, 'two-currencies.csv', [HEADER, good(1, { tags: t }), eur]);
    assert.equal((await cli('ingest', two, '--source', 'AWS', '--root', mixed)).code, 0);
    const gen = await cli('generate', '--period', '2025-03', '--dry-run', '--root', mixed);
    assert.equal(gen.code, 1, 'a check on the data, not a bad input file');
    assert.match(
      gen.stderr,
      /PI pi@example\.edu, project p1 has charges in (EUR and USD|USD and EUR) in 2025-03: a statement never adds two currencies/,
    );
  });

  it('refuses a file spanning periods, listing them, and with --period flags the others', async (t) => {
    const repo = await scratchRepo(t);
    const path = await writeCsv(work, 'span.csv', [HEADER, good(1), good(2), good(3, { period: '2025-02-01' })]);
    const before = await snapshot(repo);
    const refused = await cli('ingest', path, '--source', 'AWS', '--root', repo);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /rows span 2 billing periods: 2025-02 \(1 row\), 2025-03 \(2 rows\); expected one\n {2}hint: pass --period 2025-03/,
    );
    assert.deepEqual(await snapshot(repo), before);
    const r = await cli('ingest', path, '--source', 'AWS', '--root', repo, '--period', '2025-03', '--json');
    assert.equal(r.code, 0);
    assert.deepEqual(r.json().flags.by_rule, { period_mismatch: 1 });
  });

  it('reads gzip exports and stores them compressed', async (t) => {
    const repo = await scratchRepo(t);
    const gz = join(work, 'hpc.csv.gz');
    await writeFile(gz, gzipSync(await readFile(join(SAMPLE, 'hpc_2025-01.csv'))));
    const plain = await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', repo, '--dry-run', '--json');
    const r = await cli('ingest', gz, '--source', 'HPC', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().stored_as, 'data/2025-01/hpc.csv.gz');
    assert.deepEqual(r.json().totals, plain.json().totals);
    assert.equal(r.json().flags.total, plain.json().flags.total);
  });

  it("reads a file DuckDB's parallel reader refuses (lines of 300 KB), in every command that reads it", async (t) => {
    // 20 rows of 300 KB: DuckDB's parallel reader, in 4 MB buffers, refuses it ("does not support
    // a full read on this file"); read again in larger buffers, every row is there.
    const repo = await scratchRepo(t);
    const rows = Array.from({ length: 20 }, (_, i) => {
      const row = good(i);
      row[6] = `vm-${i}-${'x'.repeat(300_000)}`;
      return row;
    });
    const file = await writeCsv(work, 'wide.csv', [HEADER, ...rows]);
    const r = await cli('ingest', file, '--source', 'AWS', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().rows, 20);
    // 0.25 + 1.25 + … + 19.25, and 1.00 + … + 20.00
    assert.deepEqual(r.json().totals, [
      {
        currency: 'USD',
        rows: 20,
        billed: '195.000000000000000000',
        list: '210.000000000000000000',
        flagged_rows: 0,
        flagged_amount: '0.000000000000000000',
      },
    ]);
    const generated = await cli('generate', '--period', '2025-03', '--dry-run', '--json', '--root', repo);
    assert.equal(generated.code, 0, generated.stderr);
    assert.equal(generated.json().statements[0].amount_due, '195.00');
    assert.equal(generated.json().statements[0].charges, 20);

    // The connection then reads in parallel, its usual way, again.
    const db = await Database.open();
    t.after(() => db.close());
    const params = new Params();
    const sniffed = await sniffFile(file, 'wide.csv');
    const read = readFileSql({ file: sniffed, columns: {}, sourceSlug: 'aws', relPath: 'wide.csv' }, params);
    const [counted] = await db.query(`SELECT count(*)::INT AS n, max(length(c6))::INT AS longest FROM ${read}`, params.values);
    assert.deepEqual(counted, { n: 20, longest: 300_006 });
    assert.deepEqual(await db.query(`SELECT ${CSV_RETRY_SQL} AS retry`), [{ retry: null }]);
  });

  it('never bills part of a data file committed with a last line too long: validate, generate and build refuse it', async (t) => {
    // DuckDB's parallel reader drops a last line longer than its buffer without a word; ingest
    // refuses such a file, but staff may commit one by hand, which every report reads.
    const repo = await scratchRepo(t);
    await mkdir(join(repo, 'data/2025-03'), { recursive: true });
    const row = good(1).map((v) => (v.includes(',') ? `"${v.replace(/"/g, '""')}"` : v));
    const last = row.map((v, i) => (HEADER[i] === 'ResourceId' ? 'v'.repeat(6_000_000) : v));
    await writeFile(join(repo, 'data/2025-03/aws.csv'), `${HEADER.join(',')}\n${row.join(',')}\n${last.join(',')}\n`);
    const checked = await cli('validate', '--root', repo);
    assert.notEqual(checked.code, 0);
    assert.match(checked.stdout + checked.stderr, /data\/2025-03\/aws\.csv:3: line too long: .*found a longer line \(6,000,\d{3} bytes\)/);
    for (const args of [
      ['generate', '--period', '2025-03', '--dry-run'],
      ['build', '--no-pdf'],
    ]) {
      const r = await cli(...args, '--root', repo);
      assert.equal(r.code, 2, `${args[0]}: ${r.stdout}`);
      assert.match(
        r.stderr,
        /^error: data\/2025-03\/aws\.csv: line too long: expected lines of at most 2,000,000 bytes, found a longer last line\n/,
      );
    }
    // The same bytes committed as a .csv.gz, whose last line cannot be seen without inflating it:
    // the report's pass inflates it in JavaScript too, and refuses it before any total is kept.
    const text = await readFile(join(repo, 'data/2025-03/aws.csv'));
    await rm(join(repo, 'data/2025-03/aws.csv'));
    await writeFile(join(repo, 'data/2025-03/aws.csv.gz'), gzipSync(text));
    for (const args of [
      ['generate', '--period', '2025-03', '--dry-run'],
      ['build', '--no-pdf'],
      ['generate', '--period', '2025-03', '--dry-run'],
    ]) {
      const r = await cli(...args, '--root', repo);
      assert.equal(r.code, 2, `${args[0]}: ${r.stdout}`);
      assert.match(r.stderr, /^error: data\/2025-03\/aws\.csv\.gz:3: line too long: .*found a longer line \(6,000,\d{3} bytes\)\n/);
    }
    assert.deepEqual(await readdir(join(repo, '.cache', 'report')).catch(() => []), []);
  });

  it('takes a file of lines ended by \\r alone longer than a line may be, which is many lines, not one', async (t) => {
    // The line-length guards above count \r as a line's end too: 2.8 MB of \r-ended lines is no long line.
    const repo = await scratchRepo(t);
    const rows = Array.from({ length: 20_000 }, (_, i) =>
      good(i)
        .map((v) => (v.includes(',') ? `"${v.replace(/"/g, '""')}"` : v))
        .join(','),
    );
    const file = join(work, 'cr-only.csv');
    await writeFile(file, `${[HEADER.join(','), ...rows].join('\r')}\r`);
    const r = await cli('ingest', file, '--source', 'AWS', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().rows, 20_000);
    assert.equal((await cli('validate', '--root', repo)).code, 0);
    const generated = await cli('generate', '--period', '2025-03', '--dry-run', '--json', '--root', repo);
    assert.equal(generated.code, 0, generated.stderr);
    assert.equal(generated.json().reconciliation[0].rows, 20_000);
  });

  it('bills a period from its start as written in the provider’s zone, east or west of UTC', async (t) => {
    const repo = await scratchRepo(t);
    const periodOf = async (start: string) => {
      const file = await writeCsv(work, 'zone.csv', [HEADER, good(1, { period: start })]);
      const r = await cli('ingest', file, '--source', 'HPC', '--dry-run', '--json', '--root', repo);
      assert.equal(r.code, 0, r.stderr);
      return r.json().period;
    };
    const starts = {
      '2025-03-01T00:00:00Z': '2025-03',
      '2025-03-01T08:00:00Z': '2025-03', // Google's invoice month, US Pacific time
      '2025-02-28T23:00:00Z': '2025-03', // Central Europe, written in UTC
      '2025-03-01T00:00:00+01:00': '2025-03', // the same, with its offset
      '2025-03-01 00:00:00-12:00': '2025-03', // the last zone to start a month
      '2025-02-28T10:00:00Z': '2025-03', // the first (UTC+14)
      '2025-02-28T09:59:59Z': '2025-02', // before any zone's March
      '2025-03-31T09:59:59Z': '2025-03',
      '2025-03-15T00:00:00Z': '2025-03',
    };
    const found: Record<string, string> = {};
    for (const start of Object.keys(starts)) found[start] = await periodOf(start);
    assert.deepEqual(found, starts);
  });

  it('writes nothing on --dry-run, and refuses a closed period', async (t) => {
    const repo = await scratchRepo(t);
    const before = await snapshot(repo);
    const dry = await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', repo, '--dry-run');
    assert.equal(dry.code, 0);
    assert.match(dry.stdout, /^Dry run, nothing written/);
    assert.deepEqual(await snapshot(repo), before);
    await mkdir(join(repo, 'periods/2025-01'), { recursive: true });
    await writeFile(join(repo, 'periods/2025-01/period.yaml'), 'period: 2025-01\nstatus: closed\n');
    const closed = await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', repo);
    assert.equal(closed.code, 2);
    assert.match(closed.stderr, /period 2025-01 is closed: cannot ingest into it/);
  });
});

describe('bad input: exit 2, a located message, nothing written', () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    [
      'missing required column',
      () =>
        writeCsv(work, 'nocost.csv', [
          ['BillingPeriodStart', 'Cost', 'Tags'],
          ['2025-03-01', '1', '{}'],
        ]),
      /nocost\.csv:1:1: missing required column BilledCost: expected a FOCUS header with BilledCost, found 3 columns \("BillingPeriodStart", "Cost", "Tags"\)\n {2}hint: did you mean "Cost" for BilledCost\?/,
    ],
    [
      'columns separated by semicolons, as a spreadsheet in a decimal-comma language saves them',
      async () => {
        const path = join(work, 'semicolons.csv');
        await writeFile(path, 'BillingPeriodStart;BilledCost;Tags\n2025-03-01;1,5;{}\n');
        return path;
      },
      /semicolons\.csv:1:1: the columns are separated by semicolons, not commas: expected a FOCUS CSV, found one column\n {2}hint: export it again as comma-separated CSV/,
    ],
    [
      'an AWS Cost and Usage Report, whose columns are no FOCUS columns misspelt',
      () =>
        writeCsv(work, 'cur.csv', [
          ['identity/LineItemId', 'bill/BillingPeriodStartDate', 'lineItem/UnblendedCost', 'resourceTags/user:pi_email'],
          ['abc', '2025-03-01T00:00:00Z', '1.2', 'a@x.edu'],
        ]),
      /cur\.csv:1:1: this is an AWS Cost and Usage Report \(CUR\), not a FOCUS export: expected a FOCUS header with BillingPeriodStart, BilledCost, found "identity\/LineItemId", .*\n {2}hint: create a FOCUS export in AWS Billing and Cost Management/,
    ],
    [
      'an Azure cost details export (its BillingPeriodStartDate is no FOCUS BillingPeriodStart to rename)',
      () =>
        writeCsv(work, 'azure-actual.csv', [
          ['BillingPeriodStartDate', 'Date', 'CostInBillingCurrency', 'MeterCategory', 'Tags'],
          ['05/01/2025', '05/03/2025', '1.2', 'Virtual Machines', '"pi_email": "a@x.edu"'],
        ]),
      /azure-actual\.csv:1:1: this is an Azure cost details export \(actual or amortized cost\), not a FOCUS export: .*\n {2}hint: create an export of the "Cost and usage details \(FOCUS\)" dataset/,
    ],
    [
      'a Google Cloud billing export',
      () =>
        writeCsv(work, 'gcp-export.csv', [
          ['billing_account_id', 'service.description', 'usage_start_time', 'cost', 'currency'],
          ['0X-1', 'Compute Engine', '2025-03-01 00:00:00 UTC', '1.2', 'USD'],
        ]),
      /gcp-export\.csv:1:1: this is a Google Cloud billing export, not a FOCUS export: .*\n {2}hint: export Google Cloud's FOCUS billing data from BigQuery/,
    ],
    [
      'a cost that is not a number',
      () => writeCsv(work, 'dollar.csv', [HEADER, good(1), good(2, { cost: '$10,100.00' }), good(3, { cost: 'n/a' })]),
      /dollar\.csv:3:3: BilledCost: expected a decimal number such as 12\.34 or 1\.5E-3, found "\$10,100\.00" \(and 1 more invalid value in the file\)\n {2}hint: FOCUS amounts are plain decimals/,
    ],
    [
      'an unparseable date',
      () => writeCsv(work, 'date.csv', [HEADER, good(1), good(2, { period: '3/1/25' })]),
      /date\.csv:3:1: BillingPeriodStart: expected an ISO 8601 date or datetime such as 2025-01-01 or 2025-01-01T00:00:00Z, between 1900 and 2199, found "3\/1\/25"/,
    ],
    [
      'an unterminated quote',
      async () => {
        const p = join(work, 'quote.csv');
        await writeFile(
          p,
          `${HEADER.join(',')}\n2025-03-01,2025-03-01,1,1,USD,Compute,vm,"{""a"": 1}"\n2025-03-01,2025-03-01,1,1,USD,"Compute,vm,{}\n`,
        );
        return p;
      },
      /quote\.csv:3: malformed CSV: expected a closing double quote, found a quoted value that never ends/,
    ],
    [
      // Longer than the reader's buffer (4 MB) too, where DuckDB itself reports a quote that never ends.
      'a line of 5 MB',
      async () => {
        const p = join(work, 'long.csv');
        const tagsText = `"{""pi_email"": ""a@b.edu"", ""note"": ""${'x'.repeat(5_000_000)}""}"`;
        await writeFile(
          p,
          `${HEADER.join(',')}\n2025-03-01,2025-03-01,1,1,USD,Compute,vm,{}\n2025-03-01,2025-03-01,1,1,USD,Compute,vm,${tagsText}\n`,
        );
        return p;
      },
      /long\.csv:3: line too long: expected lines of at most 2,000,000 bytes, found a longer line \(5,000,\d{3} bytes\)/,
    ],
    [
      // DuckDB's parallel reader dropped it without a word: one row of two was counted.
      'a last line of 6 MB, outside quotes',
      async () => {
        const p = join(work, 'long-last.csv');
        await writeFile(
          p,
          `${HEADER.join(',')}\n2025-03-01,2025-03-01,1,1,USD,Compute,vm,{}\n2025-03-01,2025-03-01,1,1,USD,Compute,${'v'.repeat(6_000_000)},{}\n`,
        );
        return p;
      },
      /long-last\.csv:3: line too long: expected lines of at most 2,000,000 bytes, found a longer line \(6,000,\d{3} bytes\)/,
    ],
    [
      'a row with too many fields',
      async () => {
        const p = join(work, 'fields.csv');
        await writeFile(p, `${HEADER.join(',')}\n2025-03-01,2025-03-01,1,1,USD,Compute,vm,{},extra\n`);
        return p;
      },
      /fields\.csv:2: malformed CSV: expected 8 fields as in the header, found 9 fields\n {2}hint: values with commas must be quoted/,
    ],
    [
      'an empty file',
      async () => {
        const p = join(work, 'empty.csv');
        await writeFile(p, '');
        return p;
      },
      /empty\.csv:1:1: empty file: expected a FOCUS export \(CSV with a header row, or Parquet\), found 0 bytes/,
    ],
    [
      'a binary file',
      async () => {
        const p = join(work, 'binary.csv');
        await writeFile(p, Buffer.from([0x42, 0x69, 0x6c, 0x6c, 0x00, 0x01, 0xff, 0x10]));
        return p;
      },
      /binary\.csv:1:5: not a text file: expected UTF-8 CSV text, found binary data \(a NUL byte\)/,
    ],
    [
      'a header with no rows',
      () => writeCsv(work, 'header.csv', [HEADER]),
      /header\.csv:2: no charges: expected at least one data row after the header, found a header only/,
    ],
    [
      'Latin-1 text',
      async () => {
        const p = join(work, 'latin1.csv');
        await writeFile(
          p,
          Buffer.concat([
            Buffer.from(`${HEADER.join(',')}\n2025-03-01,2025-03-01,1,1,USD,Caf`),
            Buffer.from([0xe9]),
            Buffer.from(',vm,{}\n'),
          ]),
        );
        return p;
      },
      /latin1\.csv:2:\d+: invalid text encoding: expected UTF-8/,
    ],
  ];
  for (const [name, make, message] of cases) {
    it(name, async (t) => {
      const repo = await scratchRepo(t);
      const file = await make();
      const before = await snapshot(repo);
      const r = await cli('ingest', file, '--source', 'AWS', '--root', repo);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
      assert.deepEqual(await snapshot(repo), before);
    });
  }
  it('malformed config.yaml', async (t) => {
    const repo = await scratchRepo(t, 'billing:\n  cost_basis: [\n');
    const before = await snapshot(repo);
    const r = await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', repo);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: config\.yaml:\d+:\d+: invalid YAML/);
    assert.deepEqual(await snapshot(repo), before);
  });
  it('an unknown source', async (t) => {
    const repo = await scratchRepo(t);
    const r = await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'Slurm', '--root', repo);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /unknown source "Slurm": expected one of AWS, Azure, GCP, HPC, Storage, VMs\n {2}hint: add it under `sources:` in config.yaml/,
    );
  });

  it('more memory than DuckDB may use (OCB_MEMORY_LIMIT), or a limit it cannot read', async (t) => {
    // 60 held rows of 100 KB names: 6 MB that DuckDB cannot hold in 16 MB (2,000 of 300 KB did not fit in 2 GiB).
    const repo = await scratchRepo(t);
    const rows = Array.from({ length: 60 }, (_, i) => {
      const row = good(i, { tags: untagged });
      row[6] = `vm-${i}-${'x'.repeat(100_000)}`;
      return row;
    });
    const file = await writeCsv(work, 'heavy.csv', [HEADER, ...rows]);
    const before = await snapshot(repo);
    const set = process.env.OCB_MEMORY_LIMIT;
    t.after(() => {
      if (set === undefined) delete process.env.OCB_MEMORY_LIMIT;
      else process.env.OCB_MEMORY_LIMIT = set;
    });
    process.env.OCB_MEMORY_LIMIT = '16MB';
    const r = await cli('ingest', file, '--source', 'AWS', '--root', repo);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: \S+heavy\.csv: DuckDB needed more memory than it may use \(memory_limit 16MB\): Out of Memory Error: failed to allocate .*\n {2}hint: very long texts in the rows .* set OCB_MEMORY_LIMIT \(such as OCB_MEMORY_LIMIT=6GiB\)\n$/,
    );
    for (const limit of ['lots', '99999999TB']) {
      process.env.OCB_MEMORY_LIMIT = limit;
      const unread = await cli('ingest', file, '--source', 'AWS', '--root', repo);
      assert.equal(unread.code, 2, unread.stderr);
      assert.match(unread.stderr, new RegExp(`^error: OCB_MEMORY_LIMIT="${limit}": expected a size such as 4GiB or 6000MB\n`));
    }
    assert.deepEqual(await snapshot(repo), before, 'nothing written');
    process.env.OCB_MEMORY_LIMIT = '2GiB';
    const taken = await cli('ingest', file, '--source', 'AWS', '--root', repo, '--json');
    assert.equal(taken.code, 0, taken.stderr);
    assert.equal(taken.json().flags.total, 60);
  });
});

describe('more charges held for review than flag_rules.max_flags', () => {
  /** The sample config, with flag_rules.max_flags (and any data_files settings) set. */
  const limited = async (max: number, dataFiles = '') =>
    `${(await readFile(join(PROJECT, 'config.yaml'), 'utf8')).replace(/^flag_rules:\n/m, `flag_rules:\n  max_flags: ${max}\n`)}${dataFiles}`;
  const heldRows = (n: number, from = 1) => Array.from({ length: n }, (_, i) => good(from + i, { tags: untagged }));

  it('refuses an export that would hold more, even on --dry-run, writing nothing; takes one within the limit', async (t) => {
    const repo = await scratchRepo(t, await limited(3));
    const file = await writeCsv(work, 'held4.csv', [HEADER, good(1), ...heldRows(4, 2)]);
    const before = await snapshot(repo);
    for (const dry of [[], ['--dry-run']]) {
      const refused = await cli('ingest', file, '--source', 'AWS', '--root', repo, ...dry);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /held4\.csv: 4 of its 5 rows would be held for review, more than flag_rules\.max_flags \(3\) allows\n/);
      assert.match(refused.stderr, /hint: .*lacks its tags.*Raise flag_rules\.max_flags \(at most 100,000\)/);
    }
    assert.deepEqual(await snapshot(repo), before, 'nothing written');
    const within = await writeCsv(work, 'held3.csv', [HEADER, good(1), ...heldRows(3, 2)]);
    const taken = await cli('ingest', within, '--source', 'AWS', '--root', repo, '--json');
    assert.equal(taken.code, 0, taken.stderr);
    assert.equal(taken.json().flags.total, 3);
  });

  it('says what most likely holds them: a file without Tags, or rows of other months than --period', async (t) => {
    const repo = await scratchRepo(t, await limited(3));
    const noTags = await writeCsv(work, 'no-tags.csv', [
      HEADER.slice(0, -1),
      ...Array.from({ length: 4 }, (_, i) => good(i + 1).slice(0, -1)),
    ]);
    const refused = await cli('ingest', noTags, '--source', 'AWS', '--root', repo);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /4 of its 4 rows would be held.*\n {2}hint: .*The file has no Tags column, so no charge in it is attributed/,
    );
    const months = await writeCsv(work, 'two-months.csv', [
      HEADER,
      good(1),
      ...Array.from({ length: 4 }, (_, i) => good(i + 2, { period: '2025-04-01T00:00:00Z' })),
    ]);
    const mismatched = await cli('ingest', months, '--source', 'AWS', '--period', '2025-03', '--root', repo);
    assert.equal(mismatched.code, 2, mismatched.stderr);
    assert.match(
      mismatched.stderr,
      /hint: .*4 of them are of other months than --period 2025-03 \(period_mismatch\): ingest each month's export on its own/,
    );
  });

  it('counts every source of the period together: the export that would pass the limit is refused, the flags kept', async (t) => {
    const repo = await scratchRepo(t, await limited(3));
    const aws = await writeCsv(work, 'aws-held.csv', [HEADER, ...heldRows(2)]);
    const azure = await writeCsv(work, 'azure-held.csv', [HEADER, ...heldRows(2, 10)]);
    assert.equal((await cli('ingest', aws, '--source', 'AWS', '--root', repo)).code, 0);
    const before = await snapshot(repo);
    const refused = await cli('ingest', azure, '--source', 'Azure', '--root', repo);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /periods\/2025-03\/flags\.yaml would hold 4 flags \(2 of them this export's\), more than flag_rules\.max_flags \(3\) allows\n {2}hint: decided flags stay in the file too: replace the other sources' exports with tagged ones/,
    );
    assert.deepEqual(await snapshot(repo), before, 'nothing written');
    // With the limit lowered below what the period holds, an export that adds no flag is still taken.
    await writeFile(join(repo, 'config.yaml'), await limited(1));
    const tagged = await writeCsv(work, 'azure-tagged.csv', [HEADER, good(20)]);
    const clean = await cli('ingest', tagged, '--source', 'Azure', '--root', repo, '--json');
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(clean.json().flags.total, 0);
  });

  it('says an export stored under a higher limit is unchanged, and still refuses another past the lowered one', async (t) => {
    const repo = await scratchRepo(t, await limited(5));
    const file = await writeCsv(work, 'held-stored.csv', [HEADER, good(1), ...heldRows(4, 2)]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    await writeFile(join(repo, 'config.yaml'), await limited(3));
    const before = await snapshot(repo);
    for (const dry of [[], ['--dry-run']]) {
      const again = await cli('ingest', file, '--source', 'AWS', '--root', repo, '--json', ...dry);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json().outcome, 'unchanged');
      assert.equal(again.json().flags.total, 4);
      assert.equal(again.json().rows, 5);
    }
    assert.deepEqual(await snapshot(repo), before, 'nothing written');
    // A corrected export that would still hold 4 is refused by the lowered limit, not taken as a replacement.
    const corrected = await writeCsv(work, 'held-corrected.csv', [HEADER, good(1), ...heldRows(4, 3)]);
    const refused = await cli('ingest', corrected, '--source', 'AWS', '--root', repo, '--replace');
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /held-corrected\.csv: 4 of its 5 rows would be held for review, more than flag_rules\.max_flags \(3\) allows\n/,
    );
    assert.deepEqual(await snapshot(repo), before, 'nothing written');
  });

  it('refuses a flags.yaml larger than git hosts take without LFS, which it is never kept in', async (t) => {
    const repo = await scratchRepo(t, await limited(50, '\ndata_files: { lfs_above_mb: 0.002 }\n'));
    const file = await writeCsv(work, 'held5.csv', [HEADER, ...heldRows(5)]);
    const before = await snapshot(repo);
    for (const dryRun of [['--dry-run'], []]) {
      const refused = await cli('ingest', file, '--source', 'AWS', '--root', repo, ...dryRun);
      assert.equal(refused.code, 2, `${dryRun.join('')} ${refused.stdout}`);
      assert.match(
        refused.stderr,
        /periods\/2025-03\/flags\.yaml would be [3-9] KB, more than data_files\.lfs_above_mb \(0\.002 MB\): git hosts refuse files over 100 MB/,
      );
    }
    assert.deepEqual(await snapshot(repo), before, 'nothing written');
    const fewer = await writeCsv(work, 'held1.csv', [HEADER, ...heldRows(1)]);
    assert.equal((await cli('ingest', fewer, '--source', 'AWS', '--root', repo)).code, 0, 'a file within the limit is written');
  });

  it("refuses held rows whose texts alone outgrow flags.yaml's limit before writing them out", async (t) => {
    // 6,000 held rows of 100 KB resource names made 600 MB of text: too much for one string.
    // Here the same, small: 5 held rows of 1,000-character resource ids against a 2 KB limit.
    const repo = await scratchRepo(t, await limited(50, '\ndata_files: { lfs_above_mb: 0.002 }\n'));
    const rows = heldRows(5).map((r) => r.map((v, i) => (HEADER[i] === 'ResourceId' ? `${v}-${'x'.repeat(1000)}` : v)));
    const file = await writeCsv(work, 'held-long.csv', [HEADER, ...rows]);
    // The export itself is over the limit too: in Git LFS, where it may be.
    await writeFile(join(repo, '.gitattributes'), 'data/** filter=lfs diff=lfs merge=lfs -text\n');
    const before = await snapshot(repo);
    const refused = await cli('ingest', file, '--source', 'AWS', '--root', repo);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /periods\/2025-03\/flags\.yaml would be at least [5-9] KB, more than data_files\.lfs_above_mb \(0\.002 MB\)/,
    );
    assert.deepEqual(await snapshot(repo), before, 'nothing written');
  });

  it('allows at most 100,000 (a flags.yaml of about 57 MB)', async (t) => {
    const repo = await scratchRepo(t, await limited(100_001));
    const r = await cli('validate', '--root', repo);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /config\.yaml:\d+:\d+: flag_rules\.max_flags: .*100000/);
  });
});
