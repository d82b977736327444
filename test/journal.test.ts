/** Journals: they equal the statements, the GL balances, and no cell runs as a spreadsheet formula. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseConfig } from '../src/config/load.ts';
import { minorDigits } from '../src/core/currency.ts';
import type { UserError } from '../src/core/errors.ts';
import { csvCell, toCsv } from '../src/journal/csv.ts';
import { buildJournal } from '../src/journal/journal.ts';
import type { Statement } from '../src/statements/build.ts';
import { cli, makeRepo, removeDir, SAMPLE, tags, writeCsv } from './helpers.ts';

const cents = (s: string) => BigInt(s.replace('.', ''));
let repo: string;

before(async () => {
  repo = await makeRepo();
  for (const s of ['aws', 'azure', 'hpc', 'storage'])
    assert.equal((await cli('ingest', join(SAMPLE, `${s}_2025-01.csv`), '--source', s, '--root', repo)).code, 0);
});
after(() => removeDir(repo));

describe('journal on the sample', () => {
  it('detail, summary and GL all total what the statements bill, and the GL balances', async () => {
    const gen = (await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo)).json();
    const billed = gen.statements.reduce((t: bigint, s: { amount_due: string }) => t + cents(s.amount_due), 0n);
    for (const format of ['detail', 'summary', 'gl']) {
      const r = await cli('journal', '--period', '2025-01', '--format', format, '--json', '--root', repo);
      assert.equal(r.code, 0, r.stderr);
      const j = r.json();
      assert.equal(cents(j.totals[0].amount), billed, format);
      const sum = (field: string) =>
        j.rows.reduce((t: bigint, row: Record<string, string>) => t + (row[field] ? cents(row[field]) : 0n), 0n);
      if (format === 'gl') {
        assert.equal(sum('debit'), sum('credit'), 'balanced');
        assert.equal(sum('debit'), billed);
        // One credit per source, to its recharge fund/org from config.yaml.
        const creditRows = j.rows.filter((row: { type: string }) => row.type === 'credit');
        assert.deepEqual(creditRows.map((row: { fund_org: string }) => row.fund_org).sort(), [
          '100000-9001',
          '100000-9002',
          '100000-9004',
          '100000-9005',
        ]);
      } else assert.equal(sum('amount'), billed);
    }
  });

  it('writes RFC 4180 CSV with descriptions cut to the configured length', async () => {
    const r = await cli('journal', '--period', '2025-01', '--root', repo);
    assert.equal(r.code, 0);
    const [header, first] = r.stdout.split('\r\n');
    assert.equal(header, 'date,fund_org,account,debit,credit,description,reference');
    assert.match(first as string, /^2025-01-31,\d{6}-\d{4},5410,\d+\.\d\d,,AWS 2025-01 Research Computing Char,202501-AWS$/);
    assert.match(r.stderr, /rows; \$[\d,]+\.\d\d USD \(debits (\$[\d,]+\.\d\d) = credits \1\)/);
  });

  it('refuses a GL when a source has no recharge fund/org, naming the config key', async () => {
    const root = await makeRepo('sources:\n  - name: AWS\n    recharge_fund_org: "100000-9001"\n  - name: HPC\n');
    await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', root);
    const r = await cli('journal', '--period', '2025-01', '--root', root);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /no recharge fund\/org for HPC: a GL journal without its balancing credit would not balance\n {2}hint: set sources\[1\]\.recharge_fund_org in config\.yaml/,
    );
    assert.equal(
      (await cli('journal', '--period', '2025-01', '--format', 'summary', '--root', root)).code,
      0,
      'the other formats need none',
    );
    await removeDir(root);
  });

  it('splits fund/orgs into ledger fields and takes accounts from tags, then the source, then the default', async () => {
    const root = await makeRepo(
      [
        'sources:',
        '  - { name: AWS, recharge_fund_org: "900000-0001", gl_account: "5420" }',
        '  - { name: HPC, recharge_fund_org: "900000-0002" }',
        'journal:',
        "  fund_org_pattern: '^(?<orgn>\\d+)-(?<fund>\\d+)$'",
        '  default_account: "5999"',
        '  columns: [orgn, fund, account, debit, credit, description]',
        "  description: '{source}/{period}/{fund_org}'",
        '  description_max: 12',
        '',
      ].join('\n'),
    );
    const header = ['BillingPeriodStart', 'BilledCost', 'ServiceName', 'Tags'];
    const t = (extra: Record<string, string> = {}) => tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: '123456-0001', ...extra });
    await cli(
      'ingest',
      await writeCsv(root, 'aws.csv', [
        header,
        ['2025-02-01', '10.00', 'EC2', t({ account_code: '6100' })],
        ['2025-02-01', '5.00', 'EC2', t()],
      ]),
      '--source',
      'AWS',
      '--root',
      root,
    );
    await cli('ingest', await writeCsv(root, 'hpc.csv', [header, ['2025-02-01', '2.50', 'CPU', t()]]), '--source', 'HPC', '--root', root);
    const r = await cli('journal', '--period', '2025-02', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\r\n'), [
      'orgn,fund,account,debit,credit,description',
      '123456,0001,5420,5.00,,AWS/2025-02/',
      '123456,0001,6100,10.00,,AWS/2025-02/',
      '123456,0001,5999,2.50,,HPC/2025-02/',
      '900000,0001,5420,,15.00,AWS/2025-02/',
      '900000,0002,5999,,2.50,HPC/2025-02/',
    ]);
    await removeDir(root);
  });
});

describe('CSV safety', () => {
  it('neutralises formula cells and quotes per RFC 4180, leaving numbers alone', () => {
    assert.equal(csvCell('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
    assert.equal(csvCell('+1-555'), "'+1-555");
    assert.equal(csvCell('-cmd'), "'-cmd");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('\tx'), "'\tx");
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('line\nbreak'), '"line\nbreak"');
    assert.equal(csvCell('-5.00', true), '-5.00');
    assert.equal(
      toCsv(['project', 'amount'], [{ project: '=1+1', amount: '-2.00' }], new Set(['amount'])),
      "project,amount\r\n'=1+1,-2.00\r\n",
    );
  });
});

describe('GL journal (property)', () => {
  // Statements in several currencies: the GL says each row's.
  const config = parseConfig(
    'sources:\n  - { name: A, recharge_fund_org: R-1 }\n  - { name: B, recharge_fund_org: R-2, gl_account: "77" }\njournal:\n  columns: [date, fund_org, account, debit, credit, currency, description]\n',
    'c',
  );
  const amount = fc.bigInt({ min: -500_000n, max: 5_000_000n });
  const line = fc.record({
    source: fc.constantFrom('a', 'b'),
    parts: fc.array(fc.tuple(fc.constantFrom(null, '6100', '6200'), amount), { minLength: 1, maxLength: 3 }),
  });
  const statement = fc.record({
    fund: fc.constantFrom('F-1', 'F-2', 'F-3'),
    currency: fc.constantFrom('USD', 'EUR', 'JPY'),
    lines: fc.array(line, { minLength: 1, maxLength: 4 }),
  });
  it('balances per currency and totals the statements, whatever the charges', () => {
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 12 }), (specs) => {
        const fmt = (v: bigint, d: number) => {
          const neg = v < 0n;
          const s = (neg ? -v : v).toString().padStart(d + 1, '0');
          return `${neg ? '-' : ''}${d ? `${s.slice(0, -d)}.${s.slice(-d)}` : s}`;
        };
        const statements: Statement[] = specs.map((spec, i) => {
          const d = minorDigits(spec.currency);
          const lines = spec.lines.map((l) => {
            const total = l.parts.reduce((t, [, v]) => t + v, 0n);
            return {
              source: l.source,
              service: 's',
              category: 'Usage',
              list: fmt(total, d),
              discount: fmt(0n, d),
              amount: fmt(total, d),
              charges: 1,
              accounts: l.parts.map(([code, v]) => ({ account_code: code, amount: fmt(v, d) })),
            };
          });
          const due = spec.lines.reduce((t, l) => t + l.parts.reduce((u, [, v]) => u + v, 0n), 0n);
          return {
            number: `n${i}`,
            pi_email: `p${i}@x`,
            project_id: 'p',
            fund_org: spec.fund,
            currency: spec.currency,
            list: fmt(due, d),
            discount: fmt(0n, d),
            discount_percent: null,
            prepaid: fmt(0n, d),
            amount_due: fmt(due, d),
            charges: 1,
            lines,
          };
        });
        const j = buildJournal('gl', { period: '2025-01', statements, config, digitsOf: (c) => minorDigits(c), buildDate: '2025-02-01' });
        for (const currency of new Set(statements.map((s) => s.currency))) {
          // Balanced, counted from the CSV rows themselves (buildJournal's own check is not the test).
          const column = (f: 'debit' | 'credit') =>
            j.rows.filter((r) => r.currency === currency && r[f]).reduce((t, r) => t + BigInt(String(r[f]).replace('.', '')), 0n);
          assert.equal(column('debit'), column('credit'));
          const want = statements.filter((s) => s.currency === currency).reduce((t, s) => t + BigInt(s.amount_due.replace('.', '')), 0n);
          const net = j.rows
            .filter((r) => r.currency === currency && r.type === 'debit')
            .reduce((t, r) => t + BigInt(String(r.amount).replace('.', '')), 0n);
          assert.equal(net, want);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a GL of two currencies whose columns do not say which each row is in', () => {
    const statement = (currency: string, amount: string): Statement => ({
      number: `n-${currency}`,
      pi_email: 'p@x',
      project_id: currency,
      fund_org: 'F-1',
      currency,
      list: amount,
      discount: '0.00',
      discount_percent: null,
      prepaid: '0.00',
      amount_due: amount,
      charges: 1,
      lines: [
        {
          source: 'a',
          service: 's',
          category: 'Usage',
          list: amount,
          discount: '0.00',
          amount,
          charges: 1,
          accounts: [{ account_code: null, amount }],
        },
      ],
    });
    const gl = (columns: string, statements: Statement[]) =>
      buildJournal('gl', {
        period: '2025-01',
        statements,
        config: parseConfig(`sources:\n  - { name: A, recharge_fund_org: R-1 }\njournal:\n  columns: ${columns}\n`, 'c'),
        digitsOf: (c) => minorDigits(c),
        buildDate: '2025-02-01',
      });
    const both = [statement('USD', '10.00'), statement('EUR', '5.00')];
    assert.throws(
      () => gl('[date, fund_org, account, debit, credit, description]', both),
      (e: UserError) =>
        e.message ===
        'the GL journal for 2025-01 holds amounts in EUR and USD, and journal.columns has no currency column: its rows would read as one currency',
    );
    // One currency needs no column; two are read with it.
    assert.equal(gl('[date, fund_org, account, debit, credit, description]', [both[0] as Statement]).rows.length, 2);
    assert.deepEqual(
      gl('[date, fund_org, account, debit, credit, currency]', both).rows.map((r) => [r.currency, r.debit, r.credit]),
      [
        ['EUR', '5.00', ''],
        ['USD', '10.00', ''],
        ['EUR', '', '5.00'],
        ['USD', '', '10.00'],
      ],
    );
  });
});

describe('GL descriptions', () => {
  it('are cut to description_max whole characters, never half an emoji', async () => {
    const { cutText } = await import('../src/journal/journal.ts');
    assert.equal(cutText('AWS 2025-01 🚀 Research', 13), 'AWS 2025-01 🚀');
    assert.equal(cutText('Café 👩🏽‍🔬 lab', 6), 'Café 👩🏽‍🔬');
    assert.equal(cutText('short', 35), 'short');
  });
});
