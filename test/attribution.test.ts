/** Tag lookup and flag rules, evaluated by DuckDB itself on small hand-made files. */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { Database } from '../src/db/duckdb.ts';
import { Params } from '../src/db/params.ts';
import { ATTRIBUTES } from '../src/domain/rules.ts';
import { chargesSql, RULES_LIST_SQL } from '../src/focus/charges-sql.ts';
import { mapColumns, requiredColumns } from '../src/focus/columns.ts';
import { sniffFile } from '../src/focus/file.ts';
import { cli, PROJECT, removeDir, scratchRepo, tags, tempDir, writeCsv } from './helpers.ts';

let dir: string;
let db: Database;
before(async () => {
  dir = await tempDir();
  db = await Database.open();
});
after(async () => {
  db.close();
  await removeDir(dir);
});

const HEADER = ['BillingPeriodStart', 'BilledCost', 'ListCost', 'ServiceName', 'ResourceName', 'Tags'];

async function charges(
  tagCells: string[],
  config: Config = parseConfig('', 'c'),
  extra: Partial<Record<string, string>> = {},
  tagKeys?: string[],
  select = `${ATTRIBUTES.join(', ')}, tags_invalid, flagged, ${RULES_LIST_SQL} AS rules`,
) {
  const path = await writeCsv(dir, `t${Math.random().toString(36).slice(2)}.csv`, [
    [...HEADER, 'ChargeCategory', ...(extra.currency ? ['BillingCurrency'] : [])],
    ...tagCells.map((t) => [
      extra.period ?? '2025-01-01',
      extra.cost ?? '1.00',
      extra.list ?? '1.00',
      extra.service ?? 'Compute',
      extra.resource ?? 'vm-1',
      t,
      extra.category ?? 'Usage',
      ...(extra.currency ? [extra.currency] : []),
    ]),
  ]);
  const file = await sniffFile(path, 'test.csv');
  const f = { file, columns: mapColumns(file, requiredColumns('BilledCost')), sourceSlug: 'aws', relPath: 'test.csv', tagKeys };
  const params = new Params();
  return db.query<Record<string, any>>(
    `SELECT ${select} FROM (${chargesSql(f, { config, period: '2025-01', attributes: ATTRIBUTES }, params)})`,
    params.values,
  );
}

