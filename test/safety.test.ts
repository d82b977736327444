/**
 * Nothing deleted, nothing billed twice, no lost writes: `build --out` replaces only a site it
 * built, one export per source and period, and one writer at a time. Each case reproduces a
 * finding of the hostile-input report against the real CLI and real git repositories.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { simpleGit } from 'simple-git';
import { parse } from 'yaml';
import { layout } from '../src/repo/layout.ts';
import { withRepositoryLock } from '../src/repo/lock.ts';
import { commitWrites } from '../src/repo/write.ts';
import { cli, SAMPLE, SOURCE_CLI, scratch, scratchRepo, snapshot, tags, writeCsv } from './helpers.ts';

const HEADER = ['BillingPeriodStart', 'ChargePeriodStart', 'BilledCost', 'ListCost', 'ServiceName', 'ResourceId', 'Tags'];
const T = tags({ pi_email: 'a@x.edu', project_id: 'p1', fund_org: '100100-1000' });

/** Runs the CLI from its sources in a child process (several at once, for the concurrency cases). */
function child(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...SOURCE_CLI, ...args], { env: { ...process.env, ...env } }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('build --out', () => {
  it('refuses the repository, what holds it, and anything inside data/, periods/ or .git/, touching nothing', async (t) => {
    const parent = await scratch(t);
    const repo = join(parent, 'billing');
    await mkdir(repo);
    assert.equal((await cli('init', repo)).code, 0);
    assert.equal((await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', repo)).code, 0);
    await writeFile(join(parent, 'precious.txt'), 'keep me\n');
    const before = await snapshot(parent, ['.']);
    for (const [out, why] of [
      ['data', /lies inside data\//],
      ['periods', /lies inside periods\//],
      ['data/2025-01/site', /lies inside data\//],
      ['.git', /lies inside \.git\//],
      ['config.yaml', /is the repository's config\.yaml/],
      ['.', /is the billing repository itself/],
      ['..', /holds the billing repository/],
      [parent, /holds the billing repository/],
    ] as const) {
      const r = await cli('build', '--no-pdf', '--out', out, '--root', repo);
      assert.equal(r.code, 2, `--out ${out}: ${r.stderr}`);
      assert.match(r.stderr, why, out);
      assert.match(r.stderr, /nothing was written/);
    }
    assert.deepEqual(await snapshot(parent, ['.']), before, 'every file as it was');
  });

  it('replaces only a folder it built (marked) or an empty one', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', repo)).code, 0);
    // A folder of someone else's files is refused, and kept.
    await mkdir(join(repo, 'reports'));
    await writeFile(join(repo, 'reports', 'q3.xlsx'), 'figures');
    const refused = await cli('build', '--no-pdf', '--out', 'reports', '--root', repo);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /reports: is a folder this tool did not build \(it has no \.openchargeback-site marker\), and it is not empty/,
    );
    assert.equal(readFileSync(join(repo, 'reports', 'q3.xlsx'), 'utf8'), 'figures');
    // An empty folder, then the site it built, are replaced.
    await mkdir(join(repo, 'site'));
    assert.equal((await cli('build', '--no-pdf', '--out', 'site', '--root', repo, '--date', '2025-02-01')).code, 0);
    assert.ok(existsSync(join(repo, 'site', '.openchargeback-site')));
    assert.equal((await cli('build', '--no-pdf', '--out', 'site', '--root', repo, '--date', '2025-02-01')).code, 0);
    assert.ok(existsSync(join(repo, 'site', 'index.html')));
    assert.deepEqual(
      readdirSync(repo).filter((n) => n.startsWith('.site')),
      [],
      'no staging or old copies left beside it',
    );
  });
});

describe('other outputs', () => {
  it('never write into data/, periods/ or .git/, nor over config.yaml', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', repo)).code, 0);
    const before = await snapshot(repo, ['data', 'periods', '.git']);
    const config = await readFile(join(repo, 'config.yaml'), 'utf8');
    for (const args of [
      ['journal', '--period', '2025-01', '--out', join(repo, 'config.yaml')],
      ['journal', '--period', '2025-01', '--out', join(repo, 'data/2025-01/storage.csv')],
      ['generate', '--period', '2025-01', '--out', 'periods'],
      ['pr-summary', '--base', 'HEAD', '--out', join(repo, '.git/config')],
      ['email', '--period', '2025-01', '--base-url', 'https://x.edu/', '--out', 'data'],
    ]) {
      const r = await cli(...args, '--root', repo);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /--out .*: (is the repository's config\.yaml|lies inside (data|periods|\.git)\/, which holds the repository's records); nothing was written/,
      );
    }
    assert.deepEqual(await snapshot(repo, ['data', 'periods', '.git']), before);
    assert.equal(await readFile(join(repo, 'config.yaml'), 'utf8'), config);
  });

  it('take only a month as --period: review, email and the rest name no folder outside periods/', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', repo)).code, 0);
    // A flags.yaml outside periods/, where periods/../decoy would lead.
    const outside = join(repo, 'decoy');
    await mkdir(outside, { recursive: true });
    const decoy = await readFile(join(repo, 'periods', '2025-01', 'flags.yaml'), 'utf8');
    await writeFile(join(outside, 'flags.yaml'), decoy);
    const before = await snapshot(repo, ['data', 'periods', '.git']);
    const id = (parse(decoy) as { flags: { id: string }[] }).flags[0]?.id as string;
    for (const period of ['../decoy', '2025-13']) {
      for (const args of [
        ['review', 'list'],
        ['review', 'approve', id],
        ['review', 'reject', id, '--note', 'no'],
        ['review', 'assign', id, '--pi', 'a@x.edu', '--project', 'p', '--fund-org', '100100-1000'],
        ['email', '--base-url', 'https://x.edu/'],
      ]) {
        const r = await cli(...args, '--period', period, '--root', repo);
        assert.equal(r.code, 2, `${args.join(' ')} --period ${period}: ${r.stderr}`);
        assert.equal(r.stderr, `error: --period "${period}": expected a month as YYYY-MM between 1900 and 2199, such as 2025-01\n`);
      }
    }
    assert.equal(await readFile(join(outside, 'flags.yaml'), 'utf8'), decoy);
    assert.deepEqual(await snapshot(repo, ['data', 'periods', '.git']), before);
    // And whatever reaches the repository's layout unchecked.
    assert.throws(() => layout.flagsFile(repo, '../decoy'), /period "\.\.\/decoy": expected a month as YYYY-MM/);
  });

  it('refuse a folder where a file is written, naming the option rather than a temporary file', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', repo)).code, 0);
    const folder = await scratch(t);
    await writeFile(join(folder, 'mine.txt'), 'kept');
    for (const args of [
      ['journal', '--period', '2025-01'],
      ['pr-summary', '--base', 'HEAD'],
      ['preview', 'statement', '--period', '2025-01'],
    ]) {
      const r = await cli(...args, '--out', folder, '--root', repo);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /^error: --out \S+: is a folder, where a file is written; nothing was written\n {2}hint: name the file to write/,
      );
    }
    assert.deepEqual(await readdir(folder), ['mine.txt']);
  });

  it('take --out - as standard output, never a file or folder called -', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', repo)).code, 0);
    for (const args of [
      ['journal', '--period', '2025-01'],
      ['journal', '--period', '2025-01', '--format', 'detail'],
      ['pr-summary', '--base', 'HEAD'],
      ['preview', 'statement', '--period', '2025-01'],
    ]) {
      const plain = await cli(...args, '--root', repo);
      const dash = await cli(...args, '--out', '-', '--root', repo);
      assert.equal(plain.code, 0, `${args.join(' ')}: ${plain.stderr}`);
      assert.equal(dash.code, 0, `${args.join(' ')} --out -: ${dash.stderr}`);
      assert.ok(dash.stdout.length > 100, args.join(' '));
      assert.equal(dash.stdout, plain.stdout, `${args.join(' ')} --out -`);
    }
    for (const args of [
      ['generate', '--period', '2025-01'],
      ['email', '--period', '2025-01', '--base-url', 'https://x.edu/'],
      ['build', '--no-pdf'],
    ]) {
      const r = await cli(...args, '--out', '-', '--root', repo);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^error: --out -: this command writes a folder of files, which standard output cannot take\n/);
    }
    for (const dir of [repo, process.cwd()]) assert.equal(existsSync(join(dir, '-')), false, dir);
  });

  it('quote a file name holding a line break in messages and the commit, where it passed for a line of its own', async (t) => {
    const repo = await scratchRepo(t);
    const dir = await scratch(t);
    const file = join(dir, 'storage\n## Approved by the CFO.csv');
    await writeFile(file, await readFile(join(SAMPLE, 'storage_2025-01.csv')));
    const r = await cli('ingest', file, '--source', 'Storage', '--commit', '--root', repo);
    assert.equal(r.code, 0, r.stderr);
    const quoted = JSON.stringify(file);
    assert.equal(r.stdout.split('\n')[0], `Ingested ${quoted} as Storage for 2025-01 → data/2025-01/storage.csv`);
    const body = await simpleGit(repo).raw('log', '-1', '--format=%B', 'ingest/2025-01-storage');
    assert.ok(body.split('\n').includes(`File: ${quoted} → data/2025-01/storage.csv`), body);
    assert.doesNotMatch(body, /^## /m);
    await writeFile(
      join(repo, 'rates.yaml'),
      'currency: USD\nrates:\n  - { id: s, service: S, unit: tb-month, list_price: "1.00", effective_from: 2025-01-01 }\n',
    );
    const converted = await cli('convert', 'usage', file, '--out', join(dir, 'out.csv'), '--root', repo);
    assert.equal(converted.code, 2);
    assert.ok(converted.stderr.startsWith(`error: ${quoted}:1: expected the columns`), converted.stderr);
    // A command to paste names its folder as a shell takes it back.
    const spaced = await cli('init', join(dir, "lab's billing"));
    assert.equal(spaced.code, 0, spaced.stderr);
    assert.ok(spaced.stdout.endsWith(`--root '${join(dir, "lab'\\''s billing")}'\n`), spaced.stdout);
  });
});

