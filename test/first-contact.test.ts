/**
 * The first five minutes on any machine: the browser lookup on every platform (its search list is
 * data, tested here without the platforms), the demo on a machine without a browser, `doctor`,
 * and a statement that prints across pages with its total once.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { simpleGit } from 'simple-git';
import { nodeCheck } from '../src/cli/commands/doctor.ts';
import { browserCandidates, findChromium, type LookupEnvironment } from '../src/pdf/browser.ts';
import { coveredRanges } from '../src/pdf/fonts.ts';
import { cli, FOCUS_HEADER, focusRow, PROJECT, scratch, scratchRepo, tags, writeCsv } from './helpers.ts';

/** A lookup over a fake file system: only `files` exist. */
const fake = (platform: NodeJS.Platform, files: string[], env: NodeJS.ProcessEnv = {}, home = '/home/pat'): LookupEnvironment => ({
  platform,
  env,
  home,
  exists: (p) => files.includes(p),
  list: (dir) => [
    ...new Set(
      files
        .filter((f) => f.startsWith(`${dir}/`) || f.startsWith(`${dir}\\`))
        .map((f) => f.slice(dir.length + 1).split(/[\\/]/)[0] as string),
    ),
  ],
});

describe('finding Chrome or Chromium', () => {
  const cases: [string, NodeJS.Platform, string, NodeJS.ProcessEnv, string][] = [
    ['macOS Google Chrome', 'darwin', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', {}, 'macOS applications'],
    ['macOS Chromium', 'darwin', '/Applications/Chromium.app/Contents/MacOS/Chromium', {}, 'macOS applications'],
    ['macOS Edge', 'darwin', '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge', {}, 'macOS applications'],
    [
      'macOS, in the home folder',
      'darwin',
      '/Users/pat/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
      {},
      'macOS applications',
    ],
    [
      'macOS Playwright cache',
      'darwin',
      '/Users/pat/Library/Caches/ms-playwright/chromium-1200/chrome-mac/Chromium.app/Contents/MacOS/Chromium',
      {},
      "Playwright's cache",
    ],
    [
      'Windows Chrome',
      'win32',
      'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
      { PROGRAMFILES: 'C:\\Program Files' },
      'Windows program folders',
    ],
    [
      'Windows Chrome (x86)',
      'win32',
      'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
      { PROGRAMFILES: 'C:\\Program Files', 'PROGRAMFILES(X86)': 'C:\\Program Files (x86)' },
      'Windows program folders',
    ],
    [
      'Windows Edge',
      'win32',
      'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe',
      { 'PROGRAMFILES(X86)': 'C:\\Program Files (x86)' },
      'Windows program folders',
    ],
    [
      'Windows Chrome for one user',
      'win32',
      'C:\\Users\\pat\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe',
      { LOCALAPPDATA: 'C:\\Users\\pat\\AppData\\Local' },
      'Windows program folders',
    ],
    ['Linux chromium on the PATH', 'linux', '/usr/bin/chromium', { PATH: '/usr/local/bin:/usr/bin' }, 'PATH'],
    ['Linux google-chrome-stable', 'linux', '/opt/google/bin/google-chrome-stable', { PATH: '/usr/bin:/opt/google/bin' }, 'PATH'],
    ['Linux snap', 'linux', '/snap/bin/chromium', { PATH: '/usr/bin' }, 'snap'],
    [
      'Linux Playwright cache',
      'linux',
      '/home/pat/.cache/ms-playwright/chromium-1187/chrome-linux/chrome',
      { PATH: '/usr/bin' },
      "Playwright's cache",
    ],
  ];
  for (const [name, platform, path, env, from] of cases) {
    it(`finds ${name}`, () => {
      const home = platform === 'darwin' ? '/Users/pat' : platform === 'win32' ? 'C:\\Users\\pat' : '/home/pat';
      assert.deepEqual(findChromium(undefined, env, fake(platform, [path], env, home)), { path, from });
      // And nothing where nothing is installed.
      assert.throws(() => findChromium(undefined, env, fake(platform, [], env, home)), /no Chrome or Chromium found/);
    });
  }

  it('prefers the newest revision in Playwright’s cache, and says everywhere it looked', () => {
    const env = { PATH: '/usr/local/bin:/usr/bin' };
    const old = '/home/pat/.cache/ms-playwright/chromium-1100/chrome-linux/chrome';
    const recent = '/home/pat/.cache/ms-playwright/chromium-1200/chrome-linux/chrome';
    assert.equal(findChromium(undefined, env, fake('linux', [old, recent], env)).path, recent);
    assert.throws(
      () => findChromium(undefined, env, fake('linux', [], env)),
      (e: Error) =>
        /looked in PATH: \/usr\/local\/bin, \/usr\/bin; snap: \/snap\/bin/.test(e.message) &&
        /npx playwright install chromium/.test((e as { hint?: string }).hint ?? ''),
    );
    const mac = browserCandidates(fake('darwin', [], {}, '/Users/pat')).map((c) => c.path);
    assert.ok(mac.includes('/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'));
  });
});

/** A PATH with git and nothing else: no browser can be found on it. */
async function pathWithoutBrowser(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const git = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  await symlink(git, join(bin, 'git'));
  return bin;
}

function runDemo(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT, 'scripts', 'demo.ts')], { cwd: PROJECT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('the demo on a machine without a browser', () => {
  it('builds the site without PDFs, says why in one line with the command that adds them, and exits 0', async (t) => {
    const dir = await scratch(t);
    const env = {
      PATH: await pathWithoutBrowser(dir),
      HOME: dir,
      PLAYWRIGHT_BROWSERS_PATH: join(dir, 'no-browsers'),
      // A folder name with a space: each command the demo prints can be pasted as it is.
      OCB_DEMO_DIR: join(dir, 'my demo'),
      TZ: 'UTC',
      LC_ALL: 'C.UTF-8',
      SOURCE_DATE_EPOCH: '1767225600',
    };
    // A demo repository made before the demo marked its folders: known by its first commit, and replaced.
    const legacy = simpleGit(await mkdirGit(join(dir, 'my demo')));
    await writeFile(join(dir, 'my demo', 'played-with.txt'), 'x');
    await legacy.add('.').commit('Billing repository for Example University', { '--author': 'Billing Office <billing@example.edu>' });
    const r = await runDemo(env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(join(dir, 'my demo', 'played-with.txt')), false);
    assert.ok(existsSync(join(dir, 'my demo', '.git', 'openchargeback-demo')));
    assert.ok(existsSync(join(dir, 'my demo', 'dist', 'index.html')));
    assert.equal(existsSync(join(dir, 'my demo', 'dist', 'periods', '2025-12', 'pdf')), false);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('No PDFs'));
    assert.equal(lines.length, 1);
    assert.match(
      lines[0] as string,
      /^No PDFs: no Chrome or Chromium was found .*then run: npx focus-billing build --root '\S+ demo' --out '\S+ demo\/dist'$/,
    );
    assert.match(r.stdout, /\n {2}App: {3}npx focus-billing web --root '\S+\/my demo' /);
    assert.match(r.stdout, /\n {2}Git history of every decision: git -C '\S+\/my demo' log --stat\n/);
    assert.doesNotMatch(r.stdout + r.stderr, /^\s+at /m, 'no stack trace');
  });

  it('stops at a failing step with that step’s message, never a stack trace', async (t) => {
    const dir = await scratch(t);
    // A folder an earlier demo made (its marker in .git) is replaced.
    await mkdir(join(dir, 'demo', '.git'), { recursive: true });
    await writeFile(join(dir, 'demo', '.git', 'openchargeback-demo'), '');
    await writeFile(join(dir, 'demo', 'left-over.txt'), 'x');
    // A link secret too weak to use: the build step refuses it, after everything before it worked.
    const r = await runDemo({ ...process.env, OCB_DEMO_DIR: join(dir, 'demo'), STATEMENT_LINK_SECRET: 'short' });
    assert.equal(existsSync(join(dir, 'demo', 'left-over.txt')), false);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error: STATEMENT_LINK_SECRET is too weak to keep statement links private/);
    assert.match(r.stderr, /The demo stopped: focus-billing build --out dist( --no-pdf)? exited with 2 \(its message is above\)\.\n$/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    // Something that is not a step (the folder cannot be made): its message, still no stack trace.
    await writeFile(join(dir, 'a-file'), 'not a folder');
    const bad = await runDemo({ ...process.env, OCB_DEMO_DIR: join(dir, 'a-file', 'demo') });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^The demo stopped: the demo failed: ENOTDIR: not a directory/m);
    assert.doesNotMatch(bad.stderr, /^\s+at /m);
  });
});

