/**
 * Billing policy, hand-computed: a cap hit and not hit, showback, an adjustment, a new-faculty
 * credit drawn down over three periods, and a prepayment that runs out in the second month; the
 * reconciliation, a balanced GL, and balances that move when an earlier period is corrected.
 *
 * By hand (USD), with a cap of $500 a month per PI on "HPC GPU*", showback for project teaching,
 * a $1,000 credit for a@x.edu (2025-01 to 2025-03) and a $500 prepayment for b@x.edu's p2:
 *
 *   2025-01  a: CPU 300 + GPU 700 = 1000; cap −200 (700 − 500); credit −800 (all that is due) → 0, 200 left
 *            b: GPU 400 (under the cap); adjustment −25 → 375; prepayment −375 → 0, 125 left
 *            c: teaching 50; showback −50 → 0
 *   2025-02  a: CPU 150; credit −150 → 0, 50 left
 *            b: GPU 300; prepayment −125 (runs out) → 175
 *   2025-03  a: CPU 80; credit −50 (runs out) → 30
 *            b: GPU 100 → 100
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { simpleGit } from 'simple-git';
import { parse } from 'yaml';
import { cli, FOCUS_HEADER, scratchRepo, tags, writeCsv } from './helpers.ts';

const CONFIG = `organization:
  name: Policy University
sources:
  - name: HPC
    recharge_fund_org: "900000-0001"
policy:
  caps:
    - id: gpu-cap
      services: ["HPC GPU*"]
      per: pi
      above: "500.00"
  showback: [teaching]
  accounts:
    adjustment: { fund_org: "900000-0010", account: "5491" }
    credit: { fund_org: "900000-0011", account: "5492" }
    cap: { fund_org: "900000-0012", account: "5493" }
    prepayment: { fund_org: "900000-0013", account: "2300" }
`;
const CREDITS = `credits:
  - id: new-faculty-a
    description: New faculty credit
    amount: "1000.00"
    pis: [a@x.edu]
    start: 2025-01
    end: 2025-03
prepayments:
  - id: prepaid-b
    description: Prepaid balance
    amount: "500.00"
    projects: [p2]
    start: 2025-01
`;
const HEADER = FOCUS_HEADER;
const row = (period: string, pi: string, project: string, fund: string, service: string, cost: string) => [
  `${period}-01`,
  `${period}-02`,
  'Usage',
  cost,
  cost,
  service,
  `${service}-${pi}`,
  tags({ pi_email: pi, project_id: project, fund_org: fund }),
];
const DATA: Record<string, string[][]> = {
  '2025-01': [
    row('2025-01', 'a@x.edu', 'p1', '100000-0001', 'HPC CPU Compute', '300.00'),
    row('2025-01', 'a@x.edu', 'p1', '100000-0001', 'HPC GPU Compute', '700.00'),
    row('2025-01', 'b@x.edu', 'p2', '100000-0002', 'HPC GPU Compute', '400.00'),
    row('2025-01', 'c@x.edu', 'teaching', '100000-0003', 'HPC CPU Compute', '50.00'),
  ],
  '2025-02': [
    row('2025-02', 'a@x.edu', 'p1', '100000-0001', 'HPC CPU Compute', '150.00'),
    row('2025-02', 'b@x.edu', 'p2', '100000-0002', 'HPC GPU Compute', '300.00'),
  ],
  '2025-03': [
    row('2025-03', 'a@x.edu', 'p1', '100000-0001', 'HPC CPU Compute', '80.00'),
    row('2025-03', 'b@x.edu', 'p2', '100000-0002', 'HPC GPU Compute', '100.00'),
  ],
};

async function policyRepo(t: Parameters<typeof scratchRepo>[0]): Promise<string> {
  const root = await scratchRepo(t, CONFIG);
  await writeFile(join(root, 'credits.yaml'), CREDITS);
  for (const [period, rows] of Object.entries(DATA)) {
    const file = await writeCsv(root, `hpc-${period}.csv`, [HEADER, ...rows]);
    const r = await cli('ingest', file, '--source', 'HPC', '--root', root);
    assert.equal(r.code, 0, r.stderr);
  }
  await mkdir(join(root, 'periods', '2025-01'), { recursive: true });
  await writeFile(
    join(root, 'periods', '2025-01', 'adjustments.yaml'),
    'adjustments:\n  - id: adj-2025-01-001\n    pi_email: b@x.edu\n    project_id: p2\n    amount: "-25.00"\n    description: Refund for the January 9 outage\n',
  );
  return root;
}

async function statements(root: string, period: string) {
  const r = await cli('generate', '--period', period, '--dry-run', '--json', '--root', root);
  assert.equal(r.code, 0, r.stderr);
  return r.json();
}

/** Each statement's totals: [pi, list, discount, discount %, prepaid, amount due]. */
const figures = (set: any) => set.statements.map((s: any) => [s.pi_email, s.list, s.discount, s.discount_percent, s.prepaid, s.amount_due]);