describe('attribution from Tags', () => {
  it('matches keys exactly, case-insensitively, with prefixes stripped and spaces trimmed', async () => {
    const rows = await charges([
      tags({ pi_email: 'a@x.edu', project_id: 'p1', fund_org: 'f1' }),
      tags({ PI_Email: 'b@x.edu', Project: 'p2', FUND_ORG: 'f2' }),
      tags({ 'user:pi_email': 'c@x.edu', 'user:project_id': 'p3', 'tag:fund_org': 'f3' }),
      tags({ ' pi_email ': 'd@x.edu', 'User:Project_ID': 'p4', fund_org: 123456 }),
    ]);
    assert.deepEqual(
      rows.map((r) => [r.pi_email, r.project_id, r.fund_org]),
      [
        ['a@x.edu', 'p1', 'f1'],
        ['b@x.edu', 'p2', 'f2'],
        ['c@x.edu', 'p3', 'f3'],
        ['d@x.edu', 'p4', '123456'],
      ],
    );
    assert.ok(rows.every((r) => r.flagged === false));
  });
  it('finds the same values when the first rows of a file showed only some spellings (narrowed lookups)', async () => {
    const cells = [
      tags({ pi_email: 'a@x.edu', project_id: 'p1', fund_org: 'f1' }),
      tags({ 'user:pi_email': 'c@x.edu', 'user:project': 'p3', 'costCategory/fund_org': 'f3' }),
      tags({ PI_Email: 'b@x.edu', 'tag:project_id': 'p2', ' fund_org': 'f2' }),
      // Two spellings: the earlier one in tag_mapping precedence wins, narrowed or not.
      tags({ 'tag:pi_email': 'late@x.edu', 'user:pi_email': 'early@x.edu', project_id: 'p', fund_org: 'f' }),
    ];
    const full = await charges(cells);
    for (const seen of [['pi_email', 'project_id', 'fund_org'], ['user:pi_email'], ['tag:pi_email', 'user:project'], []]) {
      const narrowed = await charges(cells, parseConfig('', 'c'), {}, seen);
      assert.deepEqual(
        narrowed.map((r) => [r.pi_email, r.project_id, r.fund_org, r.flagged]),
        full.map((r) => [r.pi_email, r.project_id, r.fund_org, r.flagged]),
        `seen: ${seen.join(', ')}`,
      );
    }
    assert.deepEqual(
      full.map((r) => r.pi_email),
      ['a@x.edu', 'c@x.edu', 'b@x.edu', 'early@x.edu'],
    );
  });
  it('ignores spaces and no-break spaces around values, and rejects misread dates such as 4/1/25', async () => {
    const ok = tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: 'f' });
    const padded = async (extra: Partial<Record<string, string>>) =>
      (
        await charges(
          [ok],
          parseConfig('', 'c'),
          { list: '', ...extra },
          undefined,
          'cost, list_cost, service, period, bad_cost, bad_list, bad_period',
        )
      )[0] ?? {};
    const row = await padded({ cost: ' 1.50\u00a0', list: '\u00a02 ', service: ' Compute\u00a0', period: ' 2025-01-01T00:00:00Z ' });
    assert.deepEqual(
      [row.cost, row.list_cost, row.service, row.period, row.bad_cost, row.bad_list],
      ['1.500000000000000000', '2.000000000000000000', 'Compute', '2025-01', false, false],
    );
    const blank = await padded({ list: ' \u00a0 ' });
    assert.deepEqual([blank.bad_list, blank.list_cost], [false, '1.000000000000000000']);
    for (const period of ['4/1/25', '1/4/2025', '25-01-01']) {
      const bad = await padded({ period });
      assert.equal(bad.bad_period, true, period);
    }
  });
  it('reads the optional references and cost fields through the configured mapping', async () => {
    const config = parseConfig('tag_mapping:\n  reference_1: [grant]\n  cost_center: cc\n', 'c');
    const [row] = await charges([tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: 'f', Grant: 'NSF-123', 'user:CC': '77' })], config);
    assert.equal(row?.reference_1, 'NSF-123');
    assert.equal(row?.cost_center, '77');
  });
  it('treats empty values as missing and ignores values of other keys', async () => {
    const [row] = await charges([tags({ pi_email: '  ', project: 'p', fund_org: 'f', note: 'pi_email is x@y' })]);
    assert.equal(row?.pi_email, null);
    assert.deepEqual(row?.rules, ['missing_pi_email']);
  });
  it('flags Tags that are not a JSON object, and absent Tags', async () => {
    const rows = await charges(['{"pi_email": "a@x.edu", ', '[1, 2]', 'not json', '']);
    assert.deepEqual(
      rows.map((r) => [r.tags_invalid, r.rules[0]]),
      [
        [true, 'invalid_tags'],
        [true, 'invalid_tags'],
        [true, 'invalid_tags'],
        [false, 'missing_pi_email'],
      ],
    );
  });
});

