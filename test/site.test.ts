/**
 * The site and PDFs, end to end: a fixture billing repository built by the real CLI, its pages
 * opened in Chromium (Playwright), its PDFs read back with pdftotext, axe-core on every kind of page.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { findChromium } from '../src/pdf/browser.ts';
import { cli, FOCUS_HEADER, makeRepo, PROJECT, removeDir, SOURCE_CLI, serveDir, tags, writeCsv } from './helpers.ts';

const HEADER = FOCUS_HEADER;
const t = (pi: string, project: string, fund = '123456-0001') => tags({ pi_email: pi, project_id: project, fund_org: fund });
const ROWS = [
  HEADER,
  ['2025-03-01', '2025-03-02', 'Usage', '40.005', '50.00', 'Compute', '<script>alert("x")</script>', t('j.smith@a.edu', 'shared-lab')],
  ['2025-03-01', '2025-03-03', 'Usage', '10.00', '10.00', 'Compute', 'vm-2', t('j.smith@b.edu', 'shared-lab', '654321-0002')],
  ['2025-03-01', '2025-03-04', 'Usage', '0', '120.00', 'HPC CPU Compute', 'job-1', t('j.smith@a.edu', 'shared-lab')],
  ['2025-03-01', '2025-03-05', 'Credit', '-5.00', '-5.00', 'Research credit', '', t('j.smith@a.edu', 'shared-lab')],
  ['2025-03-01', '2025-03-06', 'Usage', '7.25', '7.25', 'Compute', 'orphan-vm', tags({ project_id: 'x' })],
  ['2025-03-01', '2025-03-07', 'Usage', '3.33', '3.33', 'Compute', 'rejected-vm', tags({ project_id: 'y' })],
];

let repo: string;
let server: Server;
let base: string;
let browser: Browser;
let model: any;
let built: any;
let imageHost: Server & { requests?: number };
let fetchedByBuild: number;

/** A GET with the path sent exactly as given. */
function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A process's command line (its arguments joined by NULs), or '' for one that has ended. */
function commandLine(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

async function open(path: string): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  (page as unknown as { errors: string[] }).errors = errors;
  await page.goto(`${base}${path}`);
  return page;
}

before(async () => {
  repo = await makeRepo('organization:\n  name: Fixture University\n  contact_email: billing@fixture.edu\n');
  const file = await writeCsv(repo, 'export.csv', ROWS);
  assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
  const flags = (await cli('review', 'list', '--root', repo, '--json')).json().flags as { id: string; charge: { resource: string } }[];
  const orphan = flags.find((f) => f.charge.resource === 'orphan-vm')?.id as string;
  const rejected = flags.find((f) => f.charge.resource === 'rejected-vm')?.id as string;
  assert.equal(
    (await cli('review', 'assign', orphan, '--pi', 'j.smith@b.edu', '--project', 'shared-lab', '--fund-org', '654321-0002', '--root', repo))
      .code,
    0,
  );
  assert.equal((await cli('review', 'approve', orphan, '--note', 'confirmed', '--root', repo)).code, 0);
  assert.equal((await cli('review', 'reject', rejected, '--note', 'not ours', '--root', repo)).code, 0);
  await writeFile(join(repo, 'pis.yaml'), '- email: j.smith@a.edu\n  name: Jo Smith\n- email: j.smith@b.edu\n  name: Jamie Smith\n');
  await mkdir(join(repo, 'periods/2025-03'), { recursive: true });
  // An image from the web in the notes: the pages show it; the PDFs are printed without it.
  imageHost = createServer((_req, res) => {
    imageHost.requests = (imageHost.requests ?? 0) + 1;
    res.writeHead(404).end();
  }) as typeof imageHost;
  await new Promise<void>((done) => imageHost.listen(0, '127.0.0.1', done));
  const imageUrl = `http://127.0.0.1:${(imageHost.address() as AddressInfo).port}/rates.png`;
  await writeFile(join(repo, 'periods/2025-03/notes.mdx'), `Storage rates **fall** in April.\n\n![April's rate table](${imageUrl})\n`);
  const r = await cli('build', '--root', repo, '--date', '2025-04-02', '--json');
  assert.equal(r.code, 0, r.stderr);
  fetchedByBuild = imageHost.requests ?? 0;
  built = r.json();
  model = (await cli('generate', '--period', '2025-03', '--dry-run', '--json', '--root', repo)).json();
  ({ server, base } = await serveDir(join(repo, 'dist')));
  browser = await chromium.launch({ executablePath: findChromium().path, args: ['--no-sandbox', '--disable-gpu'] });
});

