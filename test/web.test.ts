/**
 * `focus-billing web`, the billing office's app: the real server over a real billing repository
 * (git and all), driven by Chromium (Playwright) the way a coordinator uses it, and by HTTP the
 * way scripts and attackers do. What it writes is read back from flags.yaml and git log.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { simpleGit } from 'simple-git';
import { parse } from 'yaml';
import { findChromium } from '../src/pdf/browser.ts';
import { sessionToken } from '../src/web/security.ts';
import { startWeb, type WebServer } from '../src/web/server.ts';
import { cli, initRepo, makeRepo, PROJECT, removeDir, SAMPLE, scratch, snapshot } from './helpers.ts';

const TOKEN = 'web-test-token-0123456789';
let repo: string;
let web: WebServer;
let browser: Browser;

/** A request to the app: Bearer by default; headers as given. */
async function call(path: string, init: RequestInit & { bearer?: boolean } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.bearer !== false && !headers.has('authorization')) headers.set('authorization', `Bearer ${TOKEN}`);
  return fetch(new URL(path, web.url), { ...init, headers });
}

async function importFile(file: string, fields: Record<string, string>): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([await readFile(file)]), file.split('/').pop());
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return call('/api/import', { method: 'POST', body: form });
}

async function flagsOf(
  period: string,
): Promise<{ id: string; status: string; rule: string; note?: string; decided_by?: string; source: string }[]> {
  return parse(await readFile(join(repo, 'periods', period, 'flags.yaml'), 'utf8')).flags;
}

/** Drops a file on the import page, as a person dragging it from their desktop. */
async function dropFile(page: Page, name: string, text: string, type = 'text/csv'): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ([n, t, y]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([t as string], n as string, { type: y as string }));
      return dt;
    },
    [name, text, type],
  );
  await page.dispatchEvent('#drop', 'drop', { dataTransfer });
}

async function signedIn(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(`${web.url}?token=${TOKEN}`);
  return page;
}

before(async () => {
  process.env.OCB_NOW = '2026-02-03T04:05:06Z';
  repo = await makeRepo();
  for (const f of ['rates.yaml', 'accounts.yaml', 'pis.yaml']) await copyFile(join(SAMPLE, f), join(repo, f));
  await simpleGit(repo).add('.').commit('rates, accounts and PIs');
  web = await startWeb({ root: repo, host: '127.0.0.1', port: 0, token: TOKEN, liveSite: false });
  browser = await chromium.launch({ executablePath: findChromium().path, args: ['--no-sandbox', '--disable-gpu'] });
});

after(async () => {
  await browser?.close();
  await web?.close();
  await removeDir(repo);
  delete process.env.OCB_NOW;
});