describe('the demo’s folder', () => {
  it('is never one the demo did not make: a folder of files, another repository, a file are refused, untouched', async (t) => {
    const dir = await scratch(t);
    const files = join(dir, 'home');
    await mkdir(files);
    await writeFile(join(files, 'thesis.tex'), 'mine');
    const other = await mkdirGit(join(dir, 'billing'));
    await writeFile(join(other, 'config.yaml'), 'organization: { name: Real }\n');
    await simpleGit(other).add('.').commit('Billing repository for Example University');
    await writeFile(join(dir, 'a-file'), 'mine');
    for (const [target, why] of [
      [files, 'is a folder the demo did not make, and it is not empty'],
      [other, 'is a folder the demo did not make, and it is not empty'],
      [join(dir, 'a-file'), 'is a file, not a folder'],
    ]) {
      const r = await runDemo({ ...process.env, OCB_DEMO_DIR: target });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr,
        `error: ${target}: ${why}; nothing was changed\n  hint: the demo replaces only a folder it made: set OCB_DEMO_DIR to a new folder, or move this one aside yourself\n`,
      );
      assert.equal(r.stdout, '');
    }
    assert.equal(await readFile(join(files, 'thesis.tex'), 'utf8'), 'mine');
    assert.deepEqual(readdirSync(other).sort(), ['.git', 'config.yaml']);
    assert.equal(await readFile(join(dir, 'a-file'), 'utf8'), 'mine');
  });
});

