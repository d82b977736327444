/**
 * Ingest's scan grouped by Tags text (Tags read once per text, the held and invalid rows found in
 * a second read) gives what the scan row by row gives: the same totals, the same flagged rows
 * with the same row hashes, record and line numbers, and the same located error for a file it
 * refuses. Whichever the file's first rows choose, only the time differs.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Config, configSchema } from '../src/config/schema.ts';
import { UserError } from '../src/core/errors.ts';
import type { Database } from '../src/db/duckdb.ts';
import { withDatabase } from '../src/db/duckdb.ts';
import type { ChargeFile } from '../src/focus/charges-sql.ts';
import { mapColumns, requiredColumns } from '../src/focus/columns.ts';
import { sniffFile } from '../src/focus/file.ts';
import { type ScanOptions, type ScanResult, scanFile } from '../src/focus/scan.ts';
import { FOCUS_HEADER, focusRow, SAMPLE_CSVS, scratch, sharedSamples, tags, writeCsv } from './helpers.ts';

const config: Config = configSchema.parse({
  flag_rules: {
    fund_org_patterns: ['\\d{6}-\\d{4}'],
    patterns: [{ field: 'resource', pattern: '(?i)gpu' }],
    anomalies: { large_charge: 10000 },
    conflicting_tags: true,
  },
});

const A = tags({ pi_email: 'a@x.edu', project_id: 'pa', fund_org: '123456-1001' });
const B = tags({ pi_email: 'b@x.edu', project_id: 'pb', fund_org: '123456-1002' });
/** Tags texts held for review, each for its own reason. */
const HELD = [
  '',
  '{}',
  '{"pi_email": "a@x.edu"',
  '{"pi_email":"a@x.edu","pi_email":"b@x.edu","project_id":"p","fund_org":"123456-1001"}',
  '{"pi_email":{"x":1},"project_id":"p","fund_org":"123456-1001"}',
  '{"pi_email":"not-an-email","project_id":"p","fund_org":"123456-1001"}',
  '{"pi_email":"a@x.edu","project_id":"p","fund_org":"nope"}',
  '{"pi_email":"a@x.edu","project_id":"pa"}',
  '{"pi_email":"a@x.edu","tag:pi_email":"b@x.edu","project_id":"pa","fund_org":"123456-1001"}',
];

/** A month whose rows repeat two clean texts, with rows held by every kind of rule between them. */
function month(): string[][] {
  const row = (day: number, cost: string, resource: string, t: string, period = '2025-03-01', category = 'Usage') =>
    focusRow(day, category, cost, resource, t, period);
  const out: string[][] = [];
  for (let i = 0; i < 300; i++) {
    out.push(row(1 + (i % 28), `${i}.0${i % 10}1`, `node-${i % 3}`, i % 2 ? A : B));
    if (i % 37 === 5) out.push(row(2, '1.25', 'node-h', HELD[i % HELD.length] as string));
  }
  for (const [i, t] of HELD.entries()) {
    out.push(row(3, `1.2${i}`, 'node-h', t));
    out.push(row(3, `1.2${i}`, 'node-h', t)); // the same charge twice: one row hash, two flags
  }
  out.push(row(4, '2.50', 'gpu-1', A)); // held by the pattern, its Tags clean
  out.push(row(5, '12000.00', 'node-big', B)); // large
  out.push(row(6, '-3.00', 'node-neg', A)); // negative usage
  out.push(row(7, '4.00', 'node-feb', B, '2025-02-01')); // another period
  out.push(row(8, '-0.75', 'node-1', A, '2025-03-01', 'Credit')); // a credit: not held
  out.push(row(9, '5.00', 'two\nlines', HELD[1] as string)); // held, on a record of two lines
  return out;
}

async function fileOf(db: Database, path: string): Promise<ChargeFile> {
  const file = await sniffFile(path, path.split('/').pop() as string, db);
  return { file, columns: mapColumns(file, requiredColumns('BilledCost')), sourceSlug: 'aws', relPath: 'data/2025-03/aws.csv' };
}