/** Each statement as [pi, amount_due, [category, description, amount, remaining]…] for policy lines. */
const shape = (set: any) =>
  set.statements.map((s: any) => [
    s.pi_email,
    s.amount_due,
    s.lines.filter((l: any) => l.policy).map((l: any) => [l.category, l.service, l.amount, l.policy.remaining ?? null]),
  ]);

describe('billing policy', () => {
  it('applies caps, showback, adjustments, credits and prepayments exactly, period after period', async (t) => {
    const root = await policyRepo(t);
    const jan = await statements(root, '2025-01');
    assert.deepEqual(shape(jan), [
      [
        'a@x.edu',
        '0.00',
        [
          ['Cap', 'Cap: the institution pays HPC GPU* above 500.00 a month', '-200.00', null],
          ['Credit', 'New faculty credit', '-800.00', '200.00'],
        ],
      ],
      [
        'b@x.edu',
        '0.00',
        [
          ['Adjustment', 'Refund for the January 9 outage', '-25.00', null],
          ['Prepayment', 'Prepaid balance', '-375.00', '125.00'],
        ],
      ],
      ['c@x.edu', '0.00', [['Showback', 'Showback: cost shown, not charged', '-50.00', null]]],
    ]);
    // What the institution pays (cap, credit, showback) is discount; a prepayment is the PI's own
    // money, apart from both: b's list price is GPU 400 less the 25 refund, not 0.
    assert.deepEqual(figures(jan), [
      ['a@x.edu', '1000.00', '1000.00', '100.0', '0.00', '0.00'],
      ['b@x.edu', '375.00', '0.00', '0.0', '375.00', '0.00'],
      ['c@x.edu', '50.00', '50.00', '100.0', '0.00', '0.00'],
    ]);
    // input = statements + excluded + residue; amount due = statements + policy lines.
    assert.deepEqual(
      jan.reconciliation.map((r: any) => [
        Number(r.input),
        r.statements,
        Number(r.excluded),
        Number(r.rounding_residue),
        r.policy,
        r.amount_due,
      ]),
      [[1450, '1450.00', 0, 0, '-1450.00', '0.00']],
    );
    const feb = await statements(root, '2025-02');
    assert.deepEqual(shape(feb), [
      ['a@x.edu', '0.00', [['Credit', 'New faculty credit', '-150.00', '50.00']]],
      ['b@x.edu', '175.00', [['Prepayment', 'Prepaid balance', '-125.00', '0.00']]],
    ]);
    assert.deepEqual(figures(feb)[1], ['b@x.edu', '300.00', '0.00', '0.0', '125.00', '175.00']);
    assert.deepEqual(shape(await statements(root, '2025-03')), [
      ['a@x.edu', '30.00', [['Credit', 'New faculty credit', '-50.00', '0.00']]],
      ['b@x.edu', '100.00', []],
    ]);
    // The summary under generate's table adds up its Amount due column ($30.00 + $100.00), not the
    // charges before policy alone.
    const text = await cli('generate', '--period', '2025-03', '--dry-run', '--root', root);
    assert.match(text.stdout, /\nUSD: statements \$180\.00, policy -\$50\.00, amount due \$130\.00; excluded \$0\.00/);

    // A build derives the balances once, period after period: the same figures.
    const built = await cli('build', '--no-pdf', '--out', join(root, 'dist'), '--json', '--root', root);
    assert.equal(built.code, 0, built.stderr);
    assert.deepEqual(
      built.json().totals.map((x: any) => [x.period, x.amount_due]),
      [
        ['2025-03', '$130.00'],
        ['2025-02', '$175.00'],
        ['2025-01', '$0.00'],
      ],
    );

    // b's January statement as printed: the list price of the use, and the prepayment apart.
    const b = jan.statements.find((x: any) => x.pi_email === 'b@x.edu');
    const page = await readFile(join(root, 'dist', 'periods', '2025-01', 'statements', b.number, 'index.html'), 'utf8');
    const summary = (/<section class="summary"[\s\S]*?<\/section>/.exec(page)?.[0] ?? '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    assert.equal(summary, 'List price $375.00 Your discount $0.00 Paid from your prepayment −$375.00 Amount due $0.00');
    const summaryJournal = await cli('journal', '--period', '2025-01', '--format', 'summary', '--json', '--root', root);
    assert.deepEqual(
      summaryJournal.json().rows.map((x: any) => [x.pi_email, x.list, x.discount, x.prepaid, x.amount]),
      [
        ['a@x.edu', '1000.00', '1000.00', '0.00', '0.00'],
        ['b@x.edu', '375.00', '0.00', '375.00', '0.00'],
        ['c@x.edu', '50.00', '50.00', '0.00', '0.00'],
      ],
    );

    // b's email: each policy line under its statement, in the column whose figure it is part of.
    const mail = join(root, 'b.html');
    const preview = await cli(
      'preview',
      'email',
      '--period',
      '2025-01',
      '--pi',
      'b@x.edu',
      '--out',
      mail,
      '--base-url',
      'https://billing.example.edu',
      '--root',
      root,
    );
    assert.equal(preview.code, 0, preview.stderr);
    const rows = [...(await readFile(mail, 'utf8')).matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) =>
      [...(m[1] as string).matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => (c[1] as string).replace(/<[^>]+>/g, '').trim()),
    );
    assert.deepEqual(rows, [
      ['Project', 'Fund/org', 'List price', 'Discount', 'Prepaid', 'Amount due', 'Statement'],
      ['p2', '100000-0002', '$375.00', '$0.00', '$375.00', '$0.00', 'PDF · web'],
      ['Adjustment: Refund for the January 9 outage', '-$25.00', '', '', '', ''],
      ['Prepayment: Prepaid balance ($125.00 remains)', '', '', '$375.00', '', ''],
      ['Total', '$375.00', '$0.00', '$375.00', '$0.00', ''],
    ]);

    // A correction to January moves February's and March's balances (derived, never stored).
    await writeFile(join(root, 'periods', '2025-01', 'adjustments.yaml'), 'adjustments: []\n');
    assert.deepEqual(shape(await statements(root, '2025-02')), [
      ['a@x.edu', '0.00', [['Credit', 'New faculty credit', '-150.00', '50.00']]],
      ['b@x.edu', '200.00', [['Prepayment', 'Prepaid balance', '-100.00', '0.00']]],
    ]);
  });

  it('reads PIs, projects and fund/orgs in policy files as charges\' tags are read, trimmed: " p2" is the p2 billed', async (t) => {
    const root = await policyRepo(t);
    const baseline = shape(await statements(root, '2025-01'));
    await writeFile(
      join(root, 'credits.yaml'),
      CREDITS.replace('pis: [a@x.edu]', 'pis: [" a@x.edu "]').replace('projects: [p2]', 'projects: ["p2 "]'),
    );
    await writeFile(join(root, 'config.yaml'), CONFIG.replace('showback: [teaching]', 'showback: [" teaching"]'));
    await writeFile(
      join(root, 'periods', '2025-01', 'adjustments.yaml'),
      'adjustments:\n  - id: adj-2025-01-001\n    pi_email: " b@x.edu"\n    project_id: " p2 "\n    amount: "-25.00"\n    description: Refund for the January 9 outage\n',
    );
    assert.deepEqual(shape(await statements(root, '2025-01')), baseline);
    // And a PI or project named on the command line so: one statement, as email --only finds it.
    const one = await cli(
      'preview',
      'statement',
      '--period',
      '2025-01',
      '--pi',
      ' B@X.EDU ',
      '--project',
      ' p2 ',
      '--json',
      '--root',
      root,
    );
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual([one.json().pi_email, one.json().project_id], ['b@x.edu', 'p2']);
  });

  it('journals policy lines to their accounts, debits nothing for showback, and balances', async (t) => {
    const root = await policyRepo(t);
    const r = await cli('journal', '--period', '2025-01', '--format', 'gl', '--json', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    const gl = r.json();
    const rows = gl.rows.map((x: any) => [x.fund_org, x.account, x.debit, x.credit]);
    assert.deepEqual(rows, [
      // Charges debited to the PIs' fund/orgs (not the showback project's), credited to HPC's recharge.
      ['100000-0001', '5410', '1000.00', ''],
      ['100000-0002', '5410', '400.00', ''],
      ['900000-0001', '5410', '', '1400.00'],
      // Each policy line: the PI's side and the policy's own fund/org.
      ['100000-0002', '5491', '', '25.00'],
      ['900000-0010', '5491', '25.00', ''],
      ['100000-0001', '5493', '', '200.00'],
      ['900000-0012', '5493', '200.00', ''],
      ['100000-0001', '5492', '', '800.00'],
      ['900000-0011', '5492', '800.00', ''],
      ['100000-0002', '2300', '', '375.00'],
      ['900000-0013', '2300', '375.00', ''],
    ]);
    assert.deepEqual(gl.totals, [{ currency: 'USD', amount: '0.00', debit: '2800.00', credit: '2800.00' }]);
  });

  it('refuses an adjustment that lands nowhere, and a policy line without an account for the GL', async (t) => {
    const root = await policyRepo(t);
    await mkdir(join(root, 'periods', '2025-02'), { recursive: true });
    await writeFile(
      join(root, 'periods', '2025-02', 'adjustments.yaml'),
      'adjustments:\n  - id: adj-x\n    pi_email: d@x.edu\n    project_id: new\n    amount: "40.00"\n    description: Setup fee\n',
    );
    const nowhere = await cli('generate', '--period', '2025-02', '--dry-run', '--root', root);
    assert.equal(nowhere.code, 2);
    assert.match(nowhere.stderr, /adj-x: d@x\.edu, project new has no statement in 2025-02/);
    assert.match(nowhere.stderr, /add fund_org/);
    // With a fund/org it creates the statement.
    await writeFile(
      join(root, 'periods', '2025-02', 'adjustments.yaml'),
      'adjustments:\n  - id: adj-x\n    pi_email: d@x.edu\n    project_id: new\n    fund_org: "100000-0004"\n    amount: "40.00"\n    description: Setup fee\n',
    );
    const feb = await statements(root, '2025-02');
    const created = feb.statements.find((s: any) => s.pi_email === 'd@x.edu');
    assert.equal(created.amount_due, '40.00');
    assert.equal(created.number, feb.statements.find((s: any) => s.pi_email === 'd@x.edu').number);
    assert.match(created.number, /^202502-[0-9A-F]{16}$/);

    // An adjustment in EUR lands on a statement in EUR: b@x.edu's p2 is billed in USD only.
    await writeFile(
      join(root, 'periods', '2025-02', 'adjustments.yaml'),
      'adjustments:\n  - id: adj-e\n    pi_email: b@x.edu\n    project_id: p2\n    currency: EUR\n    amount: "-10.00"\n    description: Refund\n',
    );
    const euro = await cli('generate', '--period', '2025-02', '--dry-run', '--root', root);
    assert.equal(euro.code, 2);
    assert.match(euro.stderr, /adj-e: b@x\.edu, project p2 has no statement in EUR in 2025-02 to land on/);
    // A fund/org given by hand is held to the configured form by validate, as an assignment is.
    await writeFile(
      join(root, 'periods', '2025-02', 'adjustments.yaml'),
      'adjustments:\n  - id: adj-f\n    pi_email: d@x.edu\n    project_id: new\n    fund_org: "100000-04"\n    amount: "40.00"\n    description: Setup fee\n',
    );
    await writeFile(join(root, 'config.yaml'), `${CONFIG}flag_rules:\n  fund_org_patterns: ["^\\\\d{6}-\\\\d{4}$"]\n`);
    const form = await cli('validate', '--json', '--root', root);
    assert.equal(form.code, 1, form.stderr);
    assert.deepEqual(
      form
        .json()
        .findings.filter((f: any) => f.level === 'error')
        .map((f: any) => [f.file, f.message]),
      [
        [
          'periods/2025-02/adjustments.yaml',
          'adjustment adj-f gives fund_org "100000-04", which matches none of flag_rules.fund_org_patterns',
        ],
      ],
    );
    await writeFile(join(root, 'config.yaml'), CONFIG);

    // Showback projects are not charged: an adjustment to one is refused.
    await writeFile(
      join(root, 'periods', '2025-02', 'adjustments.yaml'),
      'adjustments:\n  - id: adj-t\n    pi_email: c@x.edu\n    project_id: teaching\n    fund_org: "100000-0003"\n    amount: "5.00"\n    description: Fee\n',
    );
    const showback = await cli('generate', '--period', '2025-02', '--dry-run', '--root', root);
    assert.equal(showback.code, 2);
    assert.match(showback.stderr, /adj-t: project teaching is showback/);

    // Every amount here is under 10^20; a pasted 10^23 was billed exactly, but nothing else takes it.
    const huge = (amount: string) =>
      writeFile(
        join(root, 'periods', '2025-02', 'adjustments.yaml'),
        `adjustments:\n  - id: adj-h\n    pi_email: d@x.edu\n    project_id: new\n    fund_org: "100000-0004"\n    amount: "${amount}"\n    description: Fee\n`,
      );
    await huge('-100000000000000000000');
    const tooLarge = await cli('generate', '--period', '2025-02', '--dry-run', '--root', root);
    assert.equal(tooLarge.code, 2);
    assert.match(tooLarge.stderr, /adjustments\.yaml:6:\d+: adjustments\.0\.amount: less than 10\^20 either way, as every amount here/);
    await huge('-099999999999999999999.99');
    assert.equal((await cli('generate', '--period', '2025-02', '--dry-run', '--root', root)).code, 0);
    // An adjustment is billed as written: past the cent it was rounded (0.015 billed 0.02), and
    // one that rounded to nothing was left out without a word.
    const refusals: [string, string][] = [
      [
        '0.015',
        'error: periods/2025-02/adjustments.yaml: adjustment adj-h: amount "0.015" has more decimal places than USD\'s 2: an adjustment is billed as written\n  hint: write it with at most 2 decimal places, such as "0.02"\n',
      ],
      [
        '-0.001',
        'error: periods/2025-02/adjustments.yaml: adjustment adj-h: amount "-0.001" has more decimal places than USD\'s 2: an adjustment is billed as written\n  hint: write it with at most 2 decimal places\n',
      ],
      [
        '-0.00',
        'error: periods/2025-02/adjustments.yaml: adjustment adj-h: amount "-0.00" changes nothing\n  hint: write the amount to add (negative for a credit), or remove the adjustment\n',
      ],
    ];
    for (const [amount, message] of refusals) {
      await huge(amount);
      const refused = await cli('generate', '--period', '2025-02', '--dry-run', '--root', root);
      assert.equal(refused.code, 2, amount);
      assert.equal(refused.stderr, message);
    }
    await huge('0.010');
    assert.equal((await statements(root, '2025-02')).statements.find((s: any) => s.pi_email === 'd@x.edu').amount_due, '0.01');
    await writeFile(join(root, 'periods', '2025-02', 'adjustments.yaml'), 'adjustments: []\n');

    // Two caps of one id could not be told apart on a statement or in the journal.
    // A cap is applied to the cent, as written: 500.005 was rounded to 500.01.
    await writeFile(join(root, 'config.yaml'), CONFIG.replace('above: "500.00"', 'above: "500.005"'));
    const capPlaces = await cli('generate', '--period', '2025-01', '--dry-run', '--root', root);
    assert.equal(capPlaces.code, 2);
    assert.equal(
      capPlaces.stderr,
      'error: config.yaml: cap gpu-cap: amount "500.005" has more decimal places than USD\'s 2: a cap is applied to the cent\n  hint: write it with at most 2 decimal places, such as "500.01"\n',
    );

    const capTwice = CONFIG.replace('  showback:', '    - id: gpu-cap\n      services: ["HPC CPU*"]\n      above: "50.00"\n  showback:');
    await writeFile(join(root, 'config.yaml'), capTwice);
    const twice = await cli('generate', '--period', '2025-01', '--dry-run', '--root', root);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /config\.yaml:\d+:\d+: policy\.caps\.1\.id: id gpu-cap is also caps\[0\]: ids are unique/);

    await writeFile(join(root, 'config.yaml'), CONFIG.replace(/ {2}accounts:[\s\S]*$/, ''));
    const noAccount = await cli('journal', '--period', '2025-01', '--format', 'gl', '--root', root);
    assert.equal(noAccount.code, 2);
    assert.match(noAccount.stderr, /no account for (cap|adjustment) lines/);
    assert.match(noAccount.stderr, /set policy\.accounts\.(cap|adjustment): \{ fund_org: …, account: … \}/);

    await writeFile(join(root, 'credits.yaml'), 'credits:\n  - id: x\n    description: y\n    amount: 12.5\n    start: 2025-01\n');
    const invalid = await cli('generate', '--period', '2025-02', '--dry-run', '--root', root);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /credits\.yaml:4:/);
    // A balance is drawn to the cent: one of 0.004 was nothing, without a word. validate says so
    // once (every period's report fails alike), with no warning built on the reports it lacks.
    await writeFile(
      join(root, 'credits.yaml'),
      'credits:\n  - id: x\n    description: y\n    amount: "0.004"\n    pis: [b@x.edu]\n    start: 2025-01\n',
    );
    const places = await cli('validate', '--root', root);
    assert.equal(places.code, 1, places.stderr);
    // Each period is named in the count, not dropped from it for having no statements.
    assert.equal(places.stdout, 'Invalid: 3 periods, 1 error, 0 warnings (2025-01 not read; 2025-02 not read; 2025-03 not read)\n');
    assert.equal(
      places.stderr
        .split('\n')
        .filter((l) => l.startsWith('error:') || l.startsWith('warning:'))
        .join('\n'),
      'error: credits.yaml: credit x: amount "0.004" has more decimal places than USD\'s 2: a balance is drawn down to the cent',
    );
  });

  it('pays a service two caps cover once: each cap in turn, on what the PI still pays after the caps before it', async (t) => {
    const root = await policyRepo(t);
    const caps = async (list: string) => {
      await writeFile(join(root, 'config.yaml'), CONFIG.replace(/ {2}caps:\n[\s\S]*?(?= {2}showback:)/, `  caps:\n${list}`));
      const a = (await statements(root, '2025-01')).statements.find((s: any) => s.pi_email === 'a@x.edu');
      return a.lines.filter((l: any) => l.policy?.kind === 'cap').map((l: any) => [l.policy.id, l.amount]);
    };
    const gpu = (above: string) => `    - { id: gpu-cap, services: ["HPC GPU*"], per: pi, above: "${above}" }\n`;
    const hpc = `    - { id: hpc-cap, services: ["HPC *"], per: pi, above: "600.00" }\n`;
    // a: CPU 300 + GPU 700. The GPU cap pays 200 (700 − 500); the HPC cap then sees 300 + 500 =
    // 800 still paid, and pays 200 of it (800 − 600): a pays 600 of HPC, not 400.
    assert.deepEqual(await caps(gpu('500.00') + hpc), [
      ['gpu-cap', '-200.00'],
      ['hpc-cap', '-200.00'],
    ]);
    // The other way round, GPU above 300: the HPC cap pays 400 (1000 − 600), 120 of the CPU line
    // and 280 of the GPU line (by what each owes); the GPU cap then sees 700 − 280 = 420, and
    // pays 120 (420 − 300): a pays 480, at most 600 of HPC and 300 of GPU.
    assert.deepEqual(await caps(hpc + gpu('300.00')), [
      ['hpc-cap', '-400.00'],
      ['gpu-cap', '-120.00'],
    ]);
  });

  it("caps a statement in the cap's currency only: 500.00 USD is not 500.00 EUR", async (t) => {
    const root = await scratchRepo(t, CONFIG);
    // a's GPU use in two currencies: 700 USD (p1) and 700 EUR (p9), two statements.
    const file = await writeCsv(root, 'hpc-2025-01.csv', [
      [...HEADER, 'BillingCurrency'],
      [...row('2025-01', 'a@x.edu', 'p1', '100000-0001', 'HPC GPU Compute', '700.00'), 'USD'],
      [...row('2025-01', 'a@x.edu', 'p9', '100000-0009', 'HPC GPU Compute', '700.00'), 'EUR'],
    ]);
    const r = await cli('ingest', file, '--source', 'HPC', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    const caps = async () =>
      (await statements(root, '2025-01')).statements.map((s: any) => [
        s.currency,
        s.lines.filter((l: any) => l.policy?.kind === 'cap').map((l: any) => [l.policy.id, l.amount]),
        s.amount_due,
      ]);
    // The cap is in the default currency, USD: the EUR statement is not capped at 500 euros.
    assert.deepEqual(await caps(), [
      ['USD', [['gpu-cap', '-200.00']], '500.00'],
      ['EUR', [], '700.00'],
    ]);
    await writeFile(
      join(root, 'config.yaml'),
      CONFIG.replace(
        /(above: "500.00"\n)/,
        '$1    - { id: gpu-cap-eur, services: ["HPC GPU*"], per: pi, above: "600.00", currency: EUR }\n',
      ),
    );
    assert.deepEqual(await caps(), [
      ['USD', [['gpu-cap', '-200.00']], '500.00'],
      ['EUR', [['gpu-cap-eur', '-100.00']], '600.00'],
    ]);
    // A cap's line names its currency where it is not the usual one (the usual one's reads as issued).
    assert.deepEqual(
      (await statements(root, '2025-01')).statements.flatMap((s: any) =>
        s.lines.filter((l: any) => l.policy?.kind === 'cap').map((l: any) => l.service),
      ),
      ['Cap: the institution pays HPC GPU* above 500.00 a month', 'Cap: the institution pays HPC GPU* above 600.00 EUR a month'],
    );
    // A cap in a currency no statement is in covers nothing: validate says so.
    await writeFile(join(root, 'config.yaml'), CONFIG.replace('above: "500.00"', 'above: "500.00"\n      currency: GBP'));
    const v = await cli('validate', '--json', '--root', root);
    assert.equal(v.code, 0, v.stderr);
    assert.deepEqual(
      v
        .json()
        .findings.filter((f: any) => f.level === 'warning')
        .map((f: any) => f.message),
      [
        'cap gpu-cap is in GBP, and no statement of any period is (EUR, USD): it covers statements in its own currency only',
        // This repository has no project teaching.
        'showback project teaching is on no statement of any period',
      ],
    );
  });

  it('pays a cap over the statements still owing: a refund-only statement is not charged a part of it', async (t) => {
    const root = await scratchRepo(t, CONFIG);
    const refund = (project: string, fund: string, cost: string, resource: string) => {
      const r = row('2025-01', 'a@x.edu', project, fund, 'HPC GPU Compute', cost);
      return [r[0], r[1], 'Credit', `-${cost}`, cost, r[5], resource, r[7]] as string[];
    };
    // a's GPU: p1 1000; p2 a refund of 200 alone; p3 300 less a refund of 250. 850 in all, 350
    // above the cap, paid over p1 (1000) and p3 (50) by what each owes: 333.33 and 16.67.
    const file = await writeCsv(root, 'hpc-2025-01.csv', [
      HEADER,
      row('2025-01', 'a@x.edu', 'p1', '100000-0001', 'HPC GPU Compute', '1000.00'),
      refund('p2', '100000-0002', '200.00', 'r2'),
      row('2025-01', 'a@x.edu', 'p3', '100000-0003', 'HPC GPU Compute', '300.00'),
      refund('p3', '100000-0003', '250.00', 'r3'),
    ]);
    const r = await cli('ingest', file, '--source', 'HPC', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    const set = await statements(root, '2025-01');
    assert.deepEqual(
      set.statements.map((s: any) => [s.project_id, s.lines.filter((l: any) => l.policy).map((l: any) => l.amount), s.amount_due]),
      [
        ['p1', ['-333.33'], '666.67'],
        ['p2', [], '-200.00'],
        ['p3', ['-16.67'], '33.33'],
      ],
    );
  });

  it('draws a program only on what the PI still owes of its services, after caps and the programs before it', async (t) => {
    const root = await policyRepo(t);
    // 2025-01, a: CPU 300 + GPU 700; the cap pays 200 of the GPU (700 − 500).
    await writeFile(
      join(root, 'credits.yaml'),
      [
        'credits:',
        '  - { id: gpu-1, description: GPU grant, amount: "450.00", pis: [a@x.edu], services: ["HPC GPU*"], start: 2025-01 }',
        '  - { id: gpu-2, description: GPU grant, amount: "450.00", pis: [a@x.edu], services: ["HPC GPU*"], start: 2025-01 }',
        '  - { id: any, description: Credit, amount: "1000.00", pis: [a@x.edu], start: 2025-01 }',
        'prepayments: []',
        '',
      ].join('\n'),
    );
    const a = (await statements(root, '2025-01')).statements.find((s: any) => s.pi_email === 'a@x.edu');
    // Of the GPU, 500 is still owed after the cap: gpu-1 draws 450 of it, gpu-2 the other 50 (not
    // 450 more: the GPU is paid), and the credit for any service the CPU's 300, which is all
    // that is left.
    assert.deepEqual(
      a.lines.filter((l: any) => l.policy).map((l: any) => [l.policy.id, l.amount, l.policy.remaining ?? null]),
      [
        ['gpu-cap', '-200.00', null],
        ['gpu-1', '-450.00', '0.00'],
        ['gpu-2', '-50.00', '400.00'],
        ['any', '-300.00', '700.00'],
      ],
    );
    assert.equal(a.amount_due, '0.00');
  });

  it('warns in validate of policy that covers nothing: a PI, project, service or showback project no statement has', async (t) => {
    const root = await policyRepo(t);
    const warnings = async () => {
      const r = await cli('validate', '--json', '--root', root);
      assert.equal(r.code, 0, r.stderr);
      return r
        .json()
        .findings.filter((f: any) => f.level === 'warning')
        .map((f: any) => `${f.file}: ${f.message}`);
    };
    assert.deepEqual(await warnings(), []);
    // A@X.EDU is a@x.edu; a@x.edy, P2 and "HPC-GPU*" are typos; d@x.edu is in pis.yaml (no use yet).
    await writeFile(join(root, 'pis.yaml'), '- { email: d@x.edu, name: Dana }\n');
    await writeFile(
      join(root, 'credits.yaml'),
      `${CREDITS.replace('pis: [a@x.edu]', 'pis: [A@X.EDU, a@x.edy, d@x.edu]')}  - { id: p3, description: Prepaid, amount: "10.00", projects: [P2], services: ["HPC-GPU*", "hpc cpu*"], start: 2025-01 }\n  - { id: p4, description: Prepaid, amount: "10.00", projects: [p2], currency: EUR, start: 2025-01 }\n`,
    );
    await writeFile(
      join(root, 'config.yaml'),
      CONFIG.replace('"HPC GPU*"', '"HPC GPU*", "Cloud*"').replace('[teaching]', '[teaching, Teaching]'),
    );
    const expected = [
      'credits.yaml: credit new-faculty-a covers PI a@x.edy, who is on no statement of any period and not in pis.yaml: it covers nothing for them',
      'credits.yaml: prepayment p3 covers project P2, which is on no statement of any period: it covers nothing for it',
      `credits.yaml: prepayment p3's services "HPC-GPU*" match no service billed in any period`,
      'credits.yaml: prepayment p4 is in EUR, and no statement of any period is (USD): it covers statements in its own currency only',
      `config.yaml: cap gpu-cap's services "Cloud*" match no service billed in any period`,
      'config.yaml: showback project Teaching is on no statement of any period',
    ];
    assert.deepEqual(await warnings(), expected);
    // A month's folder with notes but no data is an error of its own; every month with data was
    // read, so the policy warnings stand beside it.
    await mkdir(join(root, 'periods', '2025-06'), { recursive: true });
    await writeFile(join(root, 'periods', '2025-06', 'notes.mdx'), 'June rates hold.\n');
    const stale = await cli('validate', '--json', '--root', root);
    assert.equal(stale.code, 1, stale.stderr);
    assert.deepEqual(
      stale.json().findings.map((f: any) => `${f.level} ${f.file}: ${f.message}`),
      ['error periods/2025-06/: has no data files under data/2025-06/', ...expected.map((w) => `warning ${w}`)],
    );
    assert.deepEqual(stale.json().unread, []);
  });

  it('keeps a closed period as issued: a credit change that would move it fails validate, which says to adjust instead', async (t) => {
    const root = await policyRepo(t);
    const git = simpleGit(root);
    await git.add('.').commit('three months');
    const closed = await cli('periods', 'close', '2025-01', '--root', root);
    assert.equal(closed.code, 0, closed.stderr);
    assert.equal((await cli('validate', '--root', root)).code, 0);
    // What was issued, hashed as it was before prepayments were shown apart from the list price
    // (the literal was computed on 9092c38, where b@x.edu's prepayment counted in the list): a
    // period closed then still reads as unchanged.
    const issued = parse(await readFile(join(root, 'periods', '2025-01', 'period.yaml'), 'utf8'));
    assert.equal(issued.frozen.statements, '77fa2e5ce1e88a9fc8fc5ea9b11730e53beb85113836495480f9f0358e468220');
    // Raising the credit moves nothing in January (it drew all it could): still valid.
    await writeFile(join(root, 'credits.yaml'), CREDITS.replace('"1000.00"', '"1200.00"'));
    assert.equal((await cli('validate', '--root', root)).code, 0);
    // Lowering it would take January's credit line down: refused, naming the remedy.
    await writeFile(join(root, 'credits.yaml'), CREDITS.replace('"1000.00"', '"500.00"'));
    const v = await cli('validate', '--root', root);
    assert.equal(v.code, 1);
    assert.match(
      v.stdout + v.stderr,
      /2025-01 is closed, but its statements \(amounts, attribution or numbers\) changed, with no config\.yaml setting changed: credits\.yaml, an earlier period, or a version of focus-billing that reads or computes them otherwise/,
    );
    assert.match(v.stdout + v.stderr, /lands as an adjustment in an open period instead: periods\/<open period>\/adjustments\.yaml/);
  });

  it('pr-summary lists policy changes and their effect per PI', async (t) => {
    const root = await policyRepo(t);
    const git = simpleGit(root);
    await git.add('.').commit('three months');
    await git.checkoutLocalBranch('policy');
    await mkdir(join(root, 'periods', '2025-03'), { recursive: true });
    await writeFile(
      join(root, 'periods', '2025-03', 'adjustments.yaml'),
      'adjustments:\n  - id: adj-3\n    pi_email: b@x.edu\n    project_id: p2\n    amount: "-40.00"\n    description: Goodwill credit\n',
    );
    // A new month whose only statement is a showback project's, at 0.00: still a statement to see.
    const april = await writeCsv(root, 'hpc-2025-04.csv', [
      HEADER,
      row('2025-04', 'c@x.edu', 'teaching', '100000-0003', 'HPC CPU Compute', '50.00'),
    ]);
    assert.equal((await cli('ingest', april, '--source', 'HPC', '--root', root)).code, 0);
    const r = await cli('pr-summary', '--base', 'main', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\| 2025-04 \| c@\u200bx\\\.edu \| – \| \$0\.00 \| – \|/);
    assert.match(r.stdout, /### Billing policy\n\n\| Period \| PI \| Policy \| Policy lines \| Amount due \|/);
    // (Emails in a PR comment carry a zero-width space, so GitHub does not link or mention them.)
    assert.match(r.stdout, /\| 2025-03 \| b@\u200bx\\\.edu \| Adjustment \| −\$40\.00 \| \$60\.00 \|/);
    assert.match(r.stdout, /Changed: `periods\/2025-03\/adjustments\.yaml`/);
    assert.match(r.stdout, /\| 2025-03 \| b@\u200bx\\\.edu \| \$100\.00 \| \$60\.00 \| −\$40\.00 \|/);
    // a@x.edu's credit is the same before and after: not a change (the base side derives balances too).
    const changes = /### Statements by PI[\s\S]*?\n\n[\s\S]*?\n\n/.exec(r.stdout)?.[0] ?? '';
    assert.match(changes, /b@/);
    assert.doesNotMatch(changes, /a@/);
  });
});