describe('attribution that cannot be blank', () => {
  it('counts empty, blank, null and non-text values as missing or invalid, never as a PI named ""', async () => {
    const rows = await charges([
      tags({ pi_email: '', project_id: '', fund_org: '' }),
      tags({ pi_email: '  \u00a0', project_id: 'p', fund_org: 'f' }),
      tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: '' }),
      tags({ pi_email: { x: 1 }, project_id: ['p1', 'p2'], fund_org: true }),
      tags({ pi_email: 'not an email', project_id: 'p', fund_org: 'f' }),
      tags({ pi_email: 'a\u0000@x.edu', project_id: 'p\nq', fund_org: 'f' }),
      tags({ pi_email: 'a@x.edu\nBcc: evil@evil.com', project_id: 'p', fund_org: 'f' }),
      tags({ pi_email: null, PI_Email: 'b@x.edu', project_id: 12345, fund_org: 100100 }),
      // Invisible characters: a zero-width space after the project, a right-to-left override in
      // the fund/org, a no-break space and a byte-order mark inside emails. Each looks like a
      // clean value and would be another project or PI; the zero-width joiner is Persian's.
      tags({ pi_email: 'a@x.edu', project_id: 'atlas\u200b', fund_org: 'f' }),
      tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: '\u202e0001-001' }),
      tags({ pi_email: 'a@x\u00a0.edu', project_id: 'p', fund_org: 'f' }),
      tags({ pi_email: 'a\ufeff@x.edu', project_id: 'p', fund_org: 'f' }),
      tags({ pi_email: 'a@x.edu', project_id: 'می\u200cخواهم', fund_org: 'f' }),
      // Numbers with a fraction or exponent, which the JSON reader writes its own way (1.10 and
      // 1e3 are lost); whole numbers read back as written, however long.
      '{"pi_email":"a@x.edu","project_id":1.10,"fund_org":1e3}',
      '{"pi_email":"a@x.edu","project_id":-7,"fund_org":123456789012345678901234}',
    ]);
    assert.deepEqual(
      rows.map((r) => [r.pi_email, r.project_id, r.fund_org, r.rules]),
      [
        [null, null, null, ['missing_pi_email', 'missing_project_id', 'missing_fund_org']],
        [null, 'p', 'f', ['missing_pi_email']],
        ['a@x.edu', 'p', null, ['missing_fund_org']],
        ['{"x":1}', '["p1","p2"]', 'true', ['invalid_attribution']],
        ['not an email', 'p', 'f', ['invalid_attribution']],
        ['a\u0000@x.edu', 'p\nq', 'f', ['invalid_attribution']],
        ['a@x.edu\nBcc: evil@evil.com', 'p', 'f', ['invalid_attribution']],
        // A JSON null lets another spelling speak; numbers are text as written.
        ['b@x.edu', '12345', '100100', []],
        ['a@x.edu', 'atlas\u200b', 'f', ['invalid_attribution']],
        ['a@x.edu', 'p', '\u202e0001-001', ['invalid_attribution']],
        ['a@x\u00a0.edu', 'p', 'f', ['invalid_attribution']],
        ['a\ufeff@x.edu', 'p', 'f', ['invalid_attribution']],
        ['a@x.edu', 'می\u200cخواهم', 'f', []],
        ['a@x.edu', '1.1', '1000.0', ['invalid_attribution']],
        ['a@x.edu', '-7', '123456789012345678901234', []],
      ],
    );
  });
  it('says which attribution is a number whose digits are lost, and what it was read as', async (t) => {
    const repo = await scratchRepo(t);
    const file = await writeCsv(dir, 'numbers.csv', [
      ['BillingPeriodStart', 'BilledCost', 'Tags'],
      ['2025-01-01', '30', '{"pi_email":"a@x.edu","project_id":1.10,"fund_org":"100100-1000"}'],
      // Texts that look like a boolean or a number are text: the project is fine, the fund/org only
      // misses the configured pattern.
      ['2025-01-01', '40', '{"pi_email":"nobody","project_id":"true","fund_org":"1001.00"}'],
      ['2025-01-01', '50', '{"pi_email":true,"project_id":["p"],"fund_org":"100100-1000"}'],
    ]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const flags = (await cli('review', 'list', '--json', '--root', repo)).json().flags as { rule: string; message: string }[];
    assert.deepEqual(
      flags.map((f) => [f.rule, f.message]),
      [
        ['invalid_attribution', 'project_id is a number (read as 1.1), not text: its digits as the export wrote them are lost'],
        [
          'invalid_attribution',
          'pi_email "nobody" is not an email address; fund/org "1001.00" matches none of flag_rules.fund_org_patterns',
        ],
        ['invalid_attribution', 'pi_email is a boolean ("true"), not text; project_id is a list ("[\\"p\\"]"), not text'],
      ],
    );
  });
  it('flags a Tags object that repeats a key', async () => {
    const [dup] = await charges(['{"pi_email":"a@x.edu","pi_email":"b@x.edu","project_id":"p","fund_org":"f"}']);
    assert.deepEqual([dup?.tags_invalid, dup?.rules], [true, ['invalid_tags']]);
  });
  it('refuses review assign with a blank or unusable attribution, and approve without one', async (t) => {
    const repo = await scratchRepo(t);
    const file = await writeCsv(dir, 'blank.csv', [
      ['BillingPeriodStart', 'BilledCost', 'Tags'],
      ['2025-01-01', '30', tags({ pi_email: '', project_id: '', fund_org: '' })],
    ]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const [flag] = (await cli('review', 'list', '--json', '--root', repo)).json().flags as { id: string }[];
    const id = flag?.id as string;
    for (const [pi, project, fund, why] of [
      [' ', ' ', ' ', /pi_email is blank; project_id is blank; fund_org is blank/],
      ['someone', 'p', 'f', /pi_email is not an email address/],
      ['a@x.edu', 'p\u0007', 'f', /project_id holds a control or invisible character \(U\+0007\)/],
      ['a@x.edu', 'atlas\u200b', 'f', /project_id holds a control or invisible character \(U\+200B\)/],
      ['a@x\u00a0.edu', 'p', 'f', /pi_email is not an email address/],
    ] as const) {
      const r = await cli('review', 'assign', id, '--pi', pi, '--project', project, '--fund-org', fund, '--root', repo);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, why);
    }
    const approve = await cli('review', 'approve', id, '--root', repo);
    assert.equal(approve.code, 1);
    assert.match(approve.stderr, /skipped [0-9a-f]{16}: no usable PI, project or fund\/org: assign one first/);
    const set = (await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo)).json();
    assert.deepEqual(set.statements, [], 'nothing billed to PI ""');
    assert.equal(set.reconciliation[0].excluded_pending, '30.000000000000000000');
  });
});