/** The scan's result, or the message of the error it throws. */
async function scan(db: Database, f: ChargeFile, period: string | null, options: ScanOptions): Promise<ScanResult | string> {
  try {
    return await scanFile(db, f, config, period, options);
  } catch (e) {
    return e instanceof UserError ? e.format() : (e as Error).message;
  }
}

/** The scan's result without how it found the rows (which differs between the ways). */
const found = (r: ScanResult | string) => (typeof r === 'string' ? r : { ...r, located: undefined });

/**
 * Every way of scanning the file gives what the scan row by row gives; that result, and how the
 * scan by Tags text found its held rows.
 */
async function sameEveryWay(db: Database, path: string, period: string | null = '2025-03'): Promise<ScanResult | string> {
  const f = await fileOf(db, path);
  // Without a period, the baseline parses every row's period (no usual month taken from the first row).
  const perRow = await scan(db, f, period, { byTags: false, usualPeriod: null });
  const byTags = await scan(db, f, period, { byTags: true });
  assert.deepEqual(found(byTags), found(perRow), `${path}: by Tags text`);
  // Without cutting lines: the held texts' rows are read again, by a bitmap of the texts held.
  assert.deepEqual(found(await scan(db, f, period, { byTags: true, cutLines: false })), found(perRow), `${path}: read again`);
  // One bucket: every row whose text shares it with a held one is read again, and judged so.
  const oneBucket = { byTags: true, textBuckets: 1, cutLines: false };
  assert.deepEqual(found(await scan(db, f, period, oneBucket)), found(perRow), `${path}: one bucket`);
  assert.deepEqual(found(await scan(db, f, period, {})), found(perRow), `${path}: as the first rows choose`);
  // A usual month only spares its rows' parsing: right, wrong or none, the rows are the same.
  if (period === null)
    for (const usualPeriod of ['2025-03', '2025-02', '2031-12'])
      for (const byTags of [true, false])
        assert.deepEqual(found(await scan(db, f, null, { byTags, usualPeriod })), found(perRow), `${path}: usual month ${usualPeriod}`);
  return typeof perRow === 'string' || typeof byTags === 'string' ? perRow : { ...perRow, located: byTags.located };
}

