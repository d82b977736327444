/**
 * Strict where the docs promise strictness, and errors that point at the real cause: each input
 * the hostile-input report found accepted (or answered with "internal error") is refused with
 * file:line:column and exit 2, nothing written.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { constants, deflateRawSync, gzipSync } from 'node:zlib';
import { micromark } from 'micromark';
import { simpleGit } from 'simple-git';
import { Database } from '../src/db/duckdb.ts';
import { markdownCell } from '../src/pr/summary.ts';
import { cli, FOCUS_HEADER, SAMPLE, scratch, scratchRepo, snapshot, tags, writeCsv } from './helpers.ts';

const H = [
  'BillingPeriodStart',
  'ChargePeriodStart',
  'ChargePeriodEnd',
  'BilledCost',
  'ListCost',
  'BillingCurrency',
  'ServiceName',
  'ResourceId',
  'Tags',
];
const T = tags({ pi_email: 'a@x.edu', project_id: 'p1', fund_org: '100100-1000' });
const row = (over: Partial<Record<(typeof H)[number], string>> = {}) =>
  H.map(
    (h) =>
      over[h] ??
      ({
        BillingPeriodStart: '2025-01-01',
        ChargePeriodStart: '2025-01-05',
        ChargePeriodEnd: '2025-01-06',
        BilledCost: '10',
        ListCost: '10',
        BillingCurrency: 'USD',
        ServiceName: 'EC2',
        ResourceId: 'r-1',
        Tags: T,
      }[h] as string),
  );

/** Ingests `file` into a fresh repository and expects exit 2, the message, and nothing written. */
async function refused(t: Parameters<typeof scratchRepo>[0], file: string, message: RegExp, args: string[] = []) {
  const repo = await scratchRepo(t);
  const before = await snapshot(repo);
  const r = await cli('ingest', file, '--source', 'AWS', ...args, '--root', repo);
  assert.equal(r.code, 2, `${file}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  assert.deepEqual(await snapshot(repo), before, 'nothing written');
  return r;
}

/** A fresh repository holding one AWS charge of January for a.rivera@example.edu, and `more` rows (held ones, say). */
async function riveraRepo(t: Parameters<typeof scratchRepo>[0], more: string[][] = []): Promise<string> {
  const repo = await scratchRepo(t);
  const file = await writeCsv(await scratch(t), 'a.csv', [
    ['BillingPeriodStart', 'BilledCost', 'Tags'],
    ['2025-01-01', '10', JSON.stringify({ pi_email: 'a.rivera@example.edu', project_id: 'p', fund_org: '100100-1011' })],
    ...more,
  ]);
  const r = await cli('ingest', file, '--source', 'AWS', '--root', repo);
  assert.equal(r.code, 0, r.stderr);
  return repo;
}

describe('strict input', () => {
  it('refuses a gzip stream cut at a row boundary, or without its checksum: not half the rows billed', async (t) => {
    const dir = await scratch(t);
    const rows = [
      H.join(','),
      ...Array.from({ length: 50_000 }, (_, i) =>
        row({ ResourceId: `r-${i}`, BilledCost: '1.00', ListCost: '1.00' })
          .map((c) => (c.includes(',') || c.includes('"') ? `"${c.replace(/"/g, '""')}"` : c))
          .join(','),
      ),
    ].join('\n');
    const data = Buffer.from(`${rows}\n`);
    const cut = data.subarray(0, data.subarray(0, data.length / 2).lastIndexOf(10) + 1);
    // A gzip header, the first half deflated and sync-flushed, then nothing: no final block, no trailer.
    const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    await writeFile(join(dir, 'cut.csv.gz'), Buffer.concat([header, deflateRawSync(cut, { finishFlush: constants.Z_SYNC_FLUSH })]));
    await refused(
      t,
      join(dir, 'cut.csv.gz'),
      /cut\.csv\.gz: corrupt gzip file: expected a complete \.csv\.gz whose checksum and length match, found a stream that ends early/,
    );
    await writeFile(join(dir, 'notrailer.csv.gz'), gzipSync(data).subarray(0, -8));
    await refused(t, join(dir, 'notrailer.csv.gz'), /notrailer\.csv\.gz: corrupt gzip file/);
  });

  it('refuses digit separators, epoch, zone names, unknown currencies and a charge ending before it starts', async (t) => {
    const dir = await scratch(t);
    const cases: [string, Partial<Record<string, string>>, RegExp][] = [
      ['sep.csv', { BilledCost: '1_000' }, /sep\.csv:3:4: BilledCost: expected a decimal number such as 12\.34 or 1\.5E-3, found "1_000"/],
      ['sep-list.csv', { ListCost: '1_0' }, /sep-list\.csv:3:5: ListCost: expected a decimal number/],
      [
        'epoch.csv',
        { BillingPeriodStart: 'epoch' },
        /epoch\.csv:3:1: BillingPeriodStart: expected an ISO 8601 date or datetime.*found "epoch"/,
      ],
      ['epoch2.csv', { ChargePeriodStart: 'epoch' }, /epoch2\.csv:3:2: ChargePeriodStart: expected an ISO 8601 date/],
      [
        'zone.csv',
        { BillingPeriodStart: '2025-02-01 00:00:00 America/New_York' },
        /zone\.csv:3:1: BillingPeriodStart: .*found "2025-02-01 00:00:00 America\/New_York"/,
      ],
      [
        'zzz.csv',
        { BillingCurrency: 'ZZZ' },
        /zzz\.csv:3:6: BillingCurrency: expected an ISO 4217 currency code such as USD or EUR, found "ZZZ"/,
      ],
      [
        'ends.csv',
        { ChargePeriodStart: '2025-01-20', ChargePeriodEnd: '2025-01-10' },
        /ends\.csv:3:3: ChargePeriodEnd: expected an ISO 8601 date or datetime no earlier than the row's ChargePeriodStart, found "2025-01-10"/,
      ],
      // DuckDB's cast reads these as 99 hours, and as 6 hours 39 minutes: no zone has them.
      [
        'offset.csv',
        { ChargePeriodStart: '2025-01-05T10:00:00-99' },
        /offset\.csv:3:2: ChargePeriodStart: expected an ISO 8601 date.*found "2025-01-05T10:00:00-99"/,
      ],
      [
        'minutes.csv',
        { ChargePeriodStart: '2025-01-05T10:00:00+05:99' },
        /minutes\.csv:3:2: ChargePeriodStart: .*found "2025-01-05T10:00:00\+05:99"/,
      ],
      [
        'plus15.csv',
        { BillingPeriodStart: '2025-01-01T00:00:00+15:00' },
        /plus15\.csv:3:1: BillingPeriodStart: .*found "2025-01-01T00:00:00\+15:00"/,
      ],
      [
        // Read without seconds, with their zones: 10:30 at +01:00 is 09:30Z, before the start.
        'hhmm.csv',
        { ChargePeriodStart: '2025-01-05T10:00Z', ChargePeriodEnd: '2025-01-05T10:30+01:00' },
        /hhmm\.csv:3:3: ChargePeriodEnd: expected an ISO 8601 date or datetime no earlier than the row's ChargePeriodStart, found "2025-01-05T10:30\+01:00"/,
      ],
    ];
    for (const [name, over, message] of cases) {
      const file = await writeCsv(dir, name, [H, row(), row({ ResourceId: 'r-2', ...over })]);
      await refused(t, file, message);
    }
  });

  it('accepts the ISO forms FOCUS files use: offsets, fractions, a space for T', async (t) => {
    const repo = await scratchRepo(t);
    const file = await writeCsv(await scratch(t), 'ok.csv', [
      H,
      row({
        BillingPeriodStart: '2025-01-01T00:00:00Z',
        ChargePeriodStart: '2025-01-05 10:00:00.123456',
        ChargePeriodEnd: '2025-01-05T11:00:00+00:00',
      }),
      row({ ResourceId: 'r-2', BillingPeriodStart: '2025-01-01T05:30:00+05:30', ChargePeriodEnd: '' }),
      // Times without seconds before their zone, and a space before it: DuckDB's cast alone refuses these.
      row({
        ResourceId: 'r-3',
        BillingPeriodStart: '2025-01-01T00:00Z',
        ChargePeriodStart: '2025-01-05T10:00Z',
        ChargePeriodEnd: '2025-01-05 11:30+01:00',
      }),
      row({
        ResourceId: 'r-4',
        BillingPeriodStart: '2025-01-01T00:00:00 Z',
        ChargePeriodStart: '2025-01-05T10:00:00 -08:00',
        ChargePeriodEnd: '2025-01-06T10:00+1400',
      }),
      // RFC 3339 allows a lower-case t and z.
      row({ ResourceId: 'r-5', BillingPeriodStart: '2025-01-01t00:00:00z', ChargePeriodStart: '2025-01-05t10:00z', ChargePeriodEnd: '' }),
    ]);
    const r = await cli('ingest', file, '--source', 'AWS', '--root', repo);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rows {6}5\n/);
    assert.match(r.stdout, /review {4}no charges flagged/);
  });

  it('refuses a NUL byte past the first 64 KB, a folder given as a file, and periods outside 1900–2199', async (t) => {
    const dir = await scratch(t);
    const good = Array.from({ length: 2000 }, (_, i) => row({ ResourceId: `r-${i}` }));
    const nul = await writeCsv(dir, 'nul.csv', [H, ...good, row({ ResourceId: 'r-\u0000z' })]);
    await refused(t, nul, /nul\.csv:2002:\d+: not a text file: expected UTF-8 CSV text, found a NUL byte/);
    await mkdir(join(dir, 'folder.csv'));
    await refused(t, join(dir, 'folder.csv'), /folder\.csv is a folder, not a file/);
    const ok = await writeCsv(dir, 'ok.csv', [H, row()]);
    for (const period of ['0000-01', '9999-12', '1899-12', '2200-01'])
      await refused(t, ok, new RegExp(`--period "${period}": expected a month as YYYY-MM between 1900 and 2199`), ['--period', period]);
  });

  it('refuses a pipe (without waiting for a writer) and a device: the export is read more than once', async (t) => {
    const dir = await scratch(t);
    const pipe = join(dir, 'export.csv');
    execFileSync('mkfifo', [pipe]);
    await refused(t, pipe, /export\.csv is a pipe, not a file\n {2}hint: the export is read more than once .*save it to a file first/);
    await refused(t, '/dev/null', /^error: \/dev\/null is a device, not a file\n/);
  });

  it('accepts a quoted header longer than 64 KB', async (t) => {
    const repo = await scratchRepo(t);
    const long = `"x_${'n'.repeat(70_000)}"`;
    const path = join(await scratch(t), 'long-header.csv');
    await writeFile(
      path,
      `${[...H, long].join(',')}\n${[...row(), 'v'].map((c) => (c.includes('"') || c.includes(',') ? `"${c.replace(/"/g, '""')}"` : c)).join(',')}\n`,
    );
    const r = await cli('ingest', path, '--source', 'AWS', '--root', repo);
    assert.equal(r.code, 0, r.stderr);
  });

  it('refuses Parquet columns that differ only in case', async (t) => {
    const dir = await scratch(t);
    const path = join(dir, 'dup.parquet');
    const db = await Database.open();
    try {
      // DuckDB writes unique names, so write "zilledcost" and rename it in the footer (same length).
      await db.query(
        `COPY (SELECT '2025-01-01' AS BillingPeriodStart, 1.0 AS BilledCost, 2.0 AS zilledcost, '${T.replace(/'/g, "''")}' AS Tags) TO '${path}' (FORMAT parquet)`,
      );
    } finally {
      db.close();
    }
    const bytes = await readFile(path);
    const renamed = Buffer.from(bytes.toString('latin1').replaceAll('zilledcost', 'billedcost'), 'latin1');
    await writeFile(path, renamed);
    await refused(t, path, /dup\.parquet: columns "BilledCost" and "billedcost" differ only in case: expected each column once/);
  });

  it('refuses amounts that add up beyond what an exact DECIMAL(38,18) holds, without an internal error', async (t) => {
    const file = await writeCsv(await scratch(t), 'huge.csv', [
      H,
      row({ BilledCost: '99999999999999999999', ListCost: '' }),
      row({ ResourceId: 'r-2', BilledCost: '99999999999999999999', ListCost: '' }),
    ]);
    await refused(t, file, /huge\.csv: amounts too large: expected amounts that add up to less than 10\^20 in each currency/);
  });
});