describe('text from the data on a terminal', () => {
  it('shows control and invisible characters as escapes: a tag cannot colour, clear, link or reorder the screen', async (t) => {
    const repo = await scratchRepo(t);
    const email = 'a@x.edu\u001b[31m';
    const project = 'astro\u001b]8;;https://evil.example\u0007CLICK\u001b]8;;\u0007\u009b2J\u202eTXT';
    const file = await writeCsv(dir, 'esc.csv', [
      ['BillingPeriodStart', 'BilledCost', 'ResourceName', 'Tags'],
      ['2025-01-01', '30', 'vm\r\u001b[2K', tags({ pi_email: email, project_id: project, fund_org: 'f' })],
    ]);
    const ingest = await cli('ingest', file, '--source', 'AWS', '--root', repo);
    assert.equal(ingest.code, 0, ingest.stderr);
    const list = await cli('review', 'list', '--root', repo);
    assert.equal(list.code, 0, list.stderr);
    for (const r of [ingest, list]) assert.doesNotMatch(r.stdout + r.stderr, /(?![\n\t])[\p{Cc}\u202e]/u);
    assert.ok(list.stdout.includes('a@x.edu\\u001b[31m'), list.stdout);
    const json = await cli('review', 'list', '--json', '--root', repo);
    assert.doesNotMatch(json.stdout, /(?!\n)[\p{Cc}\u202e]/u);
    const [flag] = json.json().flags as { charge: { pi_email: string; project_id: string } }[];
    assert.deepEqual([flag?.charge.pi_email, flag?.charge.project_id], [email, project], 'JSON keeps the values, escaped as JSON');
  });
});