/** A new folder holding an empty git repository, with a committer. */
async function mkdirGit(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  await simpleGit(path).init().addConfig('user.email', 'someone@example.edu').addConfig('user.name', 'Someone');
  return path;
}

describe('doctor', () => {
  it('reports a good repository ready, with the browser and DuckDB found', async (t) => {
    const root = await scratchRepo(t);
    const secret = 'k8Jq2vN5xR7wB3mZ9pL4tY6cF1hD0sGa';
    const prev = process.env.STATEMENT_LINK_SECRET;
    process.env.STATEMENT_LINK_SECRET = secret;
    t.after(() => {
      if (prev === undefined) delete process.env.STATEMENT_LINK_SECRET;
      else process.env.STATEMENT_LINK_SECRET = prev;
    });
    const r = await cli('doctor', '--json', '--root', root);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = r.json();
    assert.equal(doc.ok, true);
    const by = Object.fromEntries(doc.checks.map((c: { name: string }) => [c.name, c]));
    assert.deepEqual(Object.keys(by), [
      'Node.js',
      'git',
      'billing repository',
      'line endings',
      'browser (PDFs)',
      'DuckDB',
      'link secret',
      'email (SMTP)',
      '.cache/',
    ]);
    assert.equal(by['Node.js'].status, 'ok');
    assert.match(by.git.detail, /, commits as Test Reviewer <reviewer@example\.edu>$/);
    assert.equal(by['browser (PDFs)'].status, 'ok');
    assert.match(by['browser (PDFs)'].detail, /Chrom(e|ium) \d+/);
    assert.match(by.DuckDB.detail, /^v1\.\d+\.\d+ loads, and may use [\d.]+ [MG]iB of memory \(OCB_MEMORY_LIMIT changes it\)$/);
    assert.equal(by['link secret'].status, 'ok');
    assert.equal(by['.cache/'].status, 'ok');
    assert.equal(by['line endings'].status, 'ok', 'init wrote .gitattributes');

    // A memory limit DuckDB cannot take is a setting to fix, not DuckDB to reinstall.
    process.env.OCB_MEMORY_LIMIT = 'lots';
    t.after(() => {
      delete process.env.OCB_MEMORY_LIMIT;
    });
    const bad = await cli('doctor', '--json', '--root', root);
    assert.equal(bad.code, 1);
    const duck = bad.json().checks.find((c: { name: string }) => c.name === 'DuckDB');
    assert.equal(duck.status, 'error');
    assert.equal(duck.detail, 'cannot open: OCB_MEMORY_LIMIT="lots": expected a size such as 4GiB or 6000MB');
    assert.match(duck.fix, /unset it for the default/);
    process.env.OCB_MEMORY_LIMIT = '1GiB';
    const set = (await cli('doctor', '--json', '--root', root)).json().checks.find((c: { name: string }) => c.name === 'DuckDB');
    assert.match(set.detail, /may use 1\.0 GiB of memory \(OCB_MEMORY_LIMIT=1GiB\)$/);

    // An email alone is not enough: git refuses to commit without a name too.
    await simpleGit(root).addConfig('user.name', '');
    const nameless = (await cli('doctor', '--json', '--root', root)).json().checks.find((c: { name: string }) => c.name === 'git');
    assert.equal(nameless.status, 'warning');
    assert.match(
      nameless.detail,
      /, but git has no name and email address to commit with: commits \(ingest --commit, web app, demo\) would fail$/,
    );

    // init's .gitattributes keeps the records byte for byte on any machine; without it, a Windows clone would convert them.
    const lineEndings = async () =>
      (await cli('doctor', '--json', '--root', root)).json().checks.find((c: { name: string }) => c.name === 'line endings');
    assert.equal((await lineEndings()).status, 'ok');
    await simpleGit(root).rm('.gitattributes'); // as a repository made before init wrote them (git reads the index's copy otherwise)
    const unsaid = await lineEndings();
    assert.equal(unsaid.status, 'warning');
    assert.match(
      unsaid.detail,
      /^git here keeps data\/ and periods\/ byte for byte, but \.gitattributes does not say it: a clone on Windows/,
    );
    assert.match(unsaid.fix, /^focus-billing init/);

    // A .gitattributes that normalises text would store and check out exports changed.
    await writeFile(join(root, '.gitattributes'), '* text=auto\n');
    const eol = (await cli('doctor', '--json', '--root', root)).json().checks.find((c: { name: string }) => c.name === 'line endings');
    assert.equal(eol.status, 'warning');
    assert.match(eol.detail, /\(\.gitattributes gives data\/ text=auto\): closed periods would read as changed$/);

    // A repository whose config.yaml predates a rule that is off unless set is told how to turn it on.
    const configPath = join(root, 'config.yaml');
    await writeFile(configPath, (await readFile(configPath, 'utf8')).replace(/^ {2}unknown_category: true.*\n/m, ''));
    const rules = (await cli('doctor', '--json', '--root', root)).json().checks.find((c: { name: string }) => c.name === 'flag rules');
    assert.equal(rules?.status, 'warning');
    assert.match(rules.detail, /^config\.yaml leaves flag_rules\.unknown_category off: a charge whose ChargeCategory FOCUS does not have/);
    assert.match(rules.fix, /^add `unknown_category: true` under flag_rules in config\.yaml/);
    await writeFile(configPath, (await readFile(configPath, 'utf8')).replace(/^ {2}conflicting_tags: true.*\n/m, ''));
    const both = (await cli('doctor', '--json', '--root', root)).json().checks.find((c: { name: string }) => c.name === 'flag rules');
    assert.match(
      both.detail,
      /; and flag_rules\.conflicting_tags off: a charge whose Tags give its PI, project or fund\/org under two keys/,
    );
    assert.match(both.fix, /^add `unknown_category: true` and `conflicting_tags: true` under flag_rules in config\.yaml/);
    // And of a reading newer than it: a ListCost of 0 taken as a list price of 0.
    const listed = async () =>
      (await cli('doctor', '--json', '--root', root)).json().checks.find((c: { name: string }) => c.name === 'list prices');
    assert.equal(await listed(), undefined, 'the sample config.yaml sets it, as the one init writes does');
    await writeFile(configPath, (await readFile(configPath, 'utf8')).replace(/^ {2}zero_list_cost: unknown.*\n/m, ''));
    const zero = await listed();
    assert.equal(zero?.status, 'warning');
    assert.match(zero.detail, /^config\.yaml leaves billing\.zero_list_cost unset, so a ListCost of 0 is a list price of 0/);
    assert.match(zero.fix, /^add `zero_list_cost: unknown` under billing in config\.yaml/);
  });

  it('warns of a character in a PI name that no font here has (fontconfig asked, as Chromium asks it), naming it and the fonts to install', async (t) => {
    const root = await scratchRepo(t);
    // Latin (é) is in every font; Greek and Han may not be, by machine.
    // Every character is asked about: 王芳 come after 69 others (the first 60 only were, once).
    const cyrillic = Array.from({ length: 64 }, (_, i) => String.fromCodePoint(0x410 + i)).join('');
    await writeFile(
      join(root, 'pis.yaml'),
      `- { email: a@x.edu, name: Zoé Ελένη }\n- { email: c@x.edu, name: ${cyrillic} }\n- { email: b@x.edu, name: 王芳 }\n`,
    );
    const fonts = (await cli('doctor', '--json', '--root', root)).json().checks.find((c: { name: string }) => c.name === 'fonts (PDFs)');
    const fcList = (args: string[]) => {
      try {
        return execFileSync('fc-list', args, { encoding: 'utf8' }).trim();
      } catch {
        return null;
      }
    };
    if (fcList(['--version']) === null) {
      assert.equal(fonts, undefined, 'nothing said without fontconfig');
      return;
    }
    const lacking = [...`Ελένη${cyrillic}王芳`].filter((c) => !fcList([`:charset=${(c.codePointAt(0) as number).toString(16)}`, 'family']));
    if (lacking.length === 0)
      assert.deepEqual(
        [fonts.status, fonts.detail],
        ['ok', 'every character of the PI and organization names has a font (71 beyond Latin)'],
      );
    else {
      assert.equal(fonts.status, 'warning');
      assert.equal(
        fonts.detail,
        `no font here has ${lacking.slice(0, 10).join(' ')}${lacking.length > 10 ? ` and ${lacking.length - 10} more` : ''}, from the PI or organization names: PDFs print them as empty boxes`,
      );
      assert.match(fonts.fix, lacking.some((c) => c >= '\u4e00') ? /apt-get install fonts-noto-cjk/ : /apt-get install fonts-noto-core/);
    }
    // build says so too, of the statements it printed: 王芳's (Ελένη has none).
    const csv = await writeCsv(root, 'aws.csv', [
      FOCUS_HEADER,
      focusRow(3, 'Usage', '12.00', 'i-1', tags({ pi_email: 'b@x.edu', project_id: 'p1', fund_org: '100100-1000' })),
    ]);
    assert.equal((await cli('ingest', csv, '--source', 'AWS', '--root', root)).code, 0);
    const built = await cli('build', '--json', '--root', root);
    assert.equal(built.code, 0, built.stderr);
    const han = lacking.filter((c) => c >= '\u4e00');
    assert.deepEqual(
      built.json().warnings.filter((w: string) => w.startsWith('no font here has')),
      han.length
        ? [
            `no font here has ${han.join(' ')}, from the statements’ names: PDFs print them as empty boxes; install fonts for them (Debian: apt-get install fonts-noto-cjk), then build again`,
          ]
        : [],
    );
  });

  it("reads fontconfig's charsets: code points and ranges, one font a line, in any order", () => {
    const covered = coveredRanges('20-7e a0-17f\n4e00\n\n180-1ff 4E01-4e02 30\n');
    const codePoints = [0x1f, 0x20, 0x7e, 0x7f, 0x9f, 0x17f, 0x180, 0x1ff, 0x200, 0x4dff, 0x4e00, 0x4e02, 0x4e03];
    assert.deepEqual(
      codePoints.filter((c) => covered(c)),
      [0x20, 0x7e, 0x17f, 0x180, 0x1ff, 0x4e00, 0x4e02],
    );
    assert.equal(coveredRanges('')(0x41), false);
  });

  it('checks Node.js against any range package.json engines may give', async () => {
    assert.deepEqual(await nodeCheck('18.20.4', '>=20.19'), {
      name: 'Node.js',
      status: 'error',
      detail: '18.20.4, but >=20.19 is needed',
      fix: 'install a Node.js version in >=20.19 (the oldest is 20.19.0): https://nodejs.org',
    });
    assert.equal((await nodeCheck('20.20.2', '>=20.19')).status, 'ok');
    const range = '^20.19 || >=22.12';
    const statuses = [];
    for (const v of ['20.18.3', '20.19.0', '21.7.0', '22.11.0', '22.12.0', '24.1.0']) statuses.push((await nodeCheck(v, range)).status);
    assert.deepEqual(statuses, ['error', 'ok', 'error', 'error', 'ok', 'ok']);
  });

  it('says what blocks a broken repository, with the fix, and exits 1', async (t) => {
    const root = await scratchRepo(t);
    await writeFile(join(root, 'config.yaml'), 'organization:\n  nmae: Typo University\n');
    const prev = process.env.STATEMENT_LINK_SECRET;
    process.env.STATEMENT_LINK_SECRET = 'short';
    t.after(() => {
      if (prev === undefined) delete process.env.STATEMENT_LINK_SECRET;
      else process.env.STATEMENT_LINK_SECRET = prev;
    });
    await mkdir(join(root, '.cache'), { recursive: true });
    await chmod(join(root, '.cache'), 0o500);
    t.after(() => chmod(join(root, '.cache'), 0o700).catch(() => {}));
    const r = await cli('doctor', '--root', root);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^error +billing repository +config\.yaml:2:3: .*nmae/m);
    assert.match(
      r.stdout,
      /^error +link secret +STATEMENT_LINK_SECRET is too weak: it has 5 characters; at least 32 are needed\n +fix: make one with `openssl rand -base64 32`/m,
    );
    assert.match(r.stdout, /Something blocks focus-billing: fix the errors above\./);
    if (process.getuid?.() !== 0) assert.match(r.stdout, /^error +\.cache\/ +\S+ cannot be written: EACCES/m);
    // Outside any billing repository: a warning with the command that makes one.
    const empty = await scratch(t);
    const outside = await cli('doctor', '--json', '--root', empty);
    const repo = outside.json().checks.find((c: { name: string }) => c.name === 'billing repository');
    assert.equal(repo.status, 'warning');
    assert.match(repo.fix, /^focus-billing init /);
  });
});