describe('the app refuses', () => {
  it('a request without the token (401), a foreign Host (421), a cross-origin write (403)', async () => {
    assert.equal((await call('/api/state', { bearer: false })).status, 401);
    assert.equal((await call('/app/', { bearer: false })).status, 401);
    assert.match(await (await call('/app/', { bearer: false })).text(), /Open the link printed by focus-billing web/);
    assert.equal((await call('/api/state', { headers: { authorization: 'Bearer wrong-token-00000000' } })).status, 401);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host.
    const rebound = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({ request }) =>
        request(
          {
            host: '127.0.0.1',
            port: web.port,
            path: '/api/state',
            headers: { host: `evil.example:${web.port}`, authorization: `Bearer ${TOKEN}` },
          },
          (res) => resolve(res.statusCode ?? 0),
        )
          .on('error', reject)
          .end(),
      );
    });
    assert.equal(rebound, 421);
    const crossOrigin = await call('/api/flags/decide', {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ ids: ['x'], status: 'approved' }),
    });
    assert.equal(crossOrigin.status, 403);
  });

  it("a browser write without the app's Origin, and sets the session cookie from the start-up link only", async () => {
    const link = await fetch(new URL(`/app/?token=${TOKEN}`, web.url), { redirect: 'manual' });
    assert.equal(link.status, 303);
    assert.equal(link.headers.get('location'), '/app/');
    const cookie = (link.headers.get('set-cookie') ?? '').split(';')[0] as string;
    assert.match(link.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    assert.doesNotMatch(cookie, new RegExp(TOKEN), 'the cookie is not the token itself');
    assert.equal((await call('/api/state', { bearer: false, headers: { cookie } })).status, 200);
    // A form posted from another site carries the cookie (were it not SameSite) but not our Origin.
    const noOrigin = await call('/api/flags/decide', {
      bearer: false,
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(noOrigin.status, 403);
  });

  it('a shared server without OCB_WEB_TOKEN, and a weak one', () => {
    assert.throws(() => sessionToken('0.0.0.0', {}), /--host 0\.0\.0\.0 serves the app to the network: set OCB_WEB_TOKEN first/);
    assert.throws(() => sessionToken('127.0.0.1', { OCB_WEB_TOKEN: 'short' }), /too short/);
    assert.equal(sessionToken('0.0.0.0', { OCB_WEB_TOKEN: TOKEN }), TOKEN);
    assert.match(sessionToken('127.0.0.1', {}), /^[\w-]{22}$/);
  });

  it('an upload over the limit (413), leaving nothing behind', async () => {
    const config = await readFile(join(repo, 'config.yaml'), 'utf8');
    await writeFile(join(repo, 'config.yaml'), `${config}\nweb: { max_upload_mb: 1 }\n`);
    try {
      const before = await snapshot(repo);
      const big = join(repo, '..', `big-${process.pid}.csv`);
      await writeFile(big, 'x'.repeat(3 * 1024 * 1024));
      const r = await importFile(big, { source: 'AWS' });
      assert.equal(r.status, 413);
      assert.match((await r.json()).error.message, /over the limit/);
      await removeDir(big);
      assert.deepEqual(await snapshot(repo), before);
      assert.deepEqual(await readdir(join(repo, '.cache', 'web', 'uploads')).catch(() => []), []);
    } finally {
      await writeFile(join(repo, 'config.yaml'), config);
    }
  });

  it('a bad file with the located error, writing nothing', async () => {
    const before = await snapshot(repo);
    const bad = join(repo, '..', `bad-${process.pid}.csv`);
    await writeFile(bad, 'BillingPeriodStart,BilledCost,ServiceName,Tags\n2025-01-01,12.x,EC2,{}\n');
    const r = await importFile(bad, { source: 'AWS' });
    await removeDir(bad);
    assert.equal(r.status, 400);
    const { error } = await r.json();
    assert.match(error.message, /BilledCost/);
    assert.equal(error.location.line, 2);
    assert.deepEqual(await snapshot(repo), before);
  });

  it('a JSON body that is not an object (null, a list, a number), or a period that is not text: 400, writing nothing', async () => {
    const before = await snapshot(repo);
    for (const path of ['/api/flags/decide', '/api/import/preview', '/api/import/run', '/api/exports/remove'])
      for (const body of ['null', '[1]', '7', '"x"', '{']) {
        const r = await call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        assert.equal(r.status, 400, `${path} ${body}`);
        assert.match((await r.json()).error.message, /^expected a JSON body/);
      }
    // No request nests deep (a list 20,000 deep overflowed the stack of whatever read it), and ids
    // and assigned values are text.
    const deep = `${'['.repeat(20000)}${']'.repeat(20000)}`;
    const nested = 'the JSON body is nested more than 8 levels deep';
    for (const [path, body, message] of [
      ['/api/flags/decide', `{"ids":${deep},"status":"approved"}`, nested],
      ['/api/flags/decide', `{"ids":["0000000000000000"],"assign":{"pi_email":${deep},"project_id":"p","fund_org":"f"}}`, nested],
      ['/api/import/preview', `{"upload":"u","period":${deep}}`, nested],
      ['/api/exports/remove', `{"period":${deep}}`, nested],
      [
        '/api/flags/decide',
        '{"ids":[{"id":"0000000000000000"}],"status":"approved"}',
        'ids: name the flags to decide, as a list of flag ids',
      ],
      [
        '/api/flags/decide',
        '{"ids":["0000000000000000"],"assign":{"pi_email":["a@x.edu"],"project_id":"p","fund_org":"f"}}',
        'assign.pi_email: expected text',
      ],
      [
        '/api/flags/decide',
        JSON.stringify({ ids: ['0000000000000000'], status: 'approved', note: 'x'.repeat(10_001) }),
        'the note is 10,001 characters long: at most 10,000',
      ],
    ] as const) {
      const r = await call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.deepEqual([r.status, (await r.json()).error.message], [400, message], `${path} ${body.slice(0, 60)}`);
    }
    // A request is a few lines of JSON: 5 MB is refused whole, unread.
    const huge = await call('/api/flags/decide', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: ['0000000000000000'], status: 'approved', note: 'x'.repeat(5 << 20) }),
    });
    assert.deepEqual([huge.status, (await huge.json()).error.message], [413, 'the request is over 4,194,304 bytes of JSON']);
    const form = new FormData();
    form.append('file', new Blob([await readFile(join(SAMPLE, 'azure_2025-12.csv'))]), 'azure_2025-12.csv');
    const { upload } = await (await call('/api/import/upload', { method: 'POST', body: form })).json();
    const listed = await call('/api/import/preview', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ upload, source: 'Azure', period: ['2025-12'] }),
    });
    assert.equal(listed.status, 400);
    assert.match((await listed.json()).error.message, /^period \["2025-12"\]: expected YYYY-MM/);
    for (const [body, message] of [
      [{ period: ['2025-01'], source: 'AWS' }, /^period \["2025-01"\]: expected YYYY-MM/],
      [{ period: '2025-01', source: ['AWS'] }, /^source: the source the export is stored under/],
      [{ period: '2025-01', source: 'Oracle' }, /^unknown source "Oracle"/],
    ] as const) {
      const r = await call('/api/exports/remove', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match((await r.json()).error.message, message);
    }
    assert.deepEqual(await snapshot(repo), before);
  });

  it('a usage table a spreadsheet saved with semicolons: known as a usage table, and refused saying how it was saved', async () => {
    const before = await snapshot(repo);
    const form = new FormData();
    const csv =
      '\ufeffdate;pi_email;project_id;fund_org;service;resource;quantity;unit\r\n2025-11-03;a@x.edu;p;f;JupyterHub;hub;1,5;core-hour\r\n';
    form.append('file', new Blob([csv]), 'hub-usage_2025-11.csv');
    const { upload, files } = await (await call('/api/import/upload', { method: 'POST', body: form })).json();
    assert.equal(files[0].kind, 'usage');
    const refused = await call('/api/import/preview', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ upload, source: 'HPC', period: '2025-11' }),
    });
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).error.message, 'the columns are separated by semicolons, not commas');
    assert.deepEqual(await snapshot(repo), before);
  });

  it('a storage report whose paths count only their own bytes: refused by default, previewed with nested: separate', async () => {
    const before = await snapshot(repo);
    const form = new FormData();
    // The inner path uses more than the one above it: the outer cannot hold its use.
    const csv =
      'date,path,used_bytes\n2025-11-01,/ifs/projects/arivera/genomics-atlas,500000000000\n2025-11-01,/ifs/projects/arivera/genomics-atlas/raw,1000000000000\n';
    form.append('file', new Blob([csv]), 'storage-daily_2025-11.csv');
    const { upload, files } = await (await call('/api/import/upload', { method: 'POST', body: form })).json();
    assert.equal(files[0].kind, 'storage-csv');
    const preview = (extra: Record<string, string>) =>
      call('/api/import/preview', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ upload, source: 'Storage', period: '2025-11', ...extra }),
      });
    const refused = await preview({});
    assert.equal(refused.status, 400);
    assert.match(
      (await refused.json()).error.message,
      /^\/ifs\/projects\/arivera\/genomics-atlas uses 500000000000 bytes on 2025-11-01, less than/,
    );
    const bogus = await preview({ nested: 'both' });
    assert.equal(bogus.status, 400);
    assert.equal((await bogus.json()).error.message, 'nested "both": expected subtract or separate');
    const separate = await preview({ nested: 'separate' });
    assert.equal(separate.status, 200, await separate.clone().text());
    // 0.5 TB and 1 TB, each its own.
    assert.equal((await separate.json()).converted.total_list, '37.5');
    assert.deepEqual(await snapshot(repo), before);
  });

  it("sacct times in the cluster's zone: the job billed by the hours that zone's clocks showed in the month", async () => {
    const before = await snapshot(repo);
    const form = new FormData();
    // 23:00 to 01:00 across the month's start: one hour of it in December in UTC, both in New York (04:00Z to 06:00Z).
    const sacct = [
      'JobID|JobName|Account|Partition|State|Start|End|Elapsed|AllocTRES',
      '7|a|jsmith-neuro-connectome|standard|COMPLETED|2025-11-30T23:00:00|2025-12-01T01:00:00|02:00:00|cpu=1',
      '',
    ].join('\n');
    form.append('file', new Blob([sacct]), 'sacct_2025-12.txt');
    const { upload, files } = await (await call('/api/import/upload', { method: 'POST', body: form })).json();
    assert.equal(files[0].kind, 'slurm');
    const preview = async (extra: Record<string, string>) => {
      const r = await call('/api/import/preview', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ upload, source: 'HPC', period: '2025-12', ...extra }),
      });
      return { status: r.status, body: await r.json() };
    };
    const utc = await preview({});
    assert.equal(utc.status, 200, JSON.stringify(utc.body));
    const zoned = await preview({ timezone: 'america/new_york' });
    assert.equal(zoned.status, 200, JSON.stringify(zoned.body));
    assert.deepEqual([utc.body.converted.total_list, zoned.body.converted.total_list], ['0.03', '0.06']);
    const bogus = await preview({ timezone: 'Mars/Olympus_Mons' });
    assert.equal(bogus.status, 400);
    assert.deepEqual(bogus.body.error, {
      message: 'timezone "Mars/Olympus_Mons" is not a time zone',
      hint: 'an IANA name such as UTC or America/New_York',
    });
    assert.deepEqual(await snapshot(repo), before);
  });

  it("keeps an upload's name as sent, in UTF-8, and cuts a name too long for the disk before its extension (not a failure)", async () => {
    const before = await snapshot(repo);
    const form = new FormData();
    const csv = await readFile(join(SAMPLE, 'azure_2025-12.csv'));
    const long = `${'é'.repeat(150)}_2025-12.csv`;
    for (const name of ['données_2025-12.csv', long]) form.append('file', new Blob([csv]), name);
    const r = await call('/api/import/upload', { method: 'POST', body: form });
    assert.equal(r.status, 200, await r.clone().text());
    const names = (await r.json()).files.map((f: { name: string; period?: string }) => [f.name, f.period]);
    // 312 bytes: cut in the middle to 199 (an é is two bytes), keeping the month and the extension.
    assert.deepEqual(names, [
      ['données_2025-12.csv', '2025-12'],
      [`${'é'.repeat(76)}…${'é'.repeat(16)}_2025-12.csv`, '2025-12'],
    ]);
    assert.deepEqual(await snapshot(repo), before);
  });

  it('two files in one import, which took the first and left the second unread', async () => {
    const before = await snapshot(repo);
    const form = new FormData();
    for (const name of ['azure_2025-12.csv', 'vms_2025-12.csv']) form.append('file', new Blob([await readFile(join(SAMPLE, name))]), name);
    form.append('source', 'Azure');
    const r = await call('/api/import', { method: 'POST', body: form });
    assert.equal(r.status, 400);
    const { error } = await r.json();
    assert.equal(error.message, 'one file per import: found 2 ("azure_2025-12.csv", "vms_2025-12.csv")');
    assert.deepEqual(await snapshot(repo), before);
  });
  it("a link in the repository: the period's flags, a decision and an import read nothing through it (400)", async () => {
    const secret = join(repo, '..', `${basename(repo)}-secret.yaml`);
    await writeFile(secret, 'flags: []\n');
    await mkdir(join(repo, 'periods/2024-06'), { recursive: true });
    await symlink(secret, join(repo, 'periods/2024-06/flags.yaml'));
    try {
      const before = await snapshot(repo);
      const listed = await call('/api/flags?period=2024-06');
      assert.equal(listed.status, 400);
      assert.match(
        (await listed.json()).error.message,
        /^periods\/2024-06\/flags\.yaml is a link: a billing repository holds files, not links/,
      );
      const decide = await call('/api/flags/decide', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ids: ['0000000000000000'], status: 'approved', note: 'x' }),
      });
      assert.equal(decide.status, 400);
      assert.match((await decide.json()).error.message, /is a link: a billing repository holds files, not links/);
      const r = await importFile(join(SAMPLE, 'azure_2025-12.csv'), { source: 'Azure' });
      assert.equal(r.status, 400);
      assert.match((await r.json()).error.message, /^periods\/2024-06\/flags\.yaml is a link/);
      assert.deepEqual(await snapshot(repo), before);
    } finally {
      await rm(join(repo, 'periods/2024-06'), { recursive: true });
      await rm(secret);
    }
  });
});