describe('review assign and fund/org patterns', () => {
  it('refuses an assignment whose fund/org the patterns would flag, as DuckDB reads them, and validate a hand-edited one', async (t) => {
    // (?i) is RE2's, not JavaScript's: the patterns are matched by DuckDB, as the rule matches them.
    const repo = await scratchRepo(t, "flag_rules:\n  fund_org_patterns: ['\\d{6}-\\d{4}', '(?i)grant-\\d+']\n");
    const file = await writeCsv(dir, 'fund.csv', [
      ['BillingPeriodStart', 'BilledCost', 'Tags'],
      ['2025-01-01', '30', tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: 'general' })],
    ]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const [flag] = (await cli('review', 'list', '--json', '--root', repo)).json().flags as { id: string; rule: string }[];
    assert.equal(flag?.rule, 'invalid_fund_org');
    const id = flag?.id as string;
    const flagsPath = join(repo, 'periods/2025-01/flags.yaml');
    const before = await readFile(flagsPath, 'utf8');
    for (const fund of ['general', '123456-123', ' grant-x ']) {
      const r = await cli('review', 'assign', id, '--pi', 'a@x.edu', '--project', 'p', '--fund-org', fund, '--root', repo);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`fund_org "${fund.trim()}" matches none of flag_rules\\.fund_org_patterns`));
    }
    assert.equal(await readFile(flagsPath, 'utf8'), before, 'nothing written');
    const ok = await cli('review', 'assign', id, '--pi', 'a@x.edu', '--project', 'p', '--fund-org', ' Grant-7 ', '--root', repo);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await cli('validate', '--root', repo)).code, 0);
    // The same assignment edited by hand in the pull request: validate holds it.
    await writeFile(flagsPath, (await readFile(flagsPath, 'utf8')).replace('fund_org: Grant-7', 'fund_org: Grant 7'));
    const checked = await cli('validate', '--root', repo);
    assert.equal(checked.code, 1, checked.stdout);
    assert.match(
      checked.stdout + checked.stderr,
      new RegExp(`flag ${id} assigns fund_org "Grant 7", which matches none of flag_rules\\.fund_org_patterns`),
    );
    // Once the period is closed, it is held to what it issued (its flags.yaml unchanged, its
    // statements the same): patterns changed since do not make its assignments errors to fix.
    await writeFile(flagsPath, (await readFile(flagsPath, 'utf8')).replace('fund_org: Grant 7', 'fund_org: Grant-7'));
    assert.equal((await cli('review', 'approve', id, '--root', repo)).code, 0);
    const closed = await cli('periods', 'close', '2025-01', '--by', 'office@x.edu', '--root', repo);
    assert.equal(closed.code, 0, closed.stderr);
    const configPath = join(repo, 'config.yaml');
    await writeFile(configPath, (await readFile(configPath, 'utf8')).replace(", '(?i)grant-\\d+'", ''));
    const later = await cli('validate', '--root', repo);
    assert.equal(later.code, 0, later.stdout);
    assert.doesNotMatch(later.stdout + later.stderr, /assigns fund_org/);
  });
});