after(async () => {
  await browser?.close();
  server?.close();
  imageHost?.close();
  await removeDir(repo);
});

describe('statement site', () => {
  it('shows on the period page exactly what the statements bill', async () => {
    const page = await open('periods/2025-03/');
    const amounts = await page
      .locator('#pi-table tbody [data-amount]')
      .evaluateAll((tds) => tds.map((td) => (td as HTMLElement).dataset.amount));
    const byPi = new Map<string, bigint>();
    for (const s of model.statements) byPi.set(s.pi_email, (byPi.get(s.pi_email) ?? 0n) + BigInt(s.amount_due.replace('.', '')));
    const expected = [...byPi.values()].map((c) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`).sort();
    assert.deepEqual([...amounts].sort(), expected);
    // j.smith@a.edu: 40.005 → 40.01 (half away from zero), 0 for the subsidised job, −5.00 credit.
    assert.ok(amounts.includes('35.01'));
    // The file's exact total is 55.585: shown rounded half away from zero, not truncated.
    // What review held back (the rejected 3.33) beside what the statements bill, so that the row adds up: 52.26 + 3.33 + -0.005.
    assert.match(
      await page.locator('table:has(caption:text("by source"))').innerText(),
      /AWS\s+\$[\d,.]+\s+\$52\.26\s+\$3\.33\s+data\/2025-03\/aws\.csv\s+6\s+\$55\.59/,
    );
    // Journals for finance sit beside the period, in the staff site; without recharge fund/orgs
    // the GL cannot balance, so it is left out and the build says why.
    for (const format of ['detail', 'summary']) assert.ok(existsSync(join(repo, 'dist/periods/2025-03', `journal-${format}.csv`)), format);
    assert.ok(!existsSync(join(repo, 'dist/periods/2025-03/journal-gl.csv')));
    assert.match(built.warnings.join('\n'), /2025-03: no gl journal: no recharge fund\/org for AWS/);
    const reconciliation = await page.locator('table.reconciliation').innerText();
    assert.match(reconciliation, /Excluded, rejected\s+3\.33/);
    // Exact, grouped, and padded with figure spaces (a digit's width) so that the points line up.
    const cells = await page.locator('table.reconciliation td.num:not(.count)').allInnerTexts();
    // input, on statements, pending, rejected, residue, and the statements' total: 52.26 + 3.33 - 0.005 = 55.585.
    const f = '\u2007';
    assert.deepEqual(cells, ['55.585', `52.26${f}`, `0.00${f}`, `3.33${f}`, '-0.005', `$52.26${f}`]);
    // And in charges: the file's 6 rows, 5 on statements and the rejected one.
    assert.deepEqual(await page.locator('table.reconciliation td.count').allInnerTexts(), ['6', '5', '0', '1']);
    await page.close();
  });

  it("ranks the dashboard chart's PIs by their exact amounts due, largest first", () => {
    const index = readFileSync(join(repo, 'dist/index.html'), 'utf8');
    const json = /<script type="application\/json" id="dashboard-data">([\s\S]*?)<\/script>/.exec(index)?.[1];
    const data = JSON.parse(json ?? 'null') as { topPis: { amount: { value: string } }[] };
    const cents = (v: string) => BigInt(v.replace('.', ''));
    const byPi = new Map<string, bigint>();
    for (const s of model.statements) byPi.set(s.pi_email, (byPi.get(s.pi_email) ?? 0n) + cents(s.amount_due));
    const expected = [...byPi.values()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    assert.ok(expected.length > 1);
    assert.deepEqual(
      data.topPis.map((p) => cents(p.amount.value)),
      expected.slice(0, 10),
    );
  });

  it('fits a statement and its PI page on a phone: nothing but a table scrolls sideways', async () => {
    const paths = [
      `periods/2025-03/statements/${model.statements[0].number}/`,
      ...readdirSync(join(repo, 'dist/periods/2025-03/pi')).map((d) => `periods/2025-03/pi/${d}/`),
    ];
    for (const path of paths) {
      const page = await open(path);
      await page.setViewportSize({ width: 390, height: 800 });
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        // Wider than it shows: a word broken to fit, or a table left to scroll.
        cells: [...document.querySelectorAll('dd, .letterhead div')].filter((e) => e.scrollWidth > e.clientWidth + 1).length,
      }));
      assert.deepEqual(widths, { page: 390, cells: 0 }, path);
      await page.close();
    }
  });

  it('renders a resource named <script> as text', async () => {
    const statement = model.statements.find((s: { pi_email: string }) => s.pi_email === 'j.smith@a.edu');
    const page = await open(`periods/2025-03/statements/${statement.number}/`);
    assert.match(await page.locator('table.details').innerText(), /<script>alert\("x"\)<\/script>/);
    assert.deepEqual((page as unknown as { errors: string[] }).errors, []);
    const html = readFileSync(join(repo, 'dist/periods/2025-03/statements', statement.number, 'index.html'), 'utf8');
    assert.ok(!html.includes('<script>alert'), 'escaped in the HTML');
    assert.ok(!/\son[a-z]+=/.test(html), 'no inline event handlers');
    assert.match(await page.locator('aside.notes').innerText(), /Storage rates fall in April/);
    await page.close();
  });

  it('keeps dark mode across pages, and prints light', async () => {
    const page = await open('');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await page.getAttribute('#theme-toggle', 'aria-pressed'), 'false');
    await page.click('#theme-toggle');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.goto(`${base}periods/2025-03/`);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'remembered');
    assert.equal(await page.getAttribute('#theme-toggle', 'aria-pressed'), 'true');
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), dark);
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor), 'rgb(255, 255, 255)');
    await page.close();
  });

  it('filters, searches and sorts in the charge browser', async () => {
    const page = await open('periods/2025-03/charges/');
    await page.waitForSelector('#charge-table tbody tr');
    // Every charge on the statements, counted as the period's reconciliation counts them.
    assert.equal(await page.locator('#charge-status').innerText(), `5 of 5 rows (${model.reconciliation[0].statement_rows} charges)`);
    assert.equal(model.reconciliation[0].statement_rows, 5);
    await page.selectOption('select[name=pi]', { label: 'Jamie Smith' });
    await page.waitForFunction(() => document.getElementById('charge-status')?.textContent?.startsWith('2 of'));
    assert.equal(await page.locator('#charge-total').innerText(), '$17.25');
    await page.selectOption('select[name=pi]', '');
    await page.fill('input[name=q]', 'job-1');
    await page.waitForFunction(() => document.getElementById('charge-status')?.textContent?.startsWith('1 of'));
    await page.fill('input[name=q]', '');
    await page.waitForFunction(() => document.getElementById('charge-status')?.textContent?.startsWith('5 of'));
    await page.click('button.sort[data-key=amount]');
    await page.click('button.sort[data-key=amount]');
    assert.equal(await page.locator('#charge-table tbody tr:first-child td.num').innerText(), '$40.01');
    assert.equal(await page.getAttribute('th:has(button[data-key=amount])', 'aria-sort'), 'descending');
    await page.close();
  });

  it('has no serious or critical accessibility violations (axe-core)', async () => {
    const axe = await readFile(join(PROJECT, 'node_modules/axe-core/axe.min.js'), 'utf8');
    const statement = model.statements[0];
    for (const path of [
      '',
      'periods/2025-03/',
      `periods/2025-03/statements/${statement.number}/`,
      readdirSync(join(repo, 'dist/periods/2025-03/pi')).map((d) => `periods/2025-03/pi/${d}/`)[0] as string,
    ]) {
      const page = await open(path);
      await page.addScriptTag({ content: axe });
      const violations = await page.evaluate(async () => {
        const result = await (
          window as unknown as { axe: { run: () => Promise<{ violations: { id: string; impact: string }[] }> } }
        ).axe.run();
        return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
      });
      assert.deepEqual(violations, [], `on /${path}`);
      await page.close();
    }
  });
});

describe('PDF statements', () => {
  const pdfs = () => readdirSync(join(repo, 'dist/periods/2025-03/pdf')).sort();
  it('gives two PIs with the same local part two PDFs', () => {
    const files = pdfs();
    assert.equal(files.length, model.statements.length);
    assert.equal(files.length, 2);
    assert.ok(files.every((f) => /^2025-03_j-smith-[0-9a-f]{6}_shared-lab_[0-9A-F]{16}\.pdf$/.test(f)));
    assert.notEqual(files[0]?.slice(0, 24), files[1]?.slice(0, 24));
  });
  it('holds the PI, project and amounts as selectable text', () => {
    const a = model.statements.find((s: { pi_email: string }) => s.pi_email === 'j.smith@a.edu');
    const file = pdfs().find((f) => f.endsWith(`_${a.number.split('-')[1]}.pdf`)) as string;
    const text = execFileSync('pdftotext', ['-layout', join(repo, 'dist/periods/2025-03/pdf', file), '-'], { encoding: 'utf8' });
    assert.match(text, /Jo Smith \(j\.smith@a\.edu\)/);
    assert.match(text, /shared-lab/);
    assert.match(text, /Amount due[\s\S]*\$35\.01/);
    assert.match(text, /\$170\.00/); // list: 50 + 120 (subsidised, still shown)
    assert.match(text, /Research credit\s+Credit\s+-\$5\.00/);
    assert.match(text, /<script>alert\("x"\)<\/script>/);
    // Printed offline: the notes' image from the web is its words, and nothing was fetched for it
    // (a host that never answered held every publish until it failed).
    assert.match(text, /Storage rates fall in April\.\s+April's rate table/);
    assert.equal(fetchedByBuild, 0);
    const info = execFileSync('pdfinfo', [join(repo, 'dist/periods/2025-03/pdf', file)], { encoding: 'utf8' });
    assert.match(info, /Page size:\s+612 x 792 pts \(letter\)/);
  });
  it('attaches them to the emails with --attach-pdf', async () => {
    const r = await cli(
      'email',
      '--period',
      '2025-03',
      '--base-url',
      'https://rc.fixture.edu/',
      '--attach-pdf',
      '--allow-pending',
      '--root',
      repo,
    );
    assert.equal(r.code, 0, r.stderr);
    const dir = join(repo, 'out/emails/2025-03');
    const { simpleParser } = await import('mailparser');
    for (const file of readdirSync(dir)) {
      const mail = await simpleParser(await readFile(join(dir, file)));
      assert.equal(mail.attachments.length, 1);
      assert.equal(mail.attachments[0]?.contentType, 'application/pdf');
      assert.ok(pdfs().includes(mail.attachments[0]?.filename as string));
    }
  });
  it('prints nothing again when nothing changed', async () => {
    const r = await cli('build', '--root', repo, '--date', '2025-04-02', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().pdfs.printed, 0);
    assert.equal(r.json().pdfs.cached, 2);
  });
  it('places the kept PDFs in a new folder as links to the PDF cache, the same bytes, none printed', async (t) => {
    const out = join(repo, 'fresh-site');
    t.after(() => removeDir(out));
    const r = await cli('build', '--root', repo, '--date', '2025-04-02', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().pdfs.printed, 0);
    const cache = join(repo, '.cache/pdf');
    const cached = new Set(readdirSync(cache).map((f) => statSync(join(cache, f)).ino));
    const placed = readdirSync(join(out, 'periods/2025-03/pdf')).sort();
    assert.deepEqual(placed, pdfs());
    for (const f of placed) {
      const path = join(out, 'periods/2025-03/pdf', f);
      assert.ok(cached.has(statSync(path).ino), `${f} is a link to its cache entry, not a copy`);
      assert.ok(readFileSync(path).equals(readFileSync(join(repo, 'dist/periods/2025-03/pdf', f))));
    }
  });
});

describe('build', () => {
  it('publishes only secret-link statement pages and PDFs for the PI audience', async () => {
    const out = join(repo, 'pi-site');
    process.env.STATEMENT_LINK_SECRET = 'Vq3x9Lr0aT7mZkP2sWd8YbN1cHf6GjE4uQo5RiU0=';
    try {
      const r = await cli('build', '--root', repo, '--date', '2025-04-02', '--audience', 'pi', '--out', out, '--json');
      assert.equal(r.code, 0, r.stderr);
    } finally {
      delete process.env.STATEMENT_LINK_SECRET;
    }
    assert.ok(!existsSync(join(out, 'periods')), 'no period listings');
    const tokens = readdirSync(join(out, 's'));
    assert.equal(tokens.length, 2);
    assert.ok(tokens.every((t) => /^[A-Za-z0-9_-]{22}$/.test(t)));
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    assert.ok(!index.includes('j.smith'), 'the home page lists no PI');
    const own = readdirSync(join(out, 's', tokens[0] as string));
    assert.equal(own.filter((f) => f.endsWith('.pdf')).length, 1);
  });
  it('refuses the PI audience without a link secret', async () => {
    const r = await cli('build', '--root', repo, '--audience', 'pi', '--out', join(repo, 'x'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--audience pi needs STATEMENT_LINK_SECRET/);
  });
  it('fails loudly and keeps the last good site when a step fails', async () => {
    const before = readFileSync(join(repo, 'dist/index.html'), 'utf8');
    // Notes MDX cannot read are refused before anything is built.
    await writeFile(join(repo, 'periods/2025-03/notes.mdx'), 'Broken <div\n');
    const notes = await cli('build', '--root', repo, '--no-pdf');
    await writeFile(join(repo, 'periods/2025-03/notes.mdx'), 'Storage rates **fall** in April.\n');
    assert.equal(notes.code, 2);
    assert.match(notes.stderr, /^error: periods\/2025-03\/notes\.mdx:1:12: not valid MDX: Unexpected end of file in name/);
    assert.equal(readFileSync(join(repo, 'dist/index.html'), 'utf8'), before);
    // A step after the pages are built: a browser that does not start (the PDFs cached are dropped, so they are printed).
    await rm(join(repo, '.cache/pdf'), { recursive: true, force: true });
    await rm(join(repo, '.cache/site'), { recursive: true, force: true });
    process.env.OCB_CHROMIUM = '/bin/false';
    const browser = await cli('build', '--root', repo).finally(() => delete process.env.OCB_CHROMIUM);
    assert.equal(browser.code, 2, browser.stderr);
    assert.equal(
      browser.stderr,
      'error: the browser at /bin/false (OCB_CHROMIUM) did not start: it exited with code 1\n  hint: check that it runs (/bin/false --version), set OCB_CHROMIUM to a working Chrome or Chromium (`focus-billing doctor` says which it finds), or build with --no-pdf\n',
    );
    assert.equal(readFileSync(join(repo, 'dist/index.html'), 'utf8'), before);
    // The page build itself: its Astro process killed, as the kernel's out-of-memory killer would.
    await rm(join(repo, '.cache/site'), { recursive: true, force: true });
    const build = spawn(process.execPath, [...SOURCE_CLI, 'build', '--root', repo, '--no-pdf', '--out', join(repo, 'killed-site')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    build.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((done) => build.on('exit', done));
    let astro: string | undefined;
    while (!astro && build.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
      // The Astro runner is given its staging folder, named after --out (read from /proc: no pgrep needed).
      astro = readdirSync('/proc')
        .filter((pid) => /^\d+$/.test(pid))
        .find((pid) => commandLine(pid).includes('runner.mjs') && commandLine(pid).includes('.killed-site.building-'));
    }
    assert.ok(astro, `the Astro process was found: ${stderr}`);
    process.kill(Number(astro), 'SIGKILL');
    assert.equal(await exited, 1, stderr);
    assert.match(
      stderr,
      /^error: the site did not build: the Astro build process ended \(SIGKILL\) without a result\n {2}hint: run with --debug/,
    );
    assert.deepEqual(
      readdirSync(repo).filter((f) => f.includes('killed-site')),
      [],
      'nothing published, no staging folder left',
    );
  });
  it('stops the page build it started when a period cannot be read, and leaves nothing behind', async () => {
    // Astro starts before the periods are read (it bundles the pages meanwhile): a period that
    // fails must stop it, and the error must be the period's.
    const data = join(repo, 'data/2025-03/aws.csv');
    const stored = await readFile(data);
    const tmp = await mkdtemp(join(tmpdir(), 'ocb-site-fail-'));
    try {
      await writeFile(data, 'BilledCost,BillingCurrency\n1.00,USD\n');
      const r = spawnSync(process.execPath, [...SOURCE_CLI, 'build', '--root', repo, '--no-pdf', '--out', join(repo, 'failed')], {
        encoding: 'utf8',
        env: { ...process.env, TMPDIR: tmp },
      });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^error: data\/2025-03\/aws\.csv:1:1: missing required column BillingPeriodStart/);
      assert.doesNotMatch(r.stderr, /the site did not build/);
      assert.deepEqual(
        readdirSync(tmp).filter((f) => !f.startsWith('tsx-')),
        [],
        'Astro stopped and its folders removed',
      );
      assert.ok(!existsSync(join(repo, 'failed')));
    } finally {
      await writeFile(data, stored);
      await removeDir(tmp);
    }
  });
  it('builds from inside a billing repository that lies outside the project', async () => {
    // Astro imports its intermediate bundle from below the working directory: here /tmp, where
    // no node_modules would resolve unless the build runs from the project folder.
    const out = join(repo, 'from-inside');
    const r = spawnSync(process.execPath, [...SOURCE_CLI, 'build', '--no-pdf', '--out', out, '--json'], {
      cwd: repo,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!PROJECT.startsWith(repo) && !repo.startsWith(PROJECT), 'the repository is outside the project');
    assert.match(readFileSync(join(out, 'periods', '2025-03', 'index.html'), 'utf8'), /Fixture University/);
  });
  it('serves the site as the working tree is now with `web`, to the token holder only, and stops on Ctrl-C', async () => {
    const token = 'site-test-token-0123456789';
    const child = spawn(process.execPath, [...SOURCE_CLI, 'web', '--port', '0', '--root', repo], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OCB_WEB_TOKEN: token },
    });
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/127\.0\.0\.1:\d+\/)\?token=/.exec(out);
        if (m) ok(m[1] as string);
      });
      child.on('exit', (code) => fail(new Error(`web exited ${code}: ${out}`)));
    });
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await fetch(`${url}site/`)).status, 401);
    // The live site is built when the app starts: a moment later it is there.
    let home = await fetch(`${url}site/`, { headers: auth });
    for (let i = 0; i < 120 && home.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
      home = await fetch(`${url}site/`, { headers: auth });
    }
    assert.equal(home.status, 200);
    assert.match(await home.text(), /<title>Dashboard · Fixture University<\/title>/);
    const charges = await fetch(`${url}site/periods/2025-03/charges.json`, { headers: auth });
    assert.match(charges.headers.get('content-type') ?? '', /^application\/json/);
    // Raw paths, as a client sends them (fetch would normalise `..` away before sending).
    for (const path of ['/site/../../etc/passwd', '/site/..%2f..%2fetc%2fpasswd', '/site/%2e%2e/%2e%2e/etc/passwd']) {
      const res = await rawGet(url, path, auth);
      assert.ok(res.status === 403 || res.status === 404 || res.status === 503, `${path}: ${res.status}`);
      assert.doesNotMatch(res.body, /root:/, path);
    }
    const exited = new Promise<number | null>((ok) => child.on('exit', ok));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });
  it('explains how to get a browser when none is found', () => {
    assert.throws(
      () => findChromium(undefined, { OCB_CHROMIUM: '/nonexistent/chrome' }),
      /OCB_CHROMIUM is \/nonexistent\/chrome, which does not exist/,
    );
    assert.equal(findChromium('/bin/sh', {}).from, 'config.yaml pdf.chromium');
  });
});