describe("ingest's scan by Tags text", () => {
  it('finds the same totals and held rows, with their lines, as row by row', async (t) => {
    const dir = await scratch(t);
    const rows = month();
    const path = await writeCsv(dir, 'aws.csv', [FOCUS_HEADER, ...rows]);
    await withDatabase(async (db) => {
      const r = await sameEveryWay(db, path);
      assert.ok(typeof r !== 'string', String(r));
      const heldRows = rows.filter((row) => HELD.includes(row[7] as string)).length;
      assert.equal(r.flagged.length, heldRows + 4, 'every held text, and the pattern, large, negative and other-period rows');
      assert.deepEqual(
        r.periods.map((p) => [p.period, p.rows, p.flagged_rows]),
        [
          ['2025-02', 1, 1],
          ['2025-03', rows.length - 1, heldRows + 3],
        ],
      );
      // The record of two lines is the last: its line is the header, every row, and one more.
      const last = r.flagged.at(-1);
      assert.equal(last?.resource_name, 'two\nlines');
      assert.equal(last?.line, rows.length + 1);
      const twice = r.flagged.filter((x) => x.cost === '1.210000000000000000');
      assert.equal(twice.length, 2);
      assert.equal(twice[0]?.row_hash, twice[1]?.row_hash, 'the same charge twice has one row hash');
      assert.equal((twice[1]?.line as number) - (twice[0]?.line as number), 1);
      const negative = r.flagged.find((x) => x.resource_name === 'node-neg');
      assert.deepEqual(
        [negative?.cost, negative?.rules, negative?.charge_date],
        ['-3.000000000000000000', ['negative_usage'], '2025-03-06'],
      );
      const lines = r.flagged.map((x) => x.line);
      assert.deepEqual(
        lines,
        [...lines].sort((a, b) => a - b),
        'in file order',
      );
    });
  });

  it('reads back hundreds of held rows, each on its line, in file order', async (t) => {
    // More held rows than one of the JSON texts they come back in holds (64).
    const dir = await scratch(t);
    const rows = Array.from({ length: 900 }, (_, i) =>
      focusRow(1 + (i % 28), 'Usage', `${i}.5`, `node-${i}`, i % 3 === 0 ? (HELD[i % HELD.length] as string) : A, '2025-03-01'),
    );
    const path = await writeCsv(dir, 'aws.csv', [FOCUS_HEADER, ...rows]);
    await withDatabase(async (db) => {
      const r = await sameEveryWay(db, path);
      assert.ok(typeof r !== 'string', String(r));
      const held = rows.flatMap((_row, i) => (i % 3 === 0 ? [i + 2] : [])); // line 1 is the header
      assert.deepEqual(
        r.flagged.map((x) => x.line),
        held,
      );
      assert.deepEqual(
        r.flagged.map((x) => x.resource_id ?? x.resource_name),
        held.map((line) => `node-${line - 2}`),
      );
    });
  });

  it('finds the same from the .csv.gz, with no period asked for, and when nothing is held', async (t) => {
    const dir = await scratch(t);
    const rows = month();
    const path = await writeCsv(dir, 'aws.csv', [FOCUS_HEADER, ...rows]);
    const gz = join(dir, 'aws.csv.gz');
    await writeFile(gz, gzipSync(await import('node:fs/promises').then((fs) => fs.readFile(path))));
    const clean = await writeCsv(dir, 'clean.csv', [
      FOCUS_HEADER,
      ...rows.filter((r) => r[7] === A && r[6]?.startsWith('node-') && r[3] !== '-3.00'),
    ]);
    await withDatabase(async (db) => {
      const r = await sameEveryWay(db, gz);
      assert.ok(typeof r !== 'string' && r.flagged.length > 0);
      const any = await sameEveryWay(db, path, null);
      assert.ok(typeof any !== 'string' && any.flagged.length === r.flagged.length - 1, 'no period: the February row is not held');
      const none = await sameEveryWay(db, clean);
      assert.ok(typeof none !== 'string' && none.flagged.length === 0, 'nothing held');
    });
  });

  it('finds the same without a period where rows write their months as exports usually do', async (t) => {
    // The first row's month (February) is not most rows' (March), and some texts are not the usual ones.
    const dir = await scratch(t);
    const start = ['2025-03-01T00:00:00Z', '2025-03-01T00:00:00.000Z', '2025-03-01 00:00:00', '2025-03-01T00:00:00+00:00', '2025-03-01'];
    const rows = [
      focusRow(1, 'Usage', '7.00', 'node-feb', A, '2025-02-01T00:00:00Z'),
      ...Array.from({ length: 200 }, (_, i) => {
        const row = focusRow(1 + (i % 28), 'Usage', `${i}.25`, `node-${i % 4}`, i % 9 === 4 ? (HELD[i % HELD.length] as string) : B);
        row[0] = start[i % start.length] as string;
        if (i % 7 === 3) row[1] = row[1]?.replace('T10:00:00Z', 'T10:30:00Z') as string; // not an hour's start
        if (i % 11 === 6) row[1] = row[1]?.replace('T10:00:00Z', 'T23:59:59.999Z') as string;
        return row;
      }),
      focusRow(2, 'Usage', '8.00', 'node-apr', B, '2025-04-01T00:00:00.000Z'),
    ];
    const path = await writeCsv(dir, 'aws.csv', [FOCUS_HEADER, ...rows]);
    await withDatabase(async (db) => {
      const r = await sameEveryWay(db, path, null);
      assert.ok(typeof r !== 'string', String(r));
      assert.deepEqual(
        r.periods.map((p) => [p.period, p.rows]),
        [
          ['2025-02', 1],
          ['2025-03', 200],
          ['2025-04', 1],
        ],
      );
      assert.ok(r.flagged.length > 0 && r.flagged.every((x) => x.period === '2025-03'));
    });
  });

  it('finds the same from Parquet, where a record number is a row', async (t) => {
    const dir = await scratch(t);
    const path = await writeCsv(dir, 'aws.csv', [FOCUS_HEADER, ...month()]);
    const parquet = join(dir, 'aws.parquet');
    await withDatabase(async (db) => {
      await db.query(`COPY (SELECT * FROM read_csv($path, all_varchar = true)) TO '${parquet}' (FORMAT parquet)`, { path });
      const r = await sameEveryWay(db, parquet);
      assert.ok(typeof r !== 'string' && r.flagged.length > 0, String(r));
    });
  });

  it('refuses a file with the same located error', async (t) => {
    const dir = await scratch(t);
    const rows = month();
    const cases: [string, (r: string[]) => void, RegExp][] = [
      ['cost', (r) => (r[3] = '12,5'), /bad-cost\.csv:\d+:4: .*BilledCost/],
      ['period', (r) => (r[0] = 'yesterday'), /bad-period\.csv:\d+:1: .*BillingPeriodStart/],
      ['start', (r) => (r[1] = '2025-13-40'), /bad-start\.csv:\d+:2: .*ChargePeriodStart/],
    ];
    await withDatabase(async (db) => {
      for (const [name, spoil, message] of cases) {
        const spoilt = rows.map((r) => [...r]);
        for (const i of [250, 180]) spoil(spoilt[i] as string[]);
        const path = await writeCsv(dir, `bad-${name}.csv`, [FOCUS_HEADER, ...spoilt]);
        const r = await sameEveryWay(db, path);
        assert.equal(typeof r, 'string', name);
        assert.match(r as string, message);
        assert.match(r as string, new RegExp(`:${180 + 2}:`), `${name}: the first invalid row, on its line`);
      }
      const currency = await writeCsv(dir, 'xyz.csv', [
        [...FOCUS_HEADER, 'BillingCurrency'],
        ...rows.map((r, i) => [...r, i === 200 ? 'XYZ' : 'USD']),
      ]);
      const r = await sameEveryWay(db, currency);
      assert.match(String(r), /xyz\.csv:202:9: .*ISO 4217.*XYZ/);
    });
  });

  it('cuts the lines of held texts out in JavaScript where every record is one line', async (t) => {
    const dir = await scratch(t);
    // Every kind of held row but the record of two lines: those held by another rule (pattern,
    // large, negative, other period) share a clean text with most rows, told apart by amount.
    const rows = month().filter((r) => !r.some((v) => v.includes('\n')));
    // Tags read as the CSV reader and the checks read them: null tokens, quoted or not, and padding.
    const odd = ['NULL', '"null"', '""', '"  {}\u00a0"', ` "${A.replace(/"/g, '""')}" `.trim(), `"  ${B.replace(/"/g, '""')} "`];
    const field = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    /** The month as CSV text, its columns in `order` (indexes into FOCUS_HEADER), every field quoted when `quoteAll`. */
    const text = (order: number[], eol: string, quoteAll = false) => {
      const cell = (v: string, tagsColumn: boolean) =>
        tagsColumn && /^"|^NULL$/.test(v) ? v : quoteAll ? `"${v.replace(/"/g, '""')}"` : field(v);
      const all = [FOCUS_HEADER, ...rows, ...odd.map((o, i) => focusRow(10 + i, 'Usage', `2.0${i}`, 'node-o', o))];
      return all.map((r, n) => order.map((i) => cell(r[i] as string, n > 0 && i === 7)).join(',')).join(eol);
    };
    const last = [0, 1, 2, 3, 4, 5, 6, 7];
    const cases: [string, string][] = [
      ['last.csv', `${text(last, '\n')}\n`],
      ['crlf-bom-no-final-newline.csv', `\ufeff${text(last, '\r\n')}`],
      ['first.csv', `${text([7, 0, 1, 2, 3, 4, 5, 6], '\n', true)}\n`],
      ['middle.csv', `${text([0, 1, 2, 7, 3, 4, 5, 6], '\n')}\n`],
      ['late.csv', `${text([0, 1, 2, 3, 4, 7, 5, 6], '\r\n', true)}\r\n`],
      // The last line held, every field quoted, CRLF and no final line end (written as it is).
      [
        'crlf-last-held.csv',
        `${text([7, 0, 1, 2, 3, 4, 5, 6], '\r\n', true)}\r\n${[HELD[7], ...focusRow(9, 'Usage', '3.00', 'node-z', '').slice(0, 7)].map((v) => `"${String(v).replace(/"/g, '""')}"`).join(',')}`,
      ],
    ];
    await withDatabase(async (db) => {
      for (const [name, csv] of cases) {
        const path = join(dir, name);
        await writeFile(path, csv);
        const r = await sameEveryWay(db, path);
        assert.ok(typeof r !== 'string', `${name}: ${r}`);
        assert.equal(r.located, 'lines', `${name}: the held rows' lines are cut out, not read again`);
        // Each held row on its own line: the header, then record N on line N + 1.
        const held = r.flagged.filter((x) => x.resource_name === 'node-o');
        assert.deepEqual(
          held.map((x) => x.line),
          [0, 1, 2, 3].map((i) => rows.length + 2 + i),
          `${name}: the null, empty and padded-empty texts are held, on their lines`,
        );
        const lastHeld = name === 'crlf-last-held.csv' ? 1 : 0;
        assert.equal(r.flagged.length, rows.filter((row) => HELD.includes(row[7] as string)).length + 4 + 4 + lastHeld, name);
        if (lastHeld) assert.deepEqual([r.flagged.at(-1)?.resource_name, r.flagged.at(-1)?.line], ['node-z', rows.length + 2 + odd.length]);
      }
    });
  });

  it('cuts lines across the chunks it reads, from a .csv.gz too, and reads again where a record spans lines', async (t) => {
    const dir = await scratch(t);
    // Over 4 MB (the chunk read at a time), rows of different lengths so that lines straddle chunks.
    const rows: string[][] = [];
    for (let i = 0; i < 30_000; i++) {
      const t =
        i % 997 === 3
          ? HELD[7]
          : i % 2
            ? A
            : tags({ pi_email: 'b@x.edu', project_id: 'pb', fund_org: '123456-1002', n: 'x'.repeat(i % 300) });
      rows.push(focusRow(1 + (i % 28), 'Usage', `${i % 50}.${i % 7}5`, `node-${i}`, t as string));
    }
    const path = await writeCsv(dir, 'big.csv', [FOCUS_HEADER, ...rows]);
    const gz = join(dir, 'big.csv.gz');
    await writeFile(gz, gzipSync(await import('node:fs/promises').then((fs) => fs.readFile(path))));
    const spans = await writeCsv(dir, 'spans.csv', [FOCUS_HEADER, ...month()]);
    await withDatabase(async (db) => {
      const heldLines = rows.flatMap((r, i) => (r[7] === HELD[7] ? [i + 2] : []));
      for (const p of [path, gz]) {
        const r = await sameEveryWay(db, p);
        assert.ok(typeof r !== 'string', String(r));
        assert.equal(r.located, 'lines', p);
        assert.deepEqual(
          r.flagged.map((x) => x.line),
          heldLines,
        );
      }
      const r = await sameEveryWay(db, spans);
      assert.ok(typeof r !== 'string', String(r));
      assert.equal(r.located, 'read', 'a record of two lines: line N no longer holds record N - 1');
      // A large charge in a text most rows share: told apart by its amount, its line cut too.
      const large = await writeCsv(dir, 'large.csv', [
        FOCUS_HEADER,
        ...rows.slice(0, 2000),
        focusRow(5, 'Usage', '12000.00', 'node-big', A),
      ]);
      const l = await sameEveryWay(db, large);
      assert.ok(typeof l !== 'string', String(l));
      assert.deepEqual([l.located, l.flagged.at(-1)?.line], ['lines', 2002]);
      // Half the rows billed above their list price, at one amount: more than a quarter of the
      // file would be cut, so it is read again.
      const above = await writeCsv(dir, 'above.csv', [
        FOCUS_HEADER,
        ...rows.slice(0, 2000).map((r) => (r[7] === A ? [...r.slice(0, 3), '1.50', '1.00', ...r.slice(5)] : r)),
      ]);
      const a = await sameEveryWay(db, above);
      assert.ok(typeof a !== 'string' && a.flagged.length > 500, String(a));
      assert.equal(a.located, 'read');
    });
  });

  it('agrees with the scan row by row on random files of hostile Tags texts, quoting and line ends', async (t) => {
    const dir = await scratch(t);
    let seed = 20261203; // fixed: the same files every run
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const pick = <T>(a: readonly T[]) => a[rnd(a.length)] as T;
    const clean = (i: number) => tags({ pi_email: `p${i}@x.edu`, project_id: `pr${i}`, fund_org: '123456-1001' });
    const pieces = ['a', ' ', '\u00a0', '"', ',', '\\', 'é', '😀', '{', '}', ':', 'null', 'NULL', "'", '\t', '#', '-'];
    const hostile = () =>
      pick([
        () => '',
        () => pick(['NULL', 'null', ' ', '\u00a0', ' NULL ', '{}', ' {} ']),
        () => tags({ pi_email: 'a@x.edu', project_id: pick(['p', 'p"q', 'p,q', 'p\\q', ' p ']) }),
        () => Array.from({ length: 1 + rnd(8) }, () => pick(pieces)).join(''),
        () => `${pick([' ', '\u00a0', ''])}${clean(rnd(3))}${pick([' ', '\u00a0', ''])}`,
      ])();
    const ways = { lines: 0, read: 0 };
    await withDatabase(async (db) => {
      for (let file = 0; file < 24; file++) {
        const order = pick([
          [0, 1, 2, 3, 4, 5, 6, 7],
          [7, 0, 1, 2, 3, 4, 5, 6],
          [0, 1, 7, 2, 3, 4, 5, 6],
        ]);
        const quoteAll = rnd(3) === 0;
        const eol = pick(['\n', '\r\n']);
        const cell = (v: string) => (quoteAll || /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
        const rows = Array.from({ length: 50 + rnd(300) }, (_, i) =>
          focusRow(1 + rnd(9), 'Usage', `${rnd(50)}.${rnd(100)}`, `node-${i}`, i % 5 ? clean(i % 3) : hostile()),
        );
        const path = join(dir, `random-${file}.csv`);
        const text = [FOCUS_HEADER, ...rows].map((r) => order.map((k) => cell(r[k] as string)).join(',')).join(eol);
        await writeFile(path, rnd(4) ? `${text}${eol}` : text);
        const r = await sameEveryWay(db, path);
        assert.ok(typeof r !== 'string', `${path}: ${r}`);
        assert.ok(r.flagged.length > 0, path);
        ways[r.located === 'lines' ? 'lines' : 'read']++;
      }
    });
    assert.deepEqual(ways, { lines: 24, read: 0 }, 'every file one line a record, few held: its lines cut');
  });

  const samples = sharedSamples();
  it('finds the same on the public FOCUS samples', { skip: 'missing' in samples ? samples.missing : false }, async () => {
    const dir = 'dir' in samples ? samples.dir : '';
    await withDatabase(async (db) => {
      const results = [];
      for (const name of SAMPLE_CSVS) results.push(await sameEveryWay(db, `${dir}/${name}`, null));
      // Some samples write dates as 4/1/25, which FOCUS does not allow: refused both ways alike.
      assert.ok(results.filter((r) => typeof r !== 'string' && r.periods.length > 0).length >= 2, String(results));
    });
  });
});