describe('flag rules', () => {
  const ok = tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: '123456-1234' });
  it('holds fund/orgs that match no configured pattern', async () => {
    const config = parseConfig("flag_rules:\n  fund_org_patterns: ['\\d{6}-\\d{4}', 'GRANT-\\d+']\n", 'c');
    const rows = await charges(
      [
        ok,
        tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: 'GRANT-9' }),
        tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: '123456-12345' }),
      ],
      config,
    );
    assert.deepEqual(
      rows.map((r) => r.rules),
      [[], [], ['invalid_fund_org']],
    );
  });
  it('holds charges whose service or resource matches a pattern', async () => {
    const config = parseConfig("flag_rules:\n  patterns:\n    - { field: resource, pattern: '^p3\\.' }\n", 'c');
    const [gpu] = await charges([ok], config, { resource: 'p3.2xlarge' });
    const [cpu] = await charges([ok], config, { resource: 'm5.p3.large' });
    assert.deepEqual(gpu?.rules, ['pattern_match']);
    assert.deepEqual(cpu?.rules, []);
  });
  it('holds rows of another period than the file is stored under', async () => {
    const [row] = await charges([ok], parseConfig('', 'c'), { period: '2024-12-31T23:00:00-02:00' });
    assert.deepEqual(row?.rules, []); // 2025-01-01T01:00Z is January in UTC
    const [late] = await charges([ok], parseConfig('', 'c'), { period: '2024-12-01' });
    assert.deepEqual(late?.rules, ['period_mismatch']);
  });
  it('holds anomalies: a large charge, billing above list, negative usage', async () => {
    const config = parseConfig('flag_rules:\n  anomalies:\n    large_charge: 500\n', 'c');
    const rules = async (extra: Partial<Record<string, string>>) => (await charges([ok], config, extra))[0]?.rules;
    assert.deepEqual(await rules({ cost: '500.00', list: '600' }), []);
    assert.deepEqual(await rules({ cost: '500.01', list: '600' }), ['large_charge']);
    assert.deepEqual(await rules({ cost: '-600', list: '-600', category: 'Credit' }), ['large_charge']);
    assert.deepEqual(await rules({ cost: '10.01', list: '10' }), ['above_list']);
    assert.deepEqual(await rules({ cost: '-2', list: '-2' }), ['negative_usage']);
    assert.deepEqual(await rules({ cost: '-2', list: '-2', category: 'credit' }), []);
    // A currency's own threshold: 500 yen is some three dollars.
    const yen = parseConfig(
      'flag_rules:\n  anomalies:\n    large_charge: 500\n    large_charge_per_currency: { JPY: 75000, EUR: null }\n',
      'c',
    );
    const inCurrency = async (cost: string, currency: string) => (await charges([ok], yen, { cost, list: cost, currency }))[0]?.rules;
    assert.deepEqual(
      [
        await inCurrency('75000', 'JPY'),
        await inCurrency('75001', 'JPY'),
        await inCurrency('500.01', 'USD'),
        await inCurrency('1000000', 'EUR'),
      ],
      [[], ['large_charge'], ['large_charge'], []],
    );
    const off = parseConfig('flag_rules:\n  anomalies: { large_charge: null, above_list: false, negative_usage: false }\n', 'c');
    assert.deepEqual((await charges([ok], off, { cost: '-90000', list: '-1' }))[0]?.rules, []);
  });
  it('reads a ListCost of 0 on a charge that costs more as no list price under billing.zero_list_cost: unknown', async () => {
    const read = async (config: Config, cost: string, list: string) => {
      const [row] = await charges(
        [ok],
        config,
        { cost, list, category: cost.startsWith('-') ? 'Credit' : 'Usage' },
        undefined,
        `list_cost::VARCHAR AS list, ${RULES_LIST_SQL} AS rules`,
      );
      return [row?.list, row?.rules];
    };
    const unknown = parseConfig('billing:\n  zero_list_cost: unknown\n', 'c');
    // Azure's Marketplace charge: its list is its cost, so no discount and nothing held.
    assert.deepEqual(await read(unknown, '100.00', '0'), ['100.000000000000000000', []]);
    assert.deepEqual(await read(unknown, '100.00', '0.00'), ['100.000000000000000000', []]);
    // A list price given, a free charge, and a credit keep what the export says.
    assert.deepEqual(await read(unknown, '100.00', '60'), ['60.000000000000000000', ['above_list']]);
    assert.deepEqual(await read(unknown, '0', '0'), ['0.000000000000000000', []]);
    assert.deepEqual(await read(unknown, '-5.00', '0'), ['0.000000000000000000', []]);
    // Unset (and zero): a list price of 0, held as billed above it, as before the setting.
    for (const config of [parseConfig('', 'c'), parseConfig('billing:\n  zero_list_cost: zero\n', 'c')])
      assert.deepEqual(await read(config, '100.00', '0'), ['0.000000000000000000', ['above_list']]);
  });
  it('says, on a charge held for a ListCost of 0, how to read it as no list price, where config.yaml does not say', async (t) => {
    const sample = await readFile(join(PROJECT, 'config.yaml'), 'utf8');
    const repo = await scratchRepo(t, sample.replace(/^ {2}zero_list_cost: unknown.*\n/m, ''));
    const owner = tags({ pi_email: 'a@x.edu', project_id: 'p1', fund_org: '100000-0001' });
    const file = await writeCsv(dir, 'zero-list.csv', [
      HEADER,
      ['2025-01-01', '100.00', '0', 'Marketplace VM', 'vm-1', owner],
      ['2025-01-01', '100.00', '60', 'Virtual Machines', 'vm-2', owner],
    ]);
    assert.equal((await cli('ingest', file, '--source', 'Azure', '--root', repo)).code, 0);
    const flags = (await cli('review', 'list', '--json', '--period', '2025-01', '--root', repo)).json().flags;
    assert.deepEqual(
      flags.map((f: { message: string }) => f.message),
      [
        'billed 100 is above the list price 0; a ListCost of 0 is how Azure writes a Marketplace or reservation charge: set billing.zero_list_cost: unknown in config.yaml to read it as no list price',
        'billed 100 is above the list price 60',
      ],
    );
  });
  it('holds a ChargeCategory that FOCUS does not have, in any case or spacing it does', async () => {
    const category = async (value: string, config = parseConfig('flag_rules:\n  unknown_category: true\n', 'c')) => {
      const [row] = await charges([ok], config, { category: value }, undefined, `category, ${RULES_LIST_SQL} AS rules`);
      return [row?.category, row?.rules];
    };
    assert.deepEqual(await category('Purchase'), ['Purchase', []]);
    assert.deepEqual(await category(' tax '), ['Tax', []]);
    assert.deepEqual(await category(''), ['Usage', []]); // no value: a usage charge, as before
    assert.deepEqual(await category('error'), ['error', ['unknown_category']]); // Azure's old view
    assert.deepEqual(await category('Refund'), ['Refund', ['unknown_category']]);
    // Off unless set (init's config sets it): an upgrade holds no charge of a period closed before it.
    assert.deepEqual(await category('Refund', parseConfig('', 'c')), ['Refund', []]);
  });
  it('can be switched off', async () => {
    const config = parseConfig('flag_rules:\n  missing_fund_org: false\n', 'c');
    const [row] = await charges([tags({ pi_email: 'a@x.edu', project_id: 'p' })], config);
    assert.equal(row?.flagged, false);
  });
});