describe('secrets, links and git', () => {
  it('refuses a short or low-entropy link secret, saying how to make one', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', repo)).code, 0);
    for (const secret of ['short', 'a'.repeat(40), 'abcabcabcabcabcabcabcabcabcabcabcabc']) {
      process.env.STATEMENT_LINK_SECRET = secret;
      try {
        const r = await cli('build', '--audience', 'pi', '--no-pdf', '--out', 'dist-pi', '--root', repo);
        assert.equal(r.code, 2, secret);
        assert.match(
          r.stderr,
          /STATEMENT_LINK_SECRET is too weak to keep statement links private: .*\n {2}hint: make one with `openssl rand -base64 32`/,
        );
      } finally {
        delete process.env.STATEMENT_LINK_SECRET;
      }
    }
    assert.ok(!existsSync(join(repo, 'dist-pi')));
  });

  it('refuses a --base-url that is not an http(s) address, and keeps the path of one that is', async (t) => {
    const repo = await scratchRepo(t, 'email: { from_address: rc@x.edu }\n');
    assert.equal((await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', repo)).code, 0);
    for (const url of ['javascript:alert(1)', 'mailto:x@y.edu', 'data:text/html,hi', 'https://ok.example/x?q=1#frag']) {
      const r = await cli('email', '--period', '2025-01', '--base-url', url, '--root', repo);
      assert.equal(r.code, 2, url);
      assert.match(r.stderr, /--base-url ".*": expected/);
    }
    const r = await cli('email', '--period', '2025-01', '--base-url', 'https://rc.example.edu/billing', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stderr);
    const eml = await readFile(r.json().outcomes[0].file, 'utf8');
    assert.match(eml, /https:\/\/rc\.example\.edu\/billing\/periods\/2025-01\/pi\//);
    // The same address in config.yaml is checked when the config is read: validate says so, and
    // preview, which used it as it was, refuses it.
    for (const url of ['javascript:alert(1)', 'https://ok.example/x?q=1']) {
      await writeFile(join(repo, 'config.yaml'), `email: { from_address: rc@x.edu }\nsite: { base_url: "${url}" }\n`);
      for (const args of [['validate'], ['preview', 'email', '--period', '2025-01']]) {
        const bad = await cli(...args, '--root', repo);
        assert.equal(bad.code, 2, `${url} ${args[0]}`);
        assert.match(bad.stderr, /config\.yaml:2:\d+: site\.base_url: expected/);
      }
    }
  });

  it('checks the branch of ingest --commit before writing anything', async (t) => {
    const repo = await scratchRepo(t);
    const git = simpleGit(repo);
    await git.branch(['ingest/2025-01-aws']);
    const file = join(SAMPLE, 'aws_2025-01.csv');
    const before = await snapshot(repo);
    for (const [args, message] of [
      [[], /branch ingest\/2025-01-aws exists but is not checked out/],
      [['--branch', 'main'], /--commit never commits on the default branch \(main\)/],
      [['--branch', 'refs/heads/main'], /--commit never commits on the default branch \(main\)/],
      [['--branch=--help'], /--branch "--help" is not a valid branch name/],
      [['--branch', 'a..b'], /--branch "a\.\.b" is not a valid branch name/],
    ] as const) {
      const r = await cli('ingest', file, '--source', 'AWS', '--commit', ...args, '--root', repo);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.deepEqual(await snapshot(repo), before, `${args.join(' ')}: nothing written`);
    }
    assert.equal((await git.status()).isClean(), true);
  });

  it('refuses init on a file', async (t) => {
    const file = join(await scratch(t), 'f');
    await writeFile(file, 'x');
    const r = await cli('init', file);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is a file: a billing repository is a folder/);
  });

  it('neutralises @mentions from the data in the PR comment', () => {
    assert.equal(markdownCell('@octocat|pwn@x.edu'), '@\u200boctocat\\|pwn@\u200bx\\.edu');
  });

  it('shows tags as written in the PR comment: a held charge cannot put a link, image or emphasis before reviewers', async (t) => {
    const repo = await scratchRepo(t);
    await simpleGit(repo).checkoutLocalBranch('ingest/2025-01-hpc');
    // Tags are set by whoever runs the resources; an invalid PI is held for review and shown in the comment.
    const pi = '[Approve here](https://evil.example/ok) ![x](https://evil.example/t.png) *a* <b>c</b> www.evil.example';
    const file = await writeCsv(repo, 'hpc.csv', [
      FOCUS_HEADER,
      [
        '2025-01-01',
        '2025-01-02',
        'Usage',
        '5.00',
        '5.00',
        'HPC CPU Compute',
        'job-`1`',
        tags({ pi_email: pi, project_id: 'p', fund_org: 'f' }),
      ],
    ]);
    assert.equal((await cli('ingest', file, '--source', 'HPC', '--root', repo)).code, 0);
    const r = await cli('pr-summary', '--base', 'main', '--root', repo);
    assert.equal(r.code, 0, r.stderr);
    const row = r.stdout.split('\n').find((l) => l.includes('missing_pi_email') || l.includes('invalid_attribution')) ?? r.stdout;
    assert.ok(
      row.includes(
        '\\[Approve here\\]\\(https\\:\\/\\/evil\\.example\\/ok\\) \\!\\[x\\]\\(https\\:\\/\\/evil\\.example\\/t\\.png\\) \\*a\\* \\<b\\>c\\<\\/b\\> www\\.evil\\.example',
      ),
      row,
    );
    const html = micromark(r.stdout);
    assert.doesNotMatch(html, /<a |<img |<em>|<b>/);
    assert.ok(html.includes('[Approve here](https://evil.example/ok) ![x](https://evil.example/t.png) *a* &lt;b&gt;c&lt;/b&gt;'), html);
  });
});

describe('errors that point at the real cause', () => {
  it('reads deliveries.yaml and an empty pis.yaml through the shared loader', async (t) => {
    const repo = await scratchRepo(t, 'site: { base_url: "https://rc.x.edu/" }\nemail: { from_address: rc@x.edu }\n');
    assert.equal((await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', repo)).code, 0);
    await writeFile(join(repo, 'pis.yaml'), '# no PIs yet\n');
    assert.equal((await cli('validate', '--root', repo)).code, 0, 'a comment-only pis.yaml is an empty directory');
    await mkdir(join(repo, 'periods/2025-01'), { recursive: true });
    await writeFile(join(repo, 'periods/2025-01/deliveries.yaml'), 'period: 2025-01\ndeliveries:\n  - to: "unclosed\n');
    const r = await cli('email', '--period', '2025-01', '--send', '--root', repo);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: periods\/2025-01\/deliveries\.yaml:\d+:\d+: invalid YAML: .*\n {2}hint: check indentation/);
  });

  it('refuses a pis.yaml naming one PI twice, however the email is spelled, and finds a PI by any spelling', async (t) => {
    const repo = await riveraRepo(t);
    // A second entry used to rename the PI on every statement and email, with validate content.
    await writeFile(
      join(repo, 'pis.yaml'),
      '- { email: a.rivera@example.edu, name: Ana Rivera }\n- { email: " A.Rivera@Example.edu ", name: Someone Else }\n',
    );
    for (const [code, ...args] of [
      [1, 'validate'],
      [2, 'preview', 'statement', '--period', '2025-01'],
    ] as const) {
      const r = await cli(...args, '--root', repo);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stdout}`);
      assert.match(
        r.stderr,
        /pis\.yaml:2:\d+: 1\.email: A\.Rivera@Example\.edu is the PI of entry 0 \(a\.rivera@example\.edu\): one entry per PI/,
      );
    }
    await writeFile(join(repo, 'pis.yaml'), '- { email: " A.Rivera@Example.edu ", name: Ana Rivera }\n');
    const shown = await cli('preview', 'statement', '--period', '2025-01', '--root', repo);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /PI: Ana Rivera \(a\.rivera@example\.edu\)/);
  });

  it('refuses names that hold a line break or a control or invisible character, in pis.yaml and config.yaml, at their lines', async (t) => {
    const repo = await riveraRepo(t);
    // An HR export's name with a line break went into the To: header and the statement's PI line.
    for (const [yaml, where] of [
      ['- { email: a.rivera@example.edu, name: "Ana Rivera\\r\\nBcc: x@evil.example" }\n', /pis\.yaml:1:\d+: 0\.name: holds a line break/],
      [
        '- { email: a.rivera@example.edu, name: Ana, department: "Physics\\u202e" }\n',
        /pis\.yaml:1:\d+: 0\.department: holds a control or invisible character \(U\+202E\)/,
      ],
    ] as const) {
      await writeFile(join(repo, 'pis.yaml'), yaml);
      const r = await cli('validate', '--root', repo);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, where);
    }
    await writeFile(join(repo, 'pis.yaml'), '- { email: a.rivera@example.edu, name: Ana Rivera }\n');
    const config = await readFile(join(repo, 'config.yaml'), 'utf8');
    await writeFile(join(repo, 'config.yaml'), `${config}\nemail:\n  from_name: "Billing\\u0007"\n`);
    const r = await cli('validate', '--root', repo);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /config\.yaml:\d+:\d+: email\.from_name: holds a control or invisible character \(U\+0007\)/);
    // An address with a typo failed every send of `email --send`, one PI after another; now validate says so.
    for (const [setting, value] of [
      ['from_address', 'rc-billing@example'],
      ['reply_to', 'rc billing@example.edu'],
      ['from_address', 'rc@example.edu\\r\\nBcc: x@evil.example'],
    ]) {
      await writeFile(join(repo, 'config.yaml'), `${config}\nemail:\n  ${setting}: "${value}"\n`);
      const bad = await cli('validate', '--root', repo);
      assert.equal(bad.code, 2, bad.stdout);
      assert.match(
        bad.stderr,
        new RegExp(
          `config\\.yaml:\\d+:\\d+: email\\.${setting}: expected an email address such as rc-billing@example\\.edu, found the text "`,
        ),
      );
    }
  });

  it('refuses settings, PI names and notes saved as Latin-1 or UTF-16, at their line, instead of printing U+FFFD', async (t) => {
    const repo = await riveraRepo(t);
    const config = await readFile(join(repo, 'config.yaml'), 'utf8');
    const nameLine = config.split('\n').findIndex((l) => /^ {2}name: /.test(l)) + 1;
    assert.ok(nameLine > 0);
    // "Université" from an editor set to Latin-1: was "Universit\uFFFD" on every statement.
    await writeFile(join(repo, 'config.yaml'), Buffer.from(config.replace(/^( {2}name: ).*$/m, '$1Université'), 'latin1'));
    const latin1 = await cli('validate', '--root', repo);
    assert.equal(latin1.code, 2, latin1.stdout);
    assert.equal(
      latin1.stderr,
      `error: config.yaml:${nameLine}: not UTF-8 text: expected UTF-8 text, found bytes that are not UTF-8\n  hint: save the file as UTF-8 (iconv -f latin1 -t utf-8 < in > out, for a Latin-1 file) and run the command again\n`,
    );
    await writeFile(join(repo, 'config.yaml'), config);
    // Notepad's "Unicode", PowerShell 5.1's `>`: UTF-16 with its byte-order mark.
    const pis = '- { email: a.rivera@example.edu, name: Ana Rivera }\n';
    await writeFile(join(repo, 'pis.yaml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(pis, 'utf16le')]));
    const utf16 = await cli('validate', '--root', repo);
    assert.equal(utf16.code, 1, utf16.stdout);
    assert.match(
      utf16.stderr,
      /error: pis\.yaml:1: not UTF-8 text: expected UTF-8 text, found UTF-16 \(a FF FE or FE FF byte-order mark\)/,
    );
    assert.match(utf16.stderr, /hint: write it as UTF-8 \(Set-Content -Encoding utf8/);
    await writeFile(join(repo, 'pis.yaml'), pis);
    assert.equal((await cli('validate', '--root', repo)).code, 0);
    // The office's notes, printed on each statement of the period.
    await mkdir(join(repo, 'periods/2025-01'), { recursive: true });
    await writeFile(join(repo, 'periods/2025-01/notes.mdx'), Buffer.from('Rates held for 2025.\n\nCaf\xe9 hours are free.\n', 'latin1'));
    const notes = await cli('validate', '--root', repo);
    assert.equal(notes.code, 1, notes.stdout);
    assert.match(
      notes.stderr,
      /error: periods\/2025-01\/notes\.mdx:3: not UTF-8 text: expected UTF-8 text, found bytes that are not UTF-8/,
    );
    const out = join(await scratch(t), 'site');
    const built = await cli('build', '--no-pdf', '--out', out, '--root', repo);
    assert.equal(built.code, 2, built.stderr);
    assert.match(built.stderr, /^error: periods\/2025-01\/notes\.mdx:3: not UTF-8 text/m);
    assert.equal(existsSync(out), false, 'nothing built');
  });

  it('names an unresolved merge conflict in a YAML file (two review branches decided one flag), at the marker', async (t) => {
    const repo = await riveraRepo(t, [['2025-01-01', '20', '{}']]);
    const path = join(repo, 'periods/2025-01/flags.yaml');
    const text = await readFile(path, 'utf8');
    const status = /^( +status:) pending$/m.exec(text);
    assert.ok(status, text);
    const at = text.slice(0, status.index).split('\n').length;
    await writeFile(
      path,
      text.replace(status[0], `<<<<<<< HEAD\n${status[1]} approved\n=======\n${status[1]} rejected\n>>>>>>> review/2025-01-b`),
    );
    const message = new RegExp(
      `periods/2025-01/flags\\.yaml:${at}:1: an unresolved merge conflict \\(<<<<<<< HEAD\\)\n  hint: keep the side you mean`,
    );
    for (const [code, ...args] of [
      [1, 'validate'],
      [2, 'review', 'list'],
      [2, 'review', 'approve', '--period', '2025-01', '--all', '--note', 'x'],
    ] as const) {
      const r = await cli(...args, '--root', repo);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    await writeFile(join(repo, 'pis.yaml'), '<<<<<<< ours\n- { email: a@x.edu, name: A }\n=======\n>>>>>>> theirs\n');
    assert.match((await cli('validate', '--root', repo)).stderr, /pis\.yaml:1:1: an unresolved merge conflict \(<<<<<<< ours\)/);

    // Two branches that ingested the same period and source: git merges the CSVs' lines.
    await writeFile(join(repo, 'pis.yaml'), '');
    await writeFile(path, text);
    const csv = join(repo, 'data/2025-01/aws.csv');
    const [header, ...rows] = (await readFile(csv, 'utf8')).trimEnd().split('\n');
    await writeFile(csv, [header, '<<<<<<< HEAD', ...rows, '=======', rows[0], '>>>>>>> ingest/2025-01-aws', ''].join('\n'));
    for (const args of [['validate'], ['generate', '--period', '2025-01', '--dry-run']]) {
      const r = await cli(...args, '--root', repo);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(
        r.stderr,
        /data\/2025-01\/aws\.csv:2: an unresolved merge conflict \(<<<<<<< HEAD\)\n {2}hint: two branches stored this file/,
      );
    }
  });

  it('refuses a named pipe in place of a YAML file instead of waiting for a writer', { timeout: 60_000 }, async (t) => {
    const repo = await scratchRepo(t);
    execFileSync('mkfifo', [join(repo, 'pis.yaml')]);
    const r = await cli('validate', '--root', repo);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pis\.yaml is not a file or a folder\n {2}hint: remove it with git rm/);
    // A price list named outside the repository is read by the same reader, which opens it without waiting.
    const rates = join(await scratch(t), 'rates.yaml');
    execFileSync('mkfifo', [rates]);
    const convert = await cli(
      'convert',
      'slurm',
      join(SAMPLE, 'raw', 'sacct_2025-01.txt'),
      '--period',
      '2025-01',
      '--rates',
      rates,
      '--root',
      repo,
    );
    assert.equal(convert.code, 2, convert.stderr);
    assert.match(convert.stderr, /rates\.yaml is not a file\n {2}hint: move it aside/);
    await rm(join(repo, 'pis.yaml'));
    await mkdir(join(repo, 'pis.yaml'));
    assert.match((await cli('validate', '--root', repo)).stderr, /pis\.yaml is a folder, not a file/);
  });

  it('refuses a flags.yaml listing one flag twice (a merge of two review branches), at the line of the second', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', repo)).code, 0);
    const path = join(repo, 'periods/2025-01/flags.yaml');
    const text = await readFile(path, 'utf8');
    const entry = text.slice(text.indexOf('  - id:'));
    await writeFile(path, `${text}${entry.replace('status: pending', 'status: rejected\n    note: no')}`);
    for (const args of [
      ['review', 'approve', '--period', '2025-01', '--all'],
      ['generate', '--period', '2025-01', '--dry-run'],
      ['periods', 'close', '2025-01'],
    ]) {
      const r = await cli(...args, '--root', repo);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(
        r.stderr,
        /periods\/2025-01\/flags\.yaml:\d+:\d+: flags\.1\.id: flag [0-9a-f]{16} appears twice \(also flags\[0\]\): keep one entry/,
      );
    }
  });

  it('prints the cause of a failed build with --debug', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', repo)).code, 0);
    // A browser found that does not start: its launch log is the cause, shown with --debug only.
    process.env.OCB_CHROMIUM = '/bin/false';
    t.after(() => {
      delete process.env.OCB_CHROMIUM;
    });
    const plain = await cli('build', '--root', repo, '--out', join(await scratch(t), 'a'));
    const debug = await cli('build', '--root', repo, '--out', join(await scratch(t), 'b'), '--debug');
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /^error: the browser at \/bin\/false \(OCB_CHROMIUM\) did not start: it exited with code 1\n {2}hint: /);
    assert.doesNotMatch(plain.stderr, /cause:|Call log/);
    assert.equal(debug.code, 2);
    assert.match(debug.stderr, /did not start: it exited with code 1\n[\s\S]*cause: browserType\.launch: [\s\S]*\n\s+at /);
  });

  it('calls a Parquet file Parquet, and refuses approve --all --rule <typo>', async (t) => {
    const repo = await scratchRepo(t);
    const path = join(await scratch(t), 'cut.parquet');
    await writeFile(path, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(100)]));
    const r = await cli('ingest', path, '--source', 'AWS', '--root', repo);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cut\.parquet: unreadable Parquet file/);
    assert.doesNotMatch(r.stderr, /CSV/);
    const typo = await cli('review', 'approve', '--period', '2025-01', '--all', '--rule', 'pattern-match', '--root', repo);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /--rule "pattern-match": expected one of invalid_tags, missing_pi_email/);
  });

  it('compares unusual increases with the calendar month before, even when the PR does not touch it', async (t) => {
    const repo = await scratchRepo(t);
    const git = simpleGit(repo);
    const dir = await scratch(t);
    const month = async (period: string, amount: string) => {
      const file = await writeCsv(dir, `${period}.csv`, [
        H,
        row({
          BillingPeriodStart: `${period}-01`,
          ChargePeriodStart: `${period}-02`,
          ChargePeriodEnd: `${period}-03`,
          BilledCost: amount,
          ListCost: amount,
        }),
      ]);
      assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    };
    await month('2025-01', '100');
    await month('2025-03', '1000');
    // January is not the month before March: nothing to compare.
    assert.doesNotMatch((await cli('validate', '--root', repo)).stderr, /is \d+\.\d× /);
    await month('2025-02', '200');
    await git.add('.').commit('Jan-Mar');
    const v = await cli('validate', '--root', repo);
    assert.match(v.stderr, /warning: a@x\.edu: 2025-03 total 1000 USD is 5\.0× 2025-02 \(200\)/);
    // A PR touching only March still compares with February, which it does not touch.
    await git.checkoutLocalBranch('april');
    await month('2025-04', '5000');
    await git.add('.').commit('April');
    const summary = await cli('pr-summary', '--base', 'main', '--root', repo);
    assert.match(
      summary.stdout,
      /### Unusual increases\n\n\| Period \| PI \| Previous period \| This period \| Ratio \|\n\|---\|---\|---\|---\|---\|\n\| 2025-04 \| a@\u200bx\\\.edu \| 1000 USD \| 5000 USD \| 5\.0× \|/,
    );
  });
});
