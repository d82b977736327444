/** The real `focus-billing` binary in a child process: the quick start a user types. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { buildBundle, compiledCli } from '../bin/cli-bundle.mjs';
import { makeRepo, PROJECT, removeDir, SAMPLE, SOURCE_CLI, tempDir } from './helpers.ts';

const run = promisify(execFile);
const BIN = join(PROJECT, 'bin', 'focus-billing.mjs');
let repo: string;

async function focusBilling(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return focusBillingWith({}, ...args);
}

async function focusBillingWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...SOURCE_CLI, ...args], {
      cwd: repo,
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

before(async () => {
  repo = await makeRepo();
  await cp(SAMPLE, join(repo, 'sample_data'), { recursive: true });
});
after(() => removeDir(repo));

describe('focus-billing (child process)', () => {
  it('runs the quick start: ingest, ingest, periods list, generate --dry-run', async () => {
    const aws = await focusBilling('ingest', 'sample_data/aws_2025-01.csv', '--source', 'AWS');
    assert.equal(aws.code, 0, aws.stderr);
    assert.match(
      aws.stdout,
      /^Ingested sample_data\/aws_2025-01\.csv as AWS for 2025-01 → data\/2025-01\/aws\.csv\n {2}rows {6}1,212\n {2}billed {4}\$29,395\.97 USD/,
    );
    const hpc = await focusBilling('ingest', 'sample_data/hpc_2025-01.csv', '--source', 'HPC');
    assert.equal(hpc.code, 0, hpc.stderr);
    const list = await focusBilling('periods', 'list');
    assert.equal(list.code, 0, list.stderr);
    // Sources by their names in config.yaml, as the site shows them (the slugs are in --json).
    assert.match(list.stdout, /2025-01\s+open\s+AWS, HPC\s+1,756\s+\$43,577\.55 USD\s+\$31,493\.02 USD\s+10\s+0\s+0/);
    const show = await focusBilling('periods', 'show', '2025-01');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^AWS {5}data\/2025-01\/aws\.csv {2}1,212 {2}\$35,947\.52 USD/m);
    // What review holds back, by source: all of the 116.96111 excluded below is AWS's; HPC's cell is empty.
    const held = [...show.stdout.matchAll(/^(AWS|HPC) .* USD {2}(\$[\d,.]+) USD$/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(held, [['AWS', '$116.96']]);
    assert.match(show.stdout, /^HPC .* USD$/m);
    // The reconciliation exact, grouped, with at least the cents, and its points in one column.
    const reconciliation = show.stdout.slice(show.stdout.indexOf('Reconciliation (USD)')).split('\n').slice(3, 8);
    assert.deepEqual(
      reconciliation.map((line) => line.slice(0, 24).trim()),
      ['Input total', 'On statements', 'Excluded, pending review', 'Excluded, rejected', 'Rounding residue'],
    );
    assert.match(reconciliation[2] as string, /Excluded, pending review\s+\d{1,3}(,\d{3})*\.\d{2,}/);
    assert.equal(new Set(reconciliation.map((line) => line.indexOf('.'))).size, 1, reconciliation.join('\n'));
    // This month's residue is negative: subtracted, not added as "+ -0.02…".
    assert.match(show.stdout, /input = statements \+ excluded \+ residue: 31,493\.0191166748 = 31,376\.08 \+ 116\.96111 - 0\.0219933252\n/);
    // Nothing lost in charges either: the 10 held for review, and every other one on a statement.
    assert.match(show.stdout, /\ncharges: 1,756 = 1,746 \+ 10 \+ 0\n/);
    assert.match(reconciliation[0] as string, /^Input total .* 1,756$/);
    assert.match(reconciliation[2] as string, /^Excluded, pending review .* 10$/);
    const gen = await focusBilling('generate', '--period', '2025-01', '--dry-run');
    assert.equal(gen.code, 0, gen.stderr);
    assert.match(gen.stdout, /^\d+ statements for 2025-01/);
    assert.match(gen.stdout, /a\.rivera@example\.edu\s+cell-imaging\s+100100-1011/);
  });

  it('prints help for every command and exits 2 on a usage error', async () => {
    const { buildProgram } = await import('../src/cli/main.ts');
    const io = { out: () => {}, err: () => {}, progress: () => {} };
    const commands = buildProgram(io).commands.flatMap((c) =>
      c.commands.length ? c.commands.map((s) => [c.name(), s.name()]) : [[c.name()]],
    );
    assert.ok(commands.length >= 15, commands.join(' '));
    for (const words of commands) {
      const help = await focusBilling(...words, '--help');
      assert.equal(help.code, 0, `${words.join(' ')}: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`^Usage: focus-billing ${words.join(' ')} `), words.join(' '));
      if (words.length > 1 || !['review', 'periods'].includes(words[0] as string))
        assert.match(help.stdout, /--root <dir>|\[dir\]/, `${words.join(' ')} takes --root`);
    }
    const ingest = await focusBilling('ingest', '--help');
    assert.match(ingest.stdout, /--replace\s+replace a different export/);
    const bad = await focusBilling('ingest', 'x.csv');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /required option '--source <name>' not specified/);
  });

  it('prints --json errors on stdout for scripts, and never a stack trace', async () => {
    const r = await focusBilling('periods', 'show', '2031-01', '--json');
    assert.equal(r.code, 2);
    assert.deepEqual(JSON.parse(r.stdout), { error: 'no data for period 2031-01', hint: 'periods with data: 2025-01', exit_code: 2 });
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('init creates a billing repository, and a second init changes nothing', async () => {
    const dir = join(await tempDir(), 'billing');
    const first = await focusBilling('init', dir, '--json');
    assert.equal(first.code, 0, first.stderr);
    const made = JSON.parse(first.stdout);
    assert.equal(made.git_init, true);
    assert.ok(made.created.includes('config.yaml') && made.created.includes('.gitignore'), first.stdout);
    assert.match(
      await readFile(join(dir, '.gitattributes'), 'utf8'),
      /^data\/\*\* -text\nperiods\/\*\* -text\n$/m,
      'no line-ending conversion',
    );
    assert.match(await readFile(join(dir, 'config.yaml'), 'utf8'), /^# /m, 'commented defaults');
    assert.match(await readFile(join(dir, '.gitignore'), 'utf8'), /^\.cache\/$/m);
    assert.ok((await stat(join(dir, '.git'))).isDirectory());
    for (const d of ['data', 'periods']) assert.ok((await stat(join(dir, d))).isDirectory());
    const again = JSON.parse((await focusBilling('init', dir, '--json')).stdout);
    assert.deepEqual([again.created, again.git_init], [[], false]);
    const list = await focusBilling('periods', 'list', '--root', dir);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /No periods yet/);
    await removeDir(dirname(dir));
  });

  it('refuses a folder the file system will not make, where Node alone would spin forever', async (t) => {
    // procfs answers ENOENT for a new child of a folder that exists; Node's recursive mkdir
    // retried that without end. The child is killed after 60 s, far beyond the ~1 s it takes.
    if (!(await stat('/proc/self').catch(() => null))) return t.skip('no /proc here');
    const made = await run(process.execPath, [...SOURCE_CLI, 'init', '/proc/self/billing/a', '--json'], { timeout: 60_000 }).then(
      () => ({ code: 0, stdout: '', signal: null }),
      (e) => e as { code: number; stdout: string; signal: string | null },
    );
    assert.equal(made.signal, null, 'init was killed: it did not return');
    assert.equal(made.code, 2);
    assert.match(JSON.parse(made.stdout).error, /^cannot mkdir \/proc\/self\/billing: no such file or folder$/);
  });

  it("orders statements and hashes a closed period alike whatever the machine's locale", async (t) => {
    // Czech sorts "ch" after "h", Danish "aa" after "z" and capitals first, Lithuanian "y" before "j".
    const own = await makeRepo();
    t.after(() => removeDir(own));
    const rows = ['chen@x.edu', 'd.smith@x.edu', 'aaberg@x.edu', 'z.young@x.edu', 'iyer@x.edu', 'j.ode@x.edu'].map((pi, i) =>
      ['2025-01-01', `${i + 1}.00`, JSON.stringify({ pi_email: pi, project_id: i % 2 ? 'Atlas' : 'hydro', fund_org: '100100-1011' })]
        .map((v) => `"${v.replace(/"/g, '""')}"`)
        .join(','),
    );
    await writeFile(join(own, 'x.csv'), ['BillingPeriodStart,BilledCost,Tags', ...rows, ''].join('\n'));
    const inLocale = async (locale: string, ...args: string[]) => {
      const r = await run(process.execPath, [...SOURCE_CLI, ...args, '--root', own], {
        env: { ...process.env, LC_ALL: locale, LANG: locale },
      }).then(
        (x) => ({ code: 0, ...x }),
        (e) => e as { code: number; stdout: string; stderr: string },
      );
      return r;
    };
    assert.equal((await inLocale('C.UTF-8', 'ingest', join(own, 'x.csv'), '--source', 'AWS')).code, 0);
    const order = async (locale: string) =>
      (
        JSON.parse((await inLocale(locale, 'generate', '--period', '2025-01', '--dry-run', '--json')).stdout).statements as {
          pi_email: string;
        }[]
      ).map((s) => s.pi_email);
    const expected = ['aaberg@x.edu', 'chen@x.edu', 'd.smith@x.edu', 'iyer@x.edu', 'j.ode@x.edu', 'z.young@x.edu'];
    for (const locale of ['C.UTF-8', 'cs_CZ.UTF-8', 'da_DK.UTF-8', 'lt_LT.UTF-8']) assert.deepEqual(await order(locale), expected, locale);
    // Closed on one machine, validated on another: the frozen hashes agree.
    const closed = await inLocale('C.UTF-8', 'periods', 'close', '2025-01', '--by', 'office@x.edu');
    assert.equal(closed.code, 0, closed.stderr);
    for (const locale of ['cs_CZ.UTF-8', 'da_DK.UTF-8', 'lt_LT.UTF-8']) {
      const v = await inLocale(locale, 'validate');
      assert.equal(v.code, 0, `${locale}: ${v.stderr}`);
    }
  });

  it('stops quietly when its reader closes the pipe early', async () => {
    // Like `focus-billing generate … --json | head -c 10`: 130 kB of JSON for a reader that leaves.
    const script = '"$0" "$1" "$2" "$3" generate --period 2025-01 --dry-run --json | head -c 10 > /dev/null; echo "exit $PIPESTATUS"';
    const { stdout, stderr } = await run('bash', ['-c', script, process.execPath, ...SOURCE_CLI], { cwd: repo });
    assert.equal(stderr, '');
    assert.equal(stdout.trim(), 'exit 0');
  });

  it('runs the compiled CLI from bin/, the code `npm ci` built from these sources', async () => {
    if (compiledCli().problem) await buildBundle(); // npm ci builds it; a run after editing the sources may not have
    const { stdout } = await run(process.execPath, [BIN, 'periods', 'show', '2025-01', '--json'], { cwd: repo });
    assert.equal(JSON.parse(stdout).period, '2025-01');
    assert.match(compiledCli().url as string, /\/build\/cli\/bin\.js$/);
  });
});

describe('the compiled CLI', () => {
  it('is run only while every source file it was built from is unchanged, and refused otherwise', async () => {
    const root = await tempDir();
    const source = join(root, 'src', 'a.ts');
    await mkdir(dirname(source), { recursive: true });
    await writeFile(source, 'export const a = 1;\n');
    assert.match(compiledCli(root).problem ?? '', /the compiled CLI is missing/);
    const s = await stat(source);
    await mkdir(join(root, 'build', 'cli'), { recursive: true });
    await writeFile(
      join(root, 'build', 'cli', 'manifest.json'),
      JSON.stringify({ entry: 'bin.js', outputs: ['bin.js'], inputs: { 'src/a.ts': [s.size, s.mtimeMs] } }),
    );
    assert.equal(compiledCli(root).problem, 'the compiled CLI is incomplete (bin.js is missing)');
    await writeFile(join(root, 'build', 'cli', 'bin.js'), 'process.exitCode = 0;\n');
    assert.equal(compiledCli(root).url, pathToFileURL(join(root, 'build', 'cli', 'bin.js')).href);
    await writeFile(source, 'export const a = 2;\n'); // same size, new content and mtime
    await utimes(source, s.atime, new Date(s.mtimeMs + 1000));
    assert.equal(compiledCli(root).problem, 'src/a.ts changed after the CLI was compiled');
    await rm(source);
    assert.equal(compiledCli(root).problem, 'the compiled CLI was built from src/a.ts, which is gone');
    await removeDir(root);
  });

  it('says how to rebuild it instead of running anything else', async () => {
    // A copy of bin/ beside a build that does not match its sources.
    const root = await tempDir();
    await cp(join(PROJECT, 'bin'), join(root, 'bin'), { recursive: true });
    const r = await run(process.execPath, [join(root, 'bin', 'focus-billing.mjs'), '--version'], { cwd: root }).catch((e) => e);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: the compiled CLI is missing \(build\/cli\/\)\n {2}hint: run `npm run build:cli` in \. \(npm ci does it too\)/,
    );
    await removeDir(root);
  });
});