describe('an attribute under two keys', () => {
  const on = parseConfig('flag_rules:\n  conflicting_tags: true\n', 'c');
  const read = async (text: string, config = on, tagKeys?: string[]) => {
    const [row] = await charges([text], config, {}, tagKeys, `pi_email, project_id, fund_org, tags_conflict, ${RULES_LIST_SQL} AS rules`);
    return [row?.tags_conflict, row?.rules, row?.pi_email, row?.project_id];
  };
  const held = (what: string) => [what, ['conflicting_tags']];
  it('holds a PI, project or fund/org that two keys give differently, showing the first in precedence', async () => {
    const two = '{"pi_email":"a@x.edu","user:pi_email":"b@x.edu","project_id":"p","fund_org":"f"}';
    assert.deepEqual(await read(two), [...held('pi_email'), 'a@x.edu', 'p']);
    assert.deepEqual(await read('{"pi_email":"a@x.edu","project":"q","project_id":"p","fund_org":"f"}'), [
      ...held('project_id'),
      'a@x.edu',
      'p',
    ]);
    assert.deepEqual(
      (await read('{"user:pi_email":"b@x.edu","PI_Email":"a@x.edu","project_id":"p","fund_org":"f"}')).slice(0, 2),
      held('pi_email'),
    );
    assert.deepEqual(
      (await read('{"pi_email":"a@x.edu","user:pi_email":"b@x.edu","project_id":"p","fund_org":"f","tag:fund_org":"g"}')).slice(0, 2),
      held('pi_email, fund_org'),
    );
    // A key written with an escape is the same key: the text never shows its name twice.
    assert.deepEqual(
      (await read('{"pi_email":"a@x.edu","user:pi\\u005femail":"b@x.edu","project_id":"p","fund_org":"f"}')).slice(0, 2),
      held('pi_email'),
    );
    // A prefix's slash written as an escape (as some exports write every slash) hides no name.
    assert.deepEqual(
      (await read('{"pi_email":"a@x.edu","resourceTags\\/pi_email":"b@x.edu","project_id":"p","fund_org":"f"}')).slice(0, 2),
      held('pi_email'),
    );
    // A name with a slash in it can be written with \/ alone: any backslash then counts.
    const slashed = parseConfig('tag_mapping:\n  pi_email: [pi/email]\nflag_rules:\n  conflicting_tags: true\n', 'c');
    assert.deepEqual(
      (await read('{"pi\\/email":"a@x.edu","user:pi\\/email":"b@x.edu","project_id":"p","fund_org":"f"}', slashed)).slice(0, 3),
      [...held('pi_email'), 'a@x.edu'],
    );
    // The first rows showed only the bare keys: the lookups are narrowed, the check is not.
    assert.deepEqual((await read(two, on, ['pi_email', 'project_id', 'fund_org'])).slice(0, 2), held('pi_email'));
    // Off unless set (init's config sets it): an upgrade holds no charge of a period closed before it.
    assert.deepEqual(await read(two, parseConfig('', 'c')), [null, [], 'a@x.edu', 'p']);
  });
  it('bills one value however its keys spell it, and ignores empty keys and other attributes', async () => {
    for (const text of [
      '{"pi_email":"a@x.edu","USER:PI_EMAIL":" A@X.edu ","project_id":"p","fund_org":"f"}', // an email's case and spaces
      '{"pi_email":"a@x.edu","project_id":"caf\\u00e9","tag:project_id":"cafe\\u0301","fund_org":"f"}', // one text, composed or not
      '{"pi_email":"a@x.edu","project_id":"p","fund_org":100200,"user:fund_org":"100200"}', // a number and its text
      '{"pi_email":"a@x.edu","user:pi_email":"","tag:pi_email":null,"project_id":"p","fund_org":"f"}', // keys without a value
      '{"pi_email":"a@x.edu","project_id":"project-p","fund_org":"f"}', // a value that names the key
      '{"pi_email":"a@x.edu","project_id":"p","fund_org":"f","account_code":"1","user:account_code":"2"}', // not a core attribute
    ]) {
      const [conflict, rules] = await read(text);
      assert.deepEqual([conflict, rules], [null, []], text);
    }
    // A key twice in one spelling is invalid Tags, as before, and not also a conflict.
    assert.deepEqual((await read('{"pi_email":"a@x.edu","pi_email":"b@x.edu","project_id":"p","fund_org":"f"}')).slice(0, 2), [
      null,
      ['invalid_tags'],
    ]);
  });
  it('holds such a charge at ingest with a flag that names the attribute, billed once approved', async (t) => {
    const repo = await scratchRepo(t); // the project's config.yaml sets the rule, as init's does
    const fund = '100200-3000';
    const file = await writeCsv(dir, 'two-keys.csv', [
      ['BillingPeriodStart', 'BilledCost', 'Tags'],
      ['2025-01-01', '30', `{"pi_email":"a@x.edu","user:pi_email":"b@x.edu","project_id":"p","fund_org":"${fund}"}`],
      ['2025-01-01', '12', `{"pi_email":"a@x.edu","user:pi_email":"A@x.edu","project_id":"p","fund_org":"${fund}"}`],
    ]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const flags = (await cli('review', 'list', '--json', '--root', repo)).json().flags as Record<string, any>[];
    assert.deepEqual(
      flags.map((f) => [f.rule, f.message, f.charge.pi_email, f.charge.amount]),
      [
        [
          'conflicting_tags',
          'Tags gives pi_email under more than one key, with different values; the charge shows the one tag_mapping puts first: approve it if that is right, or assign the right one',
          'a@x.edu',
          '30',
        ],
      ],
    );
    const due = async () => (await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo)).json();
    const before = await due();
    assert.deepEqual(
      [before.statements.map((x: any) => x.amount_due), before.reconciliation[0].excluded_pending],
      [['12.00'], '30.000000000000000000'],
    );
    assert.equal((await cli('review', 'approve', flags[0]?.id, '--root', repo)).code, 0);
    assert.deepEqual(
      (await due()).statements.map((x: any) => [x.pi_email, x.amount_due]),
      [['a@x.edu', '42.00']],
    );
    assert.equal((await cli('validate', '--root', repo)).code, 0);
  });
});

describe('charges without attributes', () => {
  it('reads amounts and periods when no attribute is asked for, every attribute NULL', async () => {
    const path = await writeCsv(dir, 'no-attributes.csv', [
      HEADER,
      ['2025-01-01', '2.50', '3.00', 'Compute', 'vm-1', tags({ pi_email: 'a@x.edu' })],
    ]);
    const file = await sniffFile(path, 'no-attributes.csv');
    const f = { file, columns: mapColumns(file, requiredColumns('BilledCost')), sourceSlug: 'aws', relPath: 'no-attributes.csv' };
    const params = new Params();
    const rows = await db.query(
      `SELECT cost::VARCHAR AS cost, period, pi_email FROM (${chargesSql(f, { config: parseConfig('', 'c'), period: '2025-01', attributes: [] }, params)})`,
      params.values,
    );
    assert.deepEqual(rows, [{ cost: '2.500000000000000000', period: '2025-01', pi_email: null }]);
  });
});