describe('a coordinator in the browser', () => {
  it('sees every bad line of a raw export at once, where each is', async () => {
    const page = await signedIn();
    await page.goto(new URL('/app/import', web.url).toString());
    await page.waitForSelector('body[data-ready="true"]');
    const sacct = [
      'JobID|JobName|Account|Partition|State|Start|End|Elapsed|AllocTRES',
      '7|a|jsmith-neuro-connectome|standard|COMPLETED|2025-12-02T00:00:00|2025-12-01T00:00:00|00:00:00|cpu=1',
      '8|b|jsmith-neuro-connectome|standard|COMPLETED|2025-12-02T00:00:00|2025-12-02T01:00:00|00:00:00|cpu=many',
      '9|c|jsmith-neuro-connectome|standard|COMPLETED',
      '',
    ].join('\n');
    await dropFile(page, 'sacct_2025-12.txt', sacct, 'text/plain');
    const card = page.locator('section.file');
    await card.getByRole('button', { name: 'Preview' }).click();
    const alert = card.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    assert.match(text, /^Error: malformed sacct line: End: expected a time after the job's Start/);
    assert.match(text, /At sacct_2025-12\.txt:2\n/);
    assert.match(
      text,
      /And 2 more problems:\n+sacct_2025-12\.txt:3: malformed sacct line: AllocTRES[^\n]*"cpu=many"\nsacct_2025-12\.txt:4: malformed sacct line: expected 9 fields/,
    );
    await page.close();
  });

  it('chooses how a storage report counts paths under one another, a choice shown for storage reports only (and the time zone for sacct output only)', async () => {
    const page = await signedIn();
    await page.goto(new URL('/app/import', web.url).toString());
    await page.waitForSelector('body[data-ready="true"]');
    const csv =
      'date,path,used_bytes\n2025-11-01,/ifs/projects/arivera/genomics-atlas,500000000000\n2025-11-01,/ifs/projects/arivera/genomics-atlas/raw,1000000000000\n';
    await dropFile(page, 'storage-daily_2025-11.csv', csv);
    const card = page.locator('section.file');
    await card.waitFor();
    const nested = card.getByLabel('Nested paths');
    assert.equal(await nested.isVisible(), true);
    await card.getByRole('button', { name: 'Preview' }).click();
    await card.getByRole('alert').waitFor();
    assert.match(await card.getByRole('alert').innerText(), /genomics-atlas uses 500000000000 bytes on 2025-11-01, less than/);
    await nested.selectOption('separate');
    await card.getByRole('button', { name: 'Preview' }).click();
    await card.locator('.preview').waitFor();
    assert.match(await card.locator('.preview').innerText(), /Period\s+2025-11/);
    // The time zone is asked of sacct output only, UTC unless changed.
    const zone = card.getByLabel('Time zone of its times');
    assert.equal(await zone.isVisible(), false);
    await card.locator('select[id^="kind-"]').selectOption('slurm');
    assert.deepEqual([await zone.isVisible(), await zone.inputValue(), await nested.isVisible()], [true, 'UTC', false]);
    // Not a storage report nor sacct output: neither choice.
    await card.locator('select[id^="kind-"]').selectOption('focus');
    assert.deepEqual([await nested.isVisible(), await zone.isVisible()], [false, false]);
    await page.close();
  });

  it('drops an export, previews it, imports and commits it, then approves several flags and rejects one with a note', async () => {
    const page = await signedIn();
    await page.goto(new URL('/app/import', web.url).toString());
    await page.waitForSelector('body[data-ready="true"]');
    const content = await readFile(join(SAMPLE, 'aws_2025-01.csv'), 'utf8');
    await dropFile(page, 'aws_2025-01.csv', content);
    const card = page.locator('section.file');
    await card.waitFor();
    assert.equal(await card.locator('select[id^="source-"]').inputValue(), 'AWS', 'the source is guessed from the file name');
    await card.getByRole('button', { name: 'Preview' }).click();
    await card.locator('.preview').waitFor();
    const preview = await card.locator('.preview').innerText();
    assert.match(preview, /Rows\s+1,212/);
    assert.match(preview, /Period\s+2025-01/);
    assert.match(preview, /\$29,395\.97/);
    assert.match(preview, /pattern_match 6/);
    assert.equal(existsSync(join(repo, 'data', '2025-01')), false, 'the preview writes nothing');
    await card.getByRole('button', { name: 'Import' }).click();
    await card.locator('.done').waitFor();
    const done = await card.locator('.done').innerText();
    assert.match(done, /Imported aws_2025-01\.csv as AWS for 2025-01/);
    assert.match(done, /git push -u origin ingest\/2025-01-aws/);
    const git = simpleGit(repo);
    assert.equal((await git.branchLocal()).current, 'ingest/2025-01-aws');
    assert.match((await git.log()).latest?.message ?? '', /^Ingest AWS 2025-01: 1,212 rows, \$29,395\.97 USD, 9 flagged$/);

    // The review queue: the six GPU flags approved together, one untagged charge rejected.
    await page.goto(new URL('/app/review?period=2025-01', web.url).toString());
    await page.waitForSelector('body[data-ready="true"]');
    assert.match(await page.locator('#count').innerText(), /^9 flags match/);
    await page.selectOption('#f-rule', 'pattern_match');
    assert.match(await page.locator('#count').innerText(), /^6 flags match/);
    assert.match(await page.locator('table.flags').innerText(), /2025-01 › pattern_match › aws \(6\)/);
    await page.check('#select-all');
    assert.match(await page.locator('#count').innerText(), /6 selected/);
    await page.fill('#note', 'GPU use approved by the PI');
    await page.click('#approve');
    await page.locator('#decided').getByText('6 flags saved').waitFor();
    assert.match(await page.locator('#decided').innerText(), /^6 flags saved, committed [0-9a-f]{7,} on ingest\/2025-01-aws\.$/);
    await page.selectOption('#f-rule', 'missing_pi_email');
    const first = page.locator('table.flags input[type="checkbox"]').first();
    const rejected = (await first.getAttribute('data-id')) as string;
    await first.check();
    await page.fill('#note', '');
    await page.click('#reject');
    assert.match(await page.locator('#decided').innerText(), /a rejection needs a note/);
    await page.fill('#note', 'not a research charge');
    await page.click('#reject');
    await page.locator('#decided').getByText('1 flag saved').waitFor();
    // The six approved are no longer pending: the list says why it is empty rather than show an empty table.
    await page.selectOption('#f-rule', 'pattern_match');
    assert.equal(await page.locator('#flags').innerText(), 'No flag matches these filters.');
    assert.equal(await page.locator('table.flags').count(), 0);

    const flags = await flagsOf('2025-01');
    assert.equal(
      flags.filter((f) => f.rule === 'pattern_match' && f.status === 'approved' && f.note === 'GPU use approved by the PI').length,
      6,
    );
    const no = flags.find((f) => f.id === rejected);
    assert.deepEqual([no?.status, no?.note, no?.decided_by], ['rejected', 'not a research charge', 'reviewer@example.edu']);
    const log = (await git.log()).all.slice(0, 2).map((c) => `${c.message}\n${c.body}`);
    assert.match(
      log[0] as string,
      /^Review 2025-01: reject 1 flag\n[\s\S]*Flags: [0-9a-f]{16}[\s\S]*Reviewer: reviewer@example\.edu[\s\S]*Note: not a research charge/,
    );
    assert.match(log[1] as string, /^Review 2025-01: approve 6 flags/);
    assert.match(await flagsText('2025-01'), /^# yaml-language-server: \$schema=/, 'comments in flags.yaml kept');
    await page.close();
  });

  it('shows every charge, billed or not, and one in full: its columns, raw tags, flag and decisions', async () => {
    const page = await signedIn();
    await page.goto(new URL('/app/charges?period=2025-01&status=rejected', web.url).toString());
    await page.waitForSelector('body[data-ready="true"]');
    await page.locator('#charges table').waitFor();
    assert.match(await page.locator('#charges [role="status"]').innerText(), /^1 charge;/);
    await page
      .getByRole('button', { name: /^Details/ })
      .first()
      .click();
    const dialog = page.locator('#detail');
    await dialog.getByText('Every column').waitFor();
    const text = await dialog.innerText();
    const flag = (await flagsOf('2025-01')).find((f) => f.status === 'rejected') as unknown as {
      id: string;
      line: number;
      charge: { amount: string };
    };
    assert.match(text, new RegExp(`row \\d+ \\(line ${flag.line}\\)`));
    assert.match(text, new RegExp(`BilledCost\\s+${flag.charge.amount.replace('.', '\\.')}\\n`));
    assert.match(text, new RegExp(flag.id));
    assert.match(text, /Status rejected by reviewer@example\.edu at 2026-02-03T04:05:06Z: not a research charge/);
    assert.match(text, /Review 2025-01: reject 1 flag/);
    assert.match(text, /Ingest AWS 2025-01/);
    await page.close();
    // The API pages through them by whole numbers; anything else is refused, never put in the query.
    const all = await (await call('/api/charges?period=2025-01')).json();
    const page2 = await (await call('/api/charges?period=2025-01&offset=2&limit=1')).json();
    assert.deepEqual([page2.total, page2.offset, page2.rows], [all.total, 2, [all.rows[2]]]);
    for (const q of ['offset=1e400', 'offset=abc', 'offset=-1', 'limit=2.5', 'limit=0x10']) {
      const r = await call(`/api/charges?period=2025-01&${q}`);
      assert.equal(r.status, 400, q);
      assert.match((await r.json()).error.message, /: expected a whole number such as/);
    }
    // A search is the text as typed: % and _ are no wildcards (% found every charge).
    const found = async (q: string) => (await (await call(`/api/charges?period=2025-01&q=${encodeURIComponent(q)}`)).json()).total;
    assert.ok(all.total > 0);
    assert.deepEqual(await Promise.all(['%', '_', 'genomics%'].map(found)), [0, 0, 0]);
    const some = await found('genomics');
    assert.ok(some > 0 && some < all.total, String(some));
    // A row number is digits: 10^20 failed DuckDB's OFFSET (500), and 1e3 was taken as 1000.
    const first = all.rows[0].file;
    for (const record of ['99999999999999999999', '1e3', '0'])
      assert.deepEqual(
        await (await call(`/api/charge?period=2025-01&file=${encodeURIComponent(first)}&record=${record}`)).json(),
        { error: { message: 'record: expected a row number from 1' } },
        record,
      );
    const unnamed = await call('/api/charge?period=2025-01&record=1');
    assert.deepEqual(
      [unnamed.status, (await unnamed.json()).error.message],
      [400, 'file: name the data file, such as data/2025-03/aws.csv'],
    );
  });

  it('removes an export imported under the wrong source, with its flags, asks again for one git holds no copy of, and takes out flags left without their export', async () => {
    const git = simpleGit(repo);
    const before = await flagsOf('2025-01');
    const head = await git.revparse(['HEAD']);
    for (const [file, source, commit] of [
      ['azure_2025-01.csv', 'GCP', 'true'],
      ['hpc_2025-01.csv', 'VMs', 'false'],
    ] as const) {
      const r = await importFile(join(SAMPLE, file), { source, commit });
      assert.equal(r.status, 200, await r.text());
    }
    assert.ok((await flagsOf('2025-01')).some((f) => f.source === 'gcp'));
    const page = await signedIn();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await page.goto(new URL('/app/', web.url).toString());
    await page.waitForSelector('body[data-ready="true"]');
    // Never committed: removed only when asked a second time, and nothing is left to commit.
    await page.getByRole('button', { name: 'Remove the VMs export of 2025-01' }).click();
    const status = page.locator('#home-message [role="status"]');
    await status.waitFor();
    assert.equal(await status.innerText(), 'Removed data/2025-01/vms.csv and 1 flag.');
    assert.equal(dialogs.length, 2);
    assert.equal(
      dialogs[1],
      'data/2025-01/vms.csv is not committed as it is: git keeps no copy, so removing it would lose it.\n\nRemove it anyway? Only if you still have the export file.',
    );
    assert.equal(existsSync(join(repo, 'data/2025-01/vms.csv')), false);

    await page.getByRole('button', { name: 'Remove the GCP export of 2025-01' }).click();
    await page.locator('#home-message [role="status"]', { hasText: 'gcp.csv' }).waitFor();
    assert.equal(
      await page.locator('#home-message [role="status"]').innerText(),
      'Removed data/2025-01/gcp.csv and 2 flags (committed on ingest/2025-01-gcp).',
    );
    assert.equal(
      dialogs[2],
      'Remove the GCP export of 2025-01 (data/2025-01/gcp.csv) and the charges it held for review, decisions included?',
    );
    assert.equal(existsSync(join(repo, 'data/2025-01/gcp.csv')), false);
    assert.match((await git.log()).latest?.message ?? '', /^Remove GCP 2025-01: data\/2025-01\/gcp\.csv$/);
    // Flags whose export went by git rm are listed alone, and taken out.
    assert.equal((await importFile(join(SAMPLE, 'azure_2025-01.csv'), { source: 'GCP', commit: 'true' })).status, 200);
    await git.rm('data/2025-01/gcp.csv');
    await git.commit('gcp.csv removed by hand');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('ul.exports').first().innerText(), 'AWS\nremove\nGCP (flags only)\nremove');
    await page.getByRole('button', { name: 'Remove the flags of GCP in 2025-01' }).click();
    await page.locator('#home-message [role="status"]', { hasText: '2 flags' }).waitFor();
    assert.equal(await page.locator('#home-message [role="status"]').innerText(), 'Removed 2 flags (committed on ingest/2025-01-gcp).');
    assert.equal(dialogs[3], 'Remove the flags of GCP in 2025-01? Its export is no longer stored.');
    assert.deepEqual(await flagsOf('2025-01'), before, 'the flags are as they were before either import');
    assert.equal(
      (await git.raw(['diff', '--name-only', head])).trim(),
      '',
      'the working tree is as it was before either import: the GCP import and its removal are committed, and cancel out',
    );
    assert.equal((await git.log({ from: head, to: 'HEAD' })).total, 5);

    // With another import not yet committed, the removal is not committed either, when asked.
    assert.equal((await importFile(join(SAMPLE, 'azure_2025-01.csv'), { source: 'GCP', commit: 'true' })).status, 200);
    assert.equal((await importFile(join(SAMPLE, 'hpc_2025-01.csv'), { source: 'VMs', commit: 'false' })).status, 200);
    const committedBefore = await git.revparse(['HEAD']);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.getByRole('button', { name: 'Remove the GCP export of 2025-01' }).click();
    await page.locator('#home-message [role="status"]', { hasText: 'gcp.csv' }).waitFor();
    assert.equal(await page.locator('#home-message [role="status"]').innerText(), 'Removed data/2025-01/gcp.csv and 2 flags.');
    assert.match(
      dialogs[5] as string,
      /^periods\/2025-01\/flags\.yaml has changes that are not committed, which a commit of the removal would carry unsaid\.\n\nRemove it without committing\?/,
    );
    assert.equal(await git.revparse(['HEAD']), committedBefore, 'nothing committed');
    await page.getByRole('button', { name: 'Remove the VMs export of 2025-01' }).click();
    await page.locator('#home-message [role="status"]', { hasText: 'vms.csv' }).waitFor();
    assert.deepEqual(await flagsOf('2025-01'), before);
    await git.commit('GCP removed again', ['data/2025-01', 'periods/2025-01/flags.yaml']);
    assert.equal((await git.raw(['diff', '--name-only', head])).trim(), '');
    await page.close();
  });

  it('has pages with no accessibility violations (axe-core), in light and dark mode', async () => {
    const axe = await readFile(join(PROJECT, 'node_modules/axe-core/axe.min.js'), 'utf8');
    for (const scheme of ['light', 'dark'] as const) {
      const page = await signedIn();
      await page.emulateMedia({ colorScheme: scheme });
      for (const path of ['/app/', '/app/import', '/app/review?period=2025-01', '/app/charges?period=2025-01', '/app/emails']) {
        await page.goto(new URL(path, web.url).toString());
        await page.waitForSelector('body[data-ready="true"]');
        await page.addScriptTag({ content: axe });
        const violations = await page.evaluate(async () => {
          const r = await (
            window as unknown as { axe: { run: () => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }
          ).axe.run();
          return r.violations.map((v) => `${v.id} (${v.impact}, ${v.nodes.length})`);
        });
        assert.deepEqual(violations, [], `${path} in ${scheme} mode`);
      }
      await page.close();
    }
  });
});

describe('live pages', () => {
  it('show the working tree as it is now, pending flags included, rebuilt after each change the app makes', async (t) => {
    const live = await startWeb({ root: repo, host: '127.0.0.1', port: 0, token: TOKEN, liveSite: true });
    t.after(() => live.close());
    await live.site.idle();
    const get = async (path: string) => {
      const r = await fetch(new URL(path, live.url), { headers: { authorization: `Bearer ${TOKEN}` } });
      return { status: r.status, text: await r.text() };
    };
    const pendingOf = (html: string) => Number(/Flags: pending \/ approved \/ rejected<\/p><p class="value">(\d+) \//.exec(html)?.[1]);
    const before = await get('/site/periods/2025-01/');
    assert.equal(before.status, 200);
    // A page the built site lacks is not found (it said the site was being built, 503, for ever);
    // nor does a path out of the site read anything.
    for (const path of ['/site/periods/2031-01/', '/site/..%2fconfig.yaml'])
      assert.deepEqual([(await get(path)).status, /There is no such page/.test((await get(path)).text)], [404, true], path);
    // An app started without the live site says so, where it said the site was being built.
    const off = await fetch(new URL('/site/', web.url), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual([off.status, /started with <code>--no-live-site<\/code>/.test(await off.text())], [404, true]);
    const pending = (await flagsOf('2025-01')).filter((f) => f.status === 'pending');
    assert.equal(pendingOf(before.text), pending.length);
    const decide = await fetch(new URL('/api/flags/decide', live.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [pending[0]?.id], status: 'rejected', note: 'not ours' }),
    });
    assert.equal(decide.status, 200);
    await live.site.idle();
    assert.equal(pendingOf((await get('/site/periods/2025-01/')).text), pending.length - 1);
    assert.equal(live.site.status().error, null);
  });

  it("keep an email log per period, with a preview of each PI's email", async () => {
    const page = await signedIn();
    await page.goto(new URL('/app/emails', web.url).toString());
    await page.waitForSelector('body[data-ready="true"]');
    await page.selectOption('#e-period', '2025-01');
    await page.locator('#emails table').waitFor();
    assert.match(await page.locator('#emails').innerText(), /0 of \d+ PIs were sent their statements for 2025-01/);
    await page.getByRole('button', { name: /Preview the email to Ana Rivera/ }).click();
    await page.locator('#email-preview h2').waitFor();
    assert.match(await page.locator('#email-preview h2').innerText(), /^To a\.rivera@example\.edu: /);
    assert.match((await page.locator('#email-preview pre').textContent()) ?? '', /genomics-atlas/);
    await page.close();
  });
});

async function flagsText(period: string): Promise<string> {
  return readFile(join(repo, 'periods', period, 'flags.yaml'), 'utf8');
}

describe('the API for scripts', () => {
  it('imports a raw Slurm export (converted with rates.yaml), lists flags, and decides them', async () => {
    const r = await importFile(join(SAMPLE, 'raw', 'sacct_2025-12.txt'), { source: 'HPC', period: '2025-12' });
    assert.equal(r.status, 200, await r.clone().text());
    const report = await r.json();
    assert.deepEqual([report.outcome, report.rows, report.stored_as], ['ingested', 552, 'data/2025-12/hpc.csv']);
    const listed = await (await call('/api/flags?period=2025-12&status=pending')).json();
    assert.deepEqual(
      listed.flags.map((f: { period: string; source: string; rule: string }) => [f.period, f.source, f.rule]),
      [['2025-12', 'hpc', 'missing_pi_email']],
    );
    const id = listed.flags[0].id;
    const decide = (body: string) => call('/api/flags/decide', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const assignTo = (fundOrg: string) =>
      decide(JSON.stringify({ ids: [id], assign: { pi_email: 'w.chen@example.edu', project_id: 'genome-assembly', fund_org: fundOrg } }));
    // A fund/org the invalid_fund_org rule would flag (config.yaml: \d{6}-\d{4}) is not assigned.
    const refused = await assignTo('100951-102');
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).error.message, /fund_org "100951-102" matches none of flag_rules\.fund_org_patterns/);
    // Half a surrogate pair, which a JSON body can hold and no UTF-8 file can: refused, not a failure of the server.
    const lone = await assignTo('100951-102\ud800');
    assert.equal(lone.status, 400);
    assert.match((await lone.json()).error.message, /fund_org is not Unicode text/);
    assert.equal(((await flagsOf('2025-12'))[0] as { assign?: unknown } | undefined)?.assign, undefined);
    assert.equal((await assignTo('100951-1023')).status, 200);
    const badNote = await decide(JSON.stringify({ ids: [id], status: 'approved', note: 'visiting \ud800' }));
    assert.equal(badNote.status, 400);
    assert.match((await badNote.json()).error.message, /the note is not Unicode text/);
    assert.equal((await flagsOf('2025-12'))[0]?.status, 'pending');
    assert.equal((await decide(JSON.stringify({ ids: [id], status: 'approved', note: 'visiting student' }))).status, 200);
    const [flag] = await flagsOf('2025-12');
    assert.deepEqual([flag?.status, (flag as { assign?: { pi_email: string } }).assign?.pi_email], ['approved', 'w.chen@example.edu']);
  });

  it('serialises two imports at once with the repository lock', async () => {
    const [a, b] = await Promise.all([
      importFile(join(SAMPLE, 'azure_2025-12.csv'), { source: 'Azure' }),
      importFile(join(SAMPLE, 'vms_2025-12.csv'), { source: 'VMs' }),
    ]);
    assert.deepEqual([a.status, b.status], [200, 200]);
    const flags = await flagsOf('2025-12');
    assert.deepEqual([...new Set(flags.map((f) => f.source))].sort(), ['azure', 'hpc', 'vms']);
    assert.equal(existsSync(join(repo, '.cache', 'write.lock')), false);
  });

  it('refuses a decision or a removal in a closed period (409), changing nothing', async () => {
    const pending = (await flagsOf('2025-12')).filter((f) => f.status === 'pending');
    for (const f of pending) await cli('review', 'reject', f.id, '--note', 'closing the month', '--root', repo);
    await simpleGit(repo).add('.').commit('decisions');
    const close = await cli('periods', 'close', '2025-12', '--root', repo);
    assert.equal(close.code, 0, close.stderr);
    const before = await flagsText('2025-12');
    const r = await call('/api/flags/decide', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [pending[0]?.id], status: 'approved' }),
    });
    assert.equal(r.status, 409);
    assert.match((await r.json()).error.message, /2025-12 is closed/);
    assert.equal(await flagsText('2025-12'), before);
    // Nor can an export come out of it.
    const data = await snapshot(repo, ['data/2025-12']);
    const removal = await call('/api/exports/remove', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ period: '2025-12', source: 'HPC' }),
    });
    assert.equal(removal.status, 409);
    assert.match((await removal.json()).error.message, /2025-12 is closed .*: cannot remove an export from it/);
    assert.deepEqual(await snapshot(repo, ['data/2025-12']), data);
    assert.ok(Object.keys(data).length > 0);
  });
});