describe('one export per source and period', () => {
  it('refuses an export stored twice (two merged branches) in validate, generate, build, journal, email and periods close', async (t) => {
    const repo = await scratchRepo(t);
    const git = simpleGit(repo);
    const dir = await scratch(t);
    const csv = join(SAMPLE, 'storage_2025-01.csv');
    const gz = join(dir, 'storage_2025-01.csv.gz');
    await writeFile(gz, gzipSync(await readFile(csv)));
    await git.checkoutLocalBranch('a');
    assert.equal((await cli('ingest', csv, '--source', 'Storage', '--root', repo)).code, 0);
    await git.add('.').commit('a');
    await git.checkout('main');
    await git.checkoutLocalBranch('b');
    assert.equal((await cli('ingest', gz, '--source', 'Storage', '--root', repo)).code, 0);
    await git.add('.').commit('b');
    await git.checkout('main');
    await git.merge(['a']);
    await git.merge(['b', '-m', 'merge']);
    assert.deepEqual(readdirSync(join(repo, 'data', '2025-01')).sort(), ['storage.csv', 'storage.csv.gz']);

    const both =
      /data\/2025-01\/storage\.csv and data\/2025-01\/storage\.csv\.gz: two stored files of one export \(source storage\); the export would be billed twice/;
    const validate = await cli('validate', '--root', repo);
    assert.equal(validate.code, 1);
    assert.match(validate.stderr, both);
    for (const args of [
      ['generate', '--period', '2025-01', '--dry-run'],
      ['build', '--no-pdf'],
      ['journal', '--period', '2025-01'],
      ['email', '--period', '2025-01', '--base-url', 'https://rc.example.edu/'],
      ['periods', 'close', '2025-01'],
    ]) {
      const r = await cli(...args, '--root', repo);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, both, args.join(' '));
    }
    assert.ok(!existsSync(join(repo, 'periods', '2025-01', 'period.yaml')), 'not closed');
  });

  it('refuses a whole export beside parts of one, and a missing part', async (t) => {
    const repo = await scratchRepo(t);
    await mkdir(join(repo, 'data', '2025-01'), { recursive: true });
    const csv = await readFile(join(SAMPLE, 'storage_2025-01.csv'));
    await writeFile(join(repo, 'data', '2025-01', 'storage.csv'), csv);
    await writeFile(join(repo, 'data', '2025-01', 'storage.part-001.csv'), csv);
    const r = await cli('generate', '--period', '2025-01', '--dry-run', '--root', repo);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /storage\.csv and data\/2025-01\/storage\.part-001\.csv: a whole export beside parts of one/);
    await writeFile(join(repo, 'data', '2025-01', 'storage.part-003.csv'), csv);
    await rm(join(repo, 'data', '2025-01', 'storage.csv'));
    const gap = await cli('generate', '--period', '2025-01', '--dry-run', '--root', repo);
    assert.equal(gap.code, 1);
    assert.match(gap.stderr, /part 2 missing \(source storage\); the export would be billed in part/);
  });

  it('names every file under data/ and periods/ that no command reads, and records misnamed: an export or a record is an error, anything else a warning', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', repo)).code, 0);
    const csv = await readFile(join(SAMPLE, 'storage_2025-01.csv'));
    const put = async (path: string, bytes: Buffer | string = csv) => {
      await mkdir(join(repo, path, '..'), { recursive: true });
      await writeFile(join(repo, path), bytes);
    };
    // Hidden files are no one's business.
    for (const hidden of ['data/.DS_Store', 'data/2025-01/.DS_Store', 'data/2025-1/.gitkeep', 'data/January/.git/x.csv'])
      await put(hidden, 'x');
    assert.equal((await cli('validate', '--root', repo)).code, 0);
    await put('data/2025-1/storage.csv'); // a mistyped month
    await put('data/January/raw/Storage_jan.CSV');
    await put('data/storage.csv.gz', gzipSync(csv));
    await put('data/README.md', '# exports\n');
    await put('data/2025-01/hpc.csv.bak', 'x');
    await put('data/2025-01/old/hpc.csv');
    const r = await cli('validate', '--root', repo, '--json');
    assert.equal(r.code, 1);
    const found = (r.json().findings as { level: string; file: string; message: string }[])
      .filter((f) => f.file?.startsWith('data/'))
      .map((f) => [f.level, f.file, f.message]);
    assert.deepEqual(found, [
      ['warning', 'data/2025-01/hpc.csv.bak', 'not read, as no stored export is named so (<source>.csv, .csv.gz or .parquet)'],
      ['warning', 'data/2025-01/old/', "not read, as a month's folder holds its exports alone"],
      ['error', 'data/2025-1/storage.csv', "not read, as data/2025-1/ is no month's folder (YYYY-MM): its charges are on no statement"],
      [
        'error',
        'data/January/raw/Storage_jan.CSV',
        "not read, as data/January/ is no month's folder (YYYY-MM): its charges are on no statement",
      ],
      ['warning', 'data/README.md', 'not read, as exports are stored in a folder of their month, data/<YYYY-MM>/'],
      [
        'error',
        'data/storage.csv.gz',
        'not read, as exports are stored in a folder of their month, data/<YYYY-MM>/: its charges are on no statement',
      ],
    ]);
    // Records under periods/ and at the top under names the tool does not read, or out of a month's folder.
    for (const f of ['data/2025-1/storage.csv', 'data/January/raw/Storage_jan.CSV', 'data/storage.csv.gz', 'data/README.md'])
      await rm(join(repo, f));
    await rm(join(repo, 'data/2025-01/old'), { recursive: true });
    await put('periods/2025-01/adjustments.yml', 'adjustments: []\n');
    await put('periods/2025-01/Notes.mdx', 'A note\n');
    await put('periods/2025-01/todo.txt', 'x');
    await put('periods/2025-1/flags.yaml', 'version: 1\n');
    await put('periods/.gitkeep', '');
    await put('Credits.yaml', 'programs: []\n');
    await put('README.md', '# billing\n');
    const p = await cli('validate', '--root', repo, '--json');
    assert.equal(p.code, 1);
    const records = (p.json().findings as { level: string; file: string; message: string }[])
      .filter((f) => !f.file?.startsWith('data/') && f.message.startsWith('not read'))
      .map((f) => [f.level, f.file, f.message]);
    assert.deepEqual(records, [
      ['error', 'periods/2025-01/adjustments.yml', 'not read, as the tool reads adjustments.yaml: what it holds is not applied'],
      [
        'error',
        'periods/2025-01/Notes.mdx',
        'not read, as the tool reads notes.mdx (a disk that ignores case, as macOS and Windows have, reads it; Linux and CI do not): what it holds is not applied',
      ],
      ['warning', 'periods/2025-01/todo.txt', 'not read, as the tool reads no file of that name'],
      ['error', 'periods/2025-1/flags.yaml', "not read, as periods/2025-1/ is no month's folder (YYYY-MM): what it holds is not applied"],
      [
        'error',
        'Credits.yaml',
        'not read, as the tool reads credits.yaml (a disk that ignores case, as macOS and Windows have, reads it; Linux and CI do not): what it holds is not applied',
      ],
    ]);
    assert.equal(
      (p.json().findings as { file: string; hint: string }[]).find((f) => f.file === 'periods/2025-01/adjustments.yml')?.hint,
      'rename it: git mv periods/2025-01/adjustments.yml periods/2025-01/adjustments.yaml',
    );
    // An export copied into its month under a name in capitals is refused where it is, not left unread.
    await put('data/2025-01/STORAGE.CSV');
    const caps = await cli('generate', '--period', '2025-01', '--dry-run', '--root', repo);
    assert.equal(caps.code, 1);
    assert.match(caps.stderr, /^error: data\/2025-01\/STORAGE\.CSV is not a data file name the tool gives/m);
  });

  it('lets only one of two simultaneous ingests of one source and period store it', async (t) => {
    const repo = await scratchRepo(t);
    const dir = await scratch(t);
    const csv = join(SAMPLE, 'aws_2025-01.csv');
    const gz = join(dir, 'aws_2025-01.csv.gz');
    await writeFile(gz, gzipSync(await readFile(csv)));
    const results = await Promise.all([
      child(['ingest', csv, '--source', 'AWS', '--root', repo]),
      child(['ingest', gz, '--source', 'AWS', '--root', repo]),
    ]);
    assert.deepEqual(results.map((r) => r.code).sort(), [0, 2], results.map((r) => r.stderr).join('\n'));
    assert.match(results.find((r) => r.code === 2)?.stderr ?? '', /already holds a different AWS export for 2025-01/);
    assert.equal(readdirSync(join(repo, 'data', '2025-01')).filter((n) => n.startsWith('aws')).length, 1);
  });
});

