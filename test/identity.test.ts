/**
 * Golden values for every identifier the repository and the PIs keep. These literals were
 * checked independently (Python's hashlib over the documented rule); a refactor that changes
 * any of them would detach recorded decisions or renumber issued statements, and must fail here.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  dataFileName,
  deliveryKey,
  emlFileName,
  exportProblems,
  FLAG_SCHEME,
  flagId,
  linkToken,
  parseDataFileName,
  piKey,
  piSlug,
  rowIdentityHash,
  statementNumber,
  statementPaths,
} from '../src/domain/identity.ts';
import { assertDistinctIdentities, type SiteModel } from '../src/site/model.ts';
import { cli, scratch, scratchRepo, writeCsv } from './helpers.ts';

const TAGS = '{"pi_email":"a.rivera@example.edu","project_id":"cell-imaging","fund_org":"100100-1011"}';
const SECRET = 'Vq3x9Lr0aT7mZkP2sWd8YbN1cHf6GjE4uQo5RiU0=';
const CONFIG = "flag_rules:\n  patterns:\n    - field: service\n      pattern: 'EC2'\n";

describe('identifiers (golden)', () => {
  it('a flag id is the first 16 hex digits of the row identity hash, -2 for its twin', () => {
    const h = rowIdentityHash('aws', ['2025-01-01', '2025-01-02', '12.50', '15.00', 'USD', 'Usage', 'Amazon EC2', 'i-0abc', null, TAGS]);
    assert.equal(h, 'bfde6428e3680adcd0217c9687ab954383f802fef6c44a1fbfc7ed49f6c75004');
    assert.equal(flagId(h, 1), 'bfde6428e3680adc');
    assert.equal(flagId(h, 2), 'bfde6428e3680adc-2');
    assert.equal(FLAG_SCHEME, 1);
  });

  it('ingest gives a row that id, whatever the column order and extra columns', async (t) => {
    const dir = await scratch(t);
    for (const [name, header, row] of [
      [
        'plain.csv',
        [
          'BillingPeriodStart',
          'ChargePeriodStart',
          'BilledCost',
          'ListCost',
          'BillingCurrency',
          'ChargeCategory',
          'ServiceName',
          'ResourceId',
          'Tags',
        ],
        ['2025-01-01', '2025-01-02', '12.50', '15.00', 'USD', 'Usage', 'Amazon EC2', 'i-0abc', TAGS],
      ],
      [
        'reordered.csv',
        [
          'Tags',
          'x_Extra',
          'ResourceId',
          'ServiceName',
          'ChargeCategory',
          'BillingCurrency',
          'ListCost',
          'BilledCost',
          'ChargePeriodStart',
          'BillingPeriodStart',
          'RegionId',
        ],
        [TAGS, 'anything', 'i-0abc', 'Amazon EC2', 'Usage', 'USD', '15.00', '12.50', '2025-01-02', '2025-01-01', 'us-east-1'],
      ],
    ] as const) {
      const repo = await scratchRepo(t, CONFIG);
      const file = await writeCsv(dir, name, [[...header], [...row], [...row]]);
      const r = await cli('ingest', file, '--source', 'AWS', '--root', repo);
      assert.equal(r.code, 0, r.stderr);
      const flags = parse(await readFile(join(repo, 'periods/2025-01/flags.yaml'), 'utf8'));
      assert.equal(flags.version, 1);
      assert.deepEqual(
        flags.flags.map((f: { id: string }) => f.id),
        ['bfde6428e3680adc', 'bfde6428e3680adc-2'],
        name,
      );
    }
  });

  it('a statement number is the period and 64 bits of a hash of PI, project, fund/org and currency', async (t) => {
    assert.equal(
      statementNumber('2025-01', { pi: 'a.rivera@example.edu', project_id: 'cell-imaging', fund_org: '100100-1011', currency: 'USD' }),
      '202501-FE77349D7AB70B3E',
    );
    // Two PI × project pairs that shared 202501-FB3C3AC0 when numbers had 32 bits.
    const alice = statementNumber('2025-01', { pi: 'alice@x.edu', project_id: 'proj17649', fund_org: '100100-1000', currency: 'USD' });
    const bob = statementNumber('2025-01', { pi: 'bob@x.edu', project_id: 'proj60150', fund_org: '100100-1000', currency: 'USD' });
    assert.deepEqual([alice, bob], ['202501-FB3C3AC012F79061', '202501-FB3C3AC050BC9B26']);
    // generate numbers a statement the same way, whatever the spelling of the PI's email.
    const repo = await scratchRepo(t);
    const file = await writeCsv(await scratch(t), 'a.csv', [
      ['BillingPeriodStart', 'BilledCost', 'Tags'],
      ['2025-01-01', '10', TAGS.replace('a.rivera@example.edu', 'A.Rivera@Example.edu')],
    ]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const set = (await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo)).json();
    assert.deepEqual(
      set.statements.map((s: { number: string; pi_email: string }) => [s.number, s.pi_email]),
      [['202501-FE77349D7AB70B3E', 'a.rivera@example.edu']],
    );
  });

  it('a PI, project or fund/org written in decomposed Unicode is the one written composed: one statement, one number', async (t) => {
    // "café" as 4 code points (NFC) and as 5 (e + U+0301 COMBINING ACUTE ACCENT): they look the same.
    const [nfc, nfd] = ['caf\u00e9', 'cafe\u0301'];
    assert.equal(piKey('Jose\u0301@x.edu'), 'jos\u00e9@x.edu');
    const tags = (pi: string, project: string) => JSON.stringify({ pi_email: pi, project_id: project, fund_org: '100100-1011' });
    const repo = await scratchRepo(t, 'policy:\n  showback: [the\u0301]\n');
    const file = await writeCsv(await scratch(t), 'a.csv', [
      ['BillingPeriodStart', 'BilledCost', 'ResourceId', 'Tags'],
      ['2025-01-01', '10', 'r1', tags('jos\u00e9@x.edu', nfc)],
      ['2025-01-01', '5', 'r2', tags('jose\u0301@x.edu', nfd)],
      ['2025-01-01', '7', 'r3', tags('jos\u00e9@x.edu', 'th\u00e9')],
    ]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const set = (await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo)).json();
    assert.deepEqual(
      set.statements.map((s: { number: string; pi_email: string; project_id: string; amount_due: string }) => [
        s.number,
        s.pi_email,
        s.project_id,
        s.amount_due,
      ]),
      [
        // Numbers checked with Python's hashlib over the composed texts.
        ['202501-2C1347FC969A0DB5', 'jos\u00e9@x.edu', nfc, '15.00'],
        // policy.showback names the project decomposed: it still applies.
        ['202501-E117A1A68A4D2D88', 'jos\u00e9@x.edu', 'th\u00e9', '0.00'],
      ],
    );
    assert.equal(
      set.statements[0].number,
      statementNumber('2025-01', { pi: 'jos\u00e9@x.edu', project_id: nfc, fund_org: '100100-1011', currency: 'USD' }),
    );
  });

  it('keeps projects that differ only in letter case apart, and says so', async (t) => {
    const repo = await scratchRepo(t);
    const tags = (project: string) => JSON.stringify({ pi_email: 'a@x.edu', project_id: project, fund_org: '100100-1011' });
    const file = await writeCsv(await scratch(t), 'a.csv', [
      ['BillingPeriodStart', 'BilledCost', 'ResourceId', 'Tags'],
      ['2025-01-01', '10', 'r1', tags('Atlas')],
      ['2025-01-01', '5', 'r2', tags('atlas')],
      ['2025-01-01', '1', 'r3', tags('borealis')],
    ]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const set = (await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo)).json();
    assert.deepEqual(
      set.statements.map((s: { project_id: string }) => s.project_id),
      ['atlas', 'Atlas', 'borealis'],
    );
    assert.deepEqual(set.warnings, [
      'PI a@x.edu has projects "Atlas" and "atlas", which differ only in letter case: one project tagged two ways is billed on separate statements; if so, correct the tags where the charges come from',
    ]);
  });

  it('says which projects and services differ only in spaces, which a page shows alike', async (t) => {
    const repo = await scratchRepo(t);
    const tags = (project: string) => JSON.stringify({ pi_email: 'a@x.edu', project_id: project, fund_org: '100100-1011' });
    const file = await writeCsv(await scratch(t), 'a.csv', [
      ['BillingPeriodStart', 'BilledCost', 'ResourceId', 'ServiceName', 'Tags'],
      ['2025-01-01', '10', 'r1', 'Amazon EC2', tags('gen atlas')],
      ['2025-01-01', '5', 'r2', 'Amazon\u00a0 EC2', tags('gen atlas')],
      ['2025-01-01', '2', 'r3', 'Amazon S3', tags('gen atlas')],
      ['2025-01-01', '1', 'r4', 'Amazon S3', tags('gen  atlas')],
      ['2025-01-01', '1', 'r5', 'Amazon s3', tags('Gen  Atlas')],
    ]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const set = (await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo)).json();
    // Nothing is merged: each spelling keeps its statement and line, as before.
    assert.deepEqual(
      set.statements.map((s: { project_id: string; lines: { service: string }[] }) => [s.project_id, s.lines.map((l) => l.service)]),
      [
        ['gen  atlas', ['Amazon S3']],
        ['Gen  Atlas', ['Amazon s3']],
        ['gen atlas', ['Amazon\u00a0 EC2', 'Amazon EC2', 'Amazon S3']],
      ],
    );
    const number = set.statements[2].number;
    assert.deepEqual(set.warnings, [
      'PI a@x.edu has projects "Gen  Atlas", "gen  atlas" and "gen atlas", which differ only in letter case and spaces: one project tagged two ways is billed on separate statements; if so, correct the tags where the charges come from',
      `statement ${number} (PI a@x.edu, project gen atlas) has services "Amazon EC2" and "Amazon\u00a0 EC2" from aws, which differ only in spaces: one service written two ways in the export is shown as two lines that read alike`,
    ]);
  });

  it('a PI is keyed by the lower-cased email, everywhere', () => {
    assert.equal(piKey(' A.Rivera@Example.edu '), 'a.rivera@example.edu');
    assert.equal(piSlug(' A.Rivera@Example.edu '), 'a-rivera-6af8c7');
    assert.equal(emlFileName('A.Rivera@example.edu'), 'a-rivera-6af8c7.eml');
    assert.equal(deliveryKey('A.Rivera@example.edu'), 'a.rivera@example.edu');
    assert.equal(linkToken(SECRET, '2025-01', 'A.Rivera@example.edu'), 'ERWt2H8UfSycrSpJuolMDN');
    assert.equal(linkToken(SECRET, '2025-01', 'a.rivera@example.edu'), 'ERWt2H8UfSycrSpJuolMDN');
  });

  it('pages and PDFs have fixed paths, plain or under the secret link', () => {
    assert.deepEqual(statementPaths('2025-01', 'a.rivera@example.edu', 'Cell Imaging!', '202501-0123456789ABCDEF'), {
      piPage: 'periods/2025-01/pi/a-rivera-6af8c7/',
      page: 'periods/2025-01/statements/202501-0123456789ABCDEF/',
      pdf: 'periods/2025-01/pdf/2025-01_a-rivera-6af8c7_cell-imaging_0123456789ABCDEF.pdf',
      pdfFile: '2025-01_a-rivera-6af8c7_cell-imaging_0123456789ABCDEF.pdf',
    });
    assert.deepEqual(statementPaths('2025-01', 'a.rivera@example.edu', 'Cell Imaging!', '202501-0123456789ABCDEF', SECRET), {
      piPage: 's/ERWt2H8UfSycrSpJuolMDN/',
      page: 's/ERWt2H8UfSycrSpJuolMDN/202501-0123456789ABCDEF/',
      pdf: 's/ERWt2H8UfSycrSpJuolMDN/2025-01_a-rivera-6af8c7_cell-imaging_0123456789ABCDEF.pdf',
      pdfFile: '2025-01_a-rivera-6af8c7_cell-imaging_0123456789ABCDEF.pdf',
    });
  });

  it('data files are named by source slug, compression and part', () => {
    assert.equal(dataFileName('aws', { format: 'csv', compression: 'none' }), 'aws.csv');
    assert.equal(dataFileName('aws', { format: 'csv', compression: 'gzip' }), 'aws.csv.gz');
    assert.equal(dataFileName('azure-local', { format: 'parquet', compression: 'none' }), 'azure-local.parquet');
    assert.equal(dataFileName('aws', { format: 'csv', compression: 'gzip' }, { index: 2, count: 3 }), 'aws.part-002.csv.gz');
    assert.equal(dataFileName('aws', { format: 'csv', compression: 'none' }, { index: 7, count: 1200 }), 'aws.part-0007.csv');
    assert.equal(dataFileName('aws', { format: 'csv', compression: 'none' }, { index: 1, count: 1 }), 'aws.csv');
    assert.deepEqual(parseDataFileName('aws.part-002.csv.gz'), { slug: 'aws', part: 2, ext: 'csv.gz' });
    assert.equal(parseDataFileName('.csv'), null);
    assert.equal(parseDataFileName('AWS.csv'), null);
    assert.deepEqual(exportProblems(['aws.csv', 'azure.part-001.csv', 'azure.part-002.csv.gz', 'hpc.parquet']), []);
    assert.deepEqual(
      exportProblems(['aws.csv', 'aws.csv.gz', 'hpc.part-001.csv', 'hpc.part-001.csv.gz']).map((p) => [
        p.slug,
        p.reason,
        p.files.join(' '),
      ]),
      [
        ['aws', 'two stored files of one export', 'aws.csv aws.csv.gz'],
        ['hpc', 'part 1 stored twice', 'hpc.part-001.csv hpc.part-001.csv.gz'],
      ],
    );
  });

  it('refuses a flags.yaml made with another flag-id scheme', async (t) => {
    const repo = await scratchRepo(t);
    await mkdir(join(repo, 'periods/2025-01'), { recursive: true });
    await writeFile(join(repo, 'periods/2025-01/flags.yaml'), 'version: 2\nperiod: 2025-01\nflags: []\n');
    const r = await cli('review', 'list', '--root', repo);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^error: periods\/2025-01\/flags\.yaml:1:10: version: flag ids of scheme 2 are not what this version of focus-billing makes \(scheme 1\)/,
    );
  });

  it('refuses to build two statements that would share a number, a page or a PDF', () => {
    const statement = (pi: string, project: string) => ({
      pi_email: pi,
      project_id: project,
      fund_org: 'f',
      currency: 'USD',
      number: '202501-0000000000000000',
      paths: statementPaths('2025-01', pi, project, '202501-0000000000000000'),
    });
    const model = {
      periods: [{ statements: [statement('alice@x.edu', 'a'), statement('bob@x.edu', 'b')], pis: [] }],
    } as unknown as SiteModel;
    assert.throws(
      () => assertDistinctIdentities(model),
      /two statements share the statement number 202501-0000000000000000 \(alice@x\.edu, a, f, USD; bob@x\.edu, b, f, USD\): refusing to build/,
    );
  });
});