describe('where git has no name for the author', () => {
  it('warns at start, and refuses a decision before writing it', async (t) => {
    const own = await makeRepo();
    t.after(() => removeDir(own));
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', own)).code, 0);
    const flags = join(own, 'periods', '2025-01', 'flags.yaml');
    const before = await readFile(flags, 'utf8');
    const id = parse(before).flags[0].id as string;
    await simpleGit(own).addConfig('user.name', '');
    const said: string[] = [];
    const app = await startWeb({ root: own, host: '127.0.0.1', port: 0, token: TOKEN, liveSite: false, say: (s) => said.push(s) });
    t.after(() => app.close());
    assert.match(
      said.join('\n'),
      /^warning: git cannot commit here \(empty ident name \(for <reviewer@example\.edu>\) not allowed\): imports and review decisions are refused until git config user\.name and user\.email are set$/m,
    );
    const r = await fetch(new URL('/api/flags/decide', app.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [id], status: 'approved' }),
    });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error.message, /^git cannot commit here: it has no name and email address for the author/);
    assert.equal(await readFile(flags, 'utf8'), before, 'the decision was not written, to be left uncommitted');
  });
});

describe('before the first commit', () => {
  it('names the branch as having no commit, and refuses an import that would commit, writing nothing', async (t) => {
    const own = await scratch(t);
    await initRepo(own);
    const git = simpleGit(own);
    const app = await startWeb({ root: own, host: '127.0.0.1', port: 0, token: TOKEN, liveSite: false, say: () => {} });
    t.after(() => app.close());
    const auth = { authorization: `Bearer ${TOKEN}` };
    const state = await (await fetch(new URL('/api/state', app.url), { headers: auth })).json();
    assert.equal(state.branch, 'main (no commit yet)');
    const form = new FormData();
    form.append('file', new Blob([await readFile(join(SAMPLE, 'storage_2025-01.csv'))]), 'storage_2025-01.csv');
    form.append('source', 'Storage');
    form.append('commit', 'true');
    const r = await fetch(new URL('/api/import', app.url), { method: 'POST', headers: auth, body: form });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error.message, /^this repository has no commit yet: a branch made now would hold this change alone/);
    assert.equal(existsSync(join(own, 'data', '2025-01')), false);
    assert.deepEqual((await git.branchLocal()).all, []);
  });
});