describe('one writer at a time', () => {
  it('keeps all of four simultaneous review decisions on a 20,000-flag file', async (t) => {
    const repo = await scratchRepo(t);
    const rows = Array.from({ length: 20_000 }, (_, i) => [
      '2025-01-01',
      '2025-01-05',
      `1.${String(i % 100).padStart(2, '0')}`,
      '2',
      'EC2',
      `r-${i}`,
      '',
    ]);
    const file = await writeCsv(await scratch(t), 'untagged.csv', [HEADER, ...rows]);
    assert.equal((await cli('ingest', file, '--source', 'AWS', '--root', repo)).code, 0);
    const flags = parse(await readFile(join(repo, 'periods/2025-01/flags.yaml'), 'utf8')).flags as { id: string }[];
    const ids = flags.slice(0, 4).map((f) => f.id);
    const results = await Promise.all(
      ids.map((id) => child(['review', 'reject', id, '--note', 'concurrent', '--root', repo], { OCB_LOCK_WAIT_MS: '60000' })),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const after = parse(await readFile(join(repo, 'periods/2025-01/flags.yaml'), 'utf8')).flags as { id: string; status: string }[];
    assert.deepEqual(
      after
        .filter((f) => f.status === 'rejected')
        .map((f) => f.id)
        .sort(),
      [...ids].sort(),
    );
  });

  it('keeps both a review and an ingest of another source running at once', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', repo)).code, 0);
    const [first] = parse(await readFile(join(repo, 'periods/2025-01/flags.yaml'), 'utf8')).flags as { id: string }[];
    const [review, ingest] = await Promise.all([
      child(['review', 'reject', first?.id as string, '--note', 'not ours', '--root', repo], { OCB_LOCK_WAIT_MS: '60000' }),
      child(['ingest', join(SAMPLE, 'azure_2025-01.csv'), '--source', 'Azure', '--root', repo], { OCB_LOCK_WAIT_MS: '60000' }),
    ]);
    assert.equal(review.code, 0, review.stderr);
    assert.equal(ingest.code, 0, ingest.stderr);
    const flags = parse(await readFile(join(repo, 'periods/2025-01/flags.yaml'), 'utf8')).flags as {
      id: string;
      status: string;
      source: string;
    }[];
    assert.equal(flags.find((f) => f.id === first?.id)?.status, 'rejected');
    assert.equal(flags.filter((f) => f.source === 'azure').length, 2);
    assert.equal((await cli('validate', '--root', repo)).code, 0);
  });

  it('makes a second writer wait, then give up naming the holder', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', repo)).code, 0);
    const [flag] = parse(await readFile(join(repo, 'periods/2025-01/flags.yaml'), 'utf8')).flags as { id: string }[];
    await withRepositoryLock(repo, 'focus-billing ingest --source AWS', async () => {
      const r = await child(['review', 'reject', flag?.id as string, '--note', 'x', '--root', repo], { OCB_LOCK_WAIT_MS: '300' });
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /Waiting for `focus-billing ingest --source AWS` \(pid \d+, since .*\) to finish writing the billing repository/,
      );
      assert.match(
        r.stderr,
        /error: the billing repository is busy: `focus-billing ingest --source AWS` \(pid \d+, since [^)]+\) is writing to it/,
      );
    });
    assert.equal(parse(await readFile(join(repo, 'periods/2025-01/flags.yaml'), 'utf8')).flags[0].status, 'pending');
    assert.ok(!existsSync(join(repo, '.cache', 'write.lock')), 'released');
  });

  it('takes over a lock left by a process that is gone, saying so', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', repo)).code, 0);
    const [flag] = parse(await readFile(join(repo, 'periods/2025-01/flags.yaml'), 'utf8')).flags as { id: string }[];
    // A process that ran and ended: its PID is free.
    const gone = await new Promise<number>((resolve) => {
      const p = spawn(process.execPath, ['-e', '0']);
      p.on('exit', () => resolve(p.pid as number));
    });
    const { hostname } = await import('node:os');
    await mkdir(join(repo, '.cache'), { recursive: true });
    await writeFile(
      join(repo, '.cache', 'write.lock'),
      JSON.stringify({
        pid: gone,
        host: hostname(),
        started: '2025-01-01T00:00:00.000Z',
        process_started: 0,
        command: 'focus-billing ingest',
        token: 'dead',
      }),
    );
    const r = await child(['review', 'reject', flag?.id as string, '--note', 'x', '--root', repo]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `Took over the repository lock left by \`focus-billing ingest\` \\(pid ${gone}, since 2025-01-01T00:00:00\\.000Z\\), which is no longer running\\.`,
      ),
    );
    assert.ok(!existsSync(join(repo, '.cache', 'write.lock')));
  });

  it('writes nothing when flags.yaml changed between its read and the write', async (t) => {
    const dir = await scratch(t);
    const target = join(dir, 'flags.yaml');
    await writeFile(target, 'version: 1\nperiod: 2025-01\nflags: []\n');
    const { sha256Text } = await import('../src/repo/hash.ts');
    const expect = { sha256: sha256Text(await readFile(target)), display: 'periods/2025-01/flags.yaml' };
    await writeFile(target, 'version: 1\nperiod: 2025-01\nflags: [] # edited by hand\n');
    await assert.rejects(
      commitWrites([{ target, content: 'version: 1\nperiod: 2025-01\nflags: []\n# new\n', expect }]),
      /periods\/2025-01\/flags\.yaml changed while this command ran: nothing was written/,
    );
    assert.equal(await readFile(target, 'utf8'), 'version: 1\nperiod: 2025-01\nflags: [] # edited by hand\n');
    assert.deepEqual(readdirSync(dir), ['flags.yaml'], 'no temporary file left');
  });

  it('refuses to decide in a flags.yaml that is not UTF-8, changing nothing', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'hpc_2025-01.csv'), '--source', 'HPC', '--root', repo)).code, 0);
    const path = join(repo, 'periods/2025-01/flags.yaml');
    const [flag] = parse(await readFile(path, 'utf8')).flags as { id: string }[];
    // A comment saved in Latin-1 by some editor: byte 0xE9 alone is not UTF-8.
    const latin1 = Buffer.concat([Buffer.from('# r\xe9vis\u00e9 by hand\n', 'latin1'), await readFile(path)]);
    await writeFile(path, latin1);
    const r = await cli('review', 'reject', flag?.id as string, '--note', 'x', '--root', repo);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: periods\/2025-01\/flags\.yaml:1: not UTF-8 text: expected UTF-8 text, found bytes that are not UTF-8\n {2}hint: save the file as UTF-8 \(iconv -f latin1 -t utf-8 < in > out, for a Latin-1 file\) and run the command again\n$/,
    );
    assert.deepEqual(await readFile(path), latin1, 'the file as it was');
    // Read, it is refused as well, at its line: its notes would reach the site as U+FFFD.
    const v = await cli('validate', '--root', repo);
    assert.notEqual(v.code, 0);
    assert.match(v.stderr, /periods\/2025-01\/flags\.yaml:1: not UTF-8 text/);
  });

  it('removes its temporary copy and its lock when interrupted (Ctrl-C)', async (t) => {
    const repo = await scratchRepo(t);
    const big = await writeCsv(await scratch(t), 'big.csv', [
      HEADER,
      ...Array.from({ length: 200_000 }, (_, i) => ['2025-01-01', '2025-01-05', '1.00', '1.00', 'EC2', `r-${i}`, T]),
    ]);
    const p = spawn(process.execPath, [...SOURCE_CLI, 'ingest', big, '--source', 'AWS', '--root', repo], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Wait until the copy into data/ has started, then interrupt.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const staged = existsSync(join(repo, 'data')) && readdirSync(join(repo, 'data')).some((n) => n.startsWith('.staged.'));
        if (staged) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
      p.on('exit', () => {
        clearInterval(timer);
        reject(new Error('ingest finished before it could be interrupted'));
      });
    });
    p.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => p.on('exit', resolve));
    assert.equal(code, 130);
    assert.deepEqual(
      readdirSync(join(repo, 'data')).filter((n) => n !== '.gitkeep'),
      [],
      'no staged copy left',
    );
    assert.ok(!existsSync(join(repo, '.cache', 'write.lock')));
  });
});