describe('a statement across two pages', () => {
  it('prints its total row once, at the end', async (t) => {
    const root = await scratchRepo(t);
    const HEADER = FOCUS_HEADER;
    const rows = Array.from({ length: 90 }, (_, i) => [
      '2025-06-01',
      `2025-06-${String((i % 28) + 1).padStart(2, '0')}`,
      'Usage',
      '1.10',
      '1.10',
      'Compute',
      `vm-${String(i).padStart(3, '0')}`,
      tags({ pi_email: 'long@x.edu', project_id: 'many', fund_org: '100100-1000' }),
    ]);
    const file = await writeCsv(root, 'aws.csv', [HEADER, ...rows]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', root)).code, 0);
    const built = await cli('build', '--out', join(root, 'dist'), '--date', '2025-07-01', '--root', root);
    assert.equal(built.code, 0, built.stderr);
    const pdfDir = join(root, 'dist', 'periods', '2025-06', 'pdf');
    const pdf = join(pdfDir, readdirSync(pdfDir)[0] as string);
    const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [pdf], { encoding: 'utf8' }))?.[1]);
    assert.ok(pages >= 2, `${pages} pages`);
    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    assert.equal(text.match(/Total \(90 charges\)/g)?.length, 1);
    // After the last charge, on the last page.
    assert.ok(text.lastIndexOf('Total (90 charges)') > text.lastIndexOf('vm-089'));
    assert.match(
      text
        .split('\f')
        .filter((p) => p.trim())
        .at(-1) as string,
      /Total \(90 charges\) +\$99\.00 +\$0\.00 +\$99\.00/,
    );
    // The header row repeats on the page the table continues on.
    assert.ok((text.match(/Date +Resource +Service/g)?.length ?? 0) >= 2);
  });
});