describe('what an export leaves when it goes by git rm', () => {
  it('lists the record of a compressed export left alone, which validate names and the app takes out', async (t) => {
    const own = await makeRepo();
    t.after(() => removeDir(own));
    const config = await readFile(join(own, 'config.yaml'), 'utf8');
    await writeFile(join(own, 'config.yaml'), `${config}\ndata_files: { compress_above_mb: 0.001 }\n`);
    const i = await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', own);
    assert.equal(i.code, 0, i.stderr);
    const git = simpleGit(own);
    await git.add('.').commit('January storage');
    await git.rm('data/2025-01/storage.csv.gz');
    await git.commit('storage.csv.gz taken out by hand');
    const v = await cli('validate', '--root', own);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(
      v.stderr,
      'warning: data/2025-01/storage.csv.gz.original.json: the record of data/2025-01/storage.csv.gz, which is no longer stored: it bills nothing\n' +
        "  hint: take it out with `focus-billing remove --period 2025-01 --source storage` (it takes that source's flags too), or git rm it\n",
    );
    const app = await startWeb({ root: own, host: '127.0.0.1', port: 0, token: TOKEN, liveSite: false, say: () => {} });
    t.after(() => app.close());
    const api = (path: string, init: RequestInit = {}) =>
      fetch(new URL(path, app.url), { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
    const state = await (await api('/api/state')).json();
    assert.deepEqual(
      state.periods.map((p: { period: string; exports: unknown }) => [p.period, p.exports]),
      [['2025-01', [{ source: 'Storage', files: [], leftover: 'record only' }]]],
    );
    // And as the billing office sees it.
    const page = await browser.newPage();
    t.after(() => page.close());
    await page.goto(`${app.url}?token=${TOKEN}`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('ul.exports').first().innerText(), 'Storage (record only)\nremove');
    // validate's warning reaches the office in the gate, as the CLI's stderr never would.
    const gate = page.locator('#gate[data-checked="true"]');
    await gate.waitFor();
    assert.match(await gate.innerText(), /^Nothing blocks merging · branch \S+ · reviewer \S+ · 0 pending flags\n+1 warning$/);
    await gate.locator('summary').click();
    assert.equal(
      await gate.locator('details li').innerText(),
      'data/2025-01/storage.csv.gz.original.json: the record of data/2025-01/storage.csv.gz, which is no longer stored: it bills nothing',
    );
    const r = await api('/api/exports/remove', { method: 'POST', body: JSON.stringify({ period: '2025-01', source: 'Storage' }) });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(existsSync(join(own, 'data/2025-01/storage.csv.gz.original.json')), false);
    assert.match((await git.log()).latest?.message ?? '', /^Remove Storage 2025-01/);
    assert.deepEqual((await (await api('/api/state')).json()).periods, []);
    assert.equal((await cli('validate', '--root', own)).stderr, '');
  });
});