describe('notes from the billing office', () => {
  // notes.mdx is MDX: Astro compiles it into the site, so an export or a {…} runs on the machine
  // that publishes, and a <script> or javascript: link in every PI's browser and in the Chromium
  // that prints the PDFs. validate names each in the pull request; build refuses before running any.
  it('takes words and formatting, and refuses code at its line, in validate and in build', async (t) => {
    const repo = await scratchRepo(t);
    assert.equal((await cli('ingest', join(SAMPLE, 'aws_2025-01.csv'), '--source', 'AWS', '--root', repo)).code, 0);
    const writeNotes = (...lines: string[]) => writeFile(join(repo, 'periods/2025-01/notes.mdx'), [...lines, ''].join('\n'));
    const marker = join(await scratch(t), 'ran');
    const write = `process.getBuiltinModule('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`;
    await writeNotes(
      `**Rates** held {${write}}.`,
      '',
      `export const ran = ${write}`,
      '',
      '<script>alert(1)</script>',
      '<img src="x.png" onerror="alert(1)" />',
      '<a href="java&#x09;script:alert(1)">here</a> and [there](JAVASCRIPT:alert(1)) <a {...props}>x</a>',
      '<Chart />',
      '',
      '![usage](./usage.png) and ![the logo](/logo.png)',
    );
    const validate = await cli('validate', '--root', repo);
    assert.equal(validate.code, 1, validate.stderr);
    const found = validate.stderr.split('\n').filter((l) => l.startsWith('error: periods/2025-01/notes.mdx'));
    assert.deepEqual(found, [
      'error: periods/2025-01/notes.mdx:1:16: a {…} expression in notes runs as code when the site is built',
      'error: periods/2025-01/notes.mdx:3:1: an import or export in notes runs as code when the site is built',
      'error: periods/2025-01/notes.mdx:5:1: <script> is not an element notes may use',
      'error: periods/2025-01/notes.mdx:6:18: the onerror attribute is not one notes may use on <img>',
      'error: periods/2025-01/notes.mdx:7:4: href="java\\tscript:alert(1)" leads to neither an http, https, mailto or tel address nor a page of the site',
      'error: periods/2025-01/notes.mdx:7:50: a link to "JAVASCRIPT:alert(1)" leads to neither an http, https, mailto or tel address nor a page of the site',
      'error: periods/2025-01/notes.mdx:7:82: a {…} attribute in notes runs as code when the site is built',
      'error: periods/2025-01/notes.mdx:8:1: <Chart> is not an element notes may use',
      'error: periods/2025-01/notes.mdx:10:1: an image at "./usage.png" is read from the disk as the site is built',
    ]);
    const out = join(await scratch(t), 'site');
    const build = await cli('build', '--no-pdf', '--out', out, '--root', repo);
    assert.equal(build.code, 2, build.stderr);
    assert.match(
      build.stderr,
      /^error: periods\/2025-01\/notes\.mdx:1:16: a \{…\} expression in notes runs as code when the site is built\n {2}hint: write \\\{ for a brace meant as text\n {2}and 8 more problems:/,
    );
    assert.equal(existsSync(marker), false, 'nothing in the notes ran');
    assert.equal(existsSync(out), false, 'nothing published');

    // Past 51 findings, the rest are counted, not dropped.
    await writeFile(join(repo, 'periods/2025-01/notes.mdx'), Array.from({ length: 60 }, (_, i) => `Item {${i}}`).join('\n\n'));
    const many = (await cli('validate', '--json', '--root', repo))
      .json()
      .findings.filter((f: any) => f.file === 'periods/2025-01/notes.mdx');
    assert.equal(many.length, 52);
    assert.equal(many.at(-1).message, 'and 9 more problems like those above');

    // Text MDX cannot read stopped the site's build after the merge: validate names it in the pull request.
    await writeNotes('Questions? Mail <rc@example.edu>.');
    const syntax = await cli('validate', '--root', repo);
    assert.equal(syntax.code, 1, syntax.stderr);
    assert.match(
      syntax.stderr,
      /^error: periods\/2025-01\/notes\.mdx:1:20: not valid MDX: Unexpected character `@` .*use `\[text\]\(url\)`\)\n {2}hint: notes are Markdown/m,
    );

    // A brace or a < meant as text, comments, and the HTML a note needs are fine.
    await writeNotes(
      '{/* Reviewed by finance. */}',
      'Rates held: see [the price list](https://rc.example.edu/rates), write to [us](mailto:rc@example.edu), or [the dashboard](/). Sets use \\{braces\\}; 1 &lt; 2.',
      '',
      '<details><summary>Storage</summary>From February <strong>$22.00</strong> a TB-month.<br />The first terabyte stays free.</details>',
    );
    const fine = await cli('validate', '--root', repo);
    assert.equal(fine.code, 0, fine.stderr);
    const built = await cli('build', '--no-pdf', '--out', out, '--root', repo);
    assert.equal(built.code, 0, built.stderr);
    const pi = readdirSync(join(out, 'periods/2025-01/pi'))[0] as string;
    const page = readFileSync(join(out, 'periods/2025-01/pi', pi, 'index.html'), 'utf8');
    const notes = /<aside class="notes"[^>]*>([\s\S]*?)<\/aside>/.exec(page)?.[1] ?? '';
    assert.match(notes, /Sets use \{braces\}; 1 &lt; 2\./);
    assert.match(notes, /<a href="https:\/\/rc\.example\.edu\/rates">the price list<\/a>/);
    assert.match(
      notes,
      /<details><summary>Storage<\/summary>From February <strong>\$22\.00<\/strong> a TB-month\.<br\/?>The first terabyte stays free\.<\/details>/,
    );
    assert.doesNotMatch(notes, /Reviewed by finance/);
  });
});
