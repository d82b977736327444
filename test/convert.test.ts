/**
 * The converters against hand-computed expectations (the arithmetic is in the comments, done
 * apart from the code), then convert → ingest → generate end to end, and bad input refused with
 * file:line, a hint, and nothing written.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { link, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type CliResult, cli, removeDir, scratch, scratchRepo, tempDir } from './helpers.ts';

const RATES = `currency: USD
rates:
  - id: cpu-standard
    service: HPC CPU Compute
    unit: core-hour
    list_price: "0.0300"
    subsidy_percent: "100"
    match: { partition: [standard, long] }
    effective_from: 2025-01-01
  - id: cpu-gpu-nodes
    service: HPC CPU Compute
    unit: core-hour
    list_price: "0.0300"
    subsidy_percent: "100"
    match: { partition: gpu }
    effective_from: 2025-01-01
  - id: cpu-himem
    service: HPC CPU Compute
    unit: core-hour
    list_price: "0.0300"
    subsidy_percent: "100"
    match: { partition: himem }
    effective_from: 2025-01-01
  - id: mem-himem
    service: HPC Memory
    unit: gb-hour
    list_price: "0.0050"
    subsidy_percent: "50"
    match: { partition: himem }
    effective_from: 2025-01-01
  - id: gpu-a100
    service: HPC GPU Compute
    unit: gpu-hour
    list_price: "0.90"
    subsidy_percent: "50"
    match: { partition: gpu, gpu_type: a100 }
    effective_from: 2025-01-01
    effective_to: 2025-03-14
  - id: gpu-a100-new
    service: HPC GPU Compute
    unit: gpu-hour
    list_price: "1.20"
    billed_price: "0.60"
    match: { partition: gpu, gpu_type: a100 }
    effective_from: 2025-03-15
  - id: storage-standard
    service: Research Storage
    unit: tb-month
    list_price: "25.00"
    free_tb: "1"
    match: { path: ["/ifs/proj/**", "/ifs/tmp/**", "/proj/**"] }
    effective_from: 2025-01-01
  - id: storage-archive
    service: Archive Storage
    unit: tb-month
    list_price: "5.00"
    match: { tier: archive }
    effective_from: 2025-01-01
  - id: vm-small
    service: Virtual Machines
    unit: vm-month
    list_price: "20.00"
    subsidy_percent: "50"
    match: { size: small }
    effective_from: 2025-01-01
  - id: vm-medium
    service: Virtual Machines
    unit: vm-month
    list_price: "40.00"
    subsidy_percent: "50"
    match: { size: medium }
    effective_from: 2025-01-01
  - id: vm-large
    service: Virtual Machines
    unit: vm-month
    list_price: "80.00"
    match: { size: large }
    effective_from: 2025-01-01
    bill_stopped: false
  - id: ai-tokens
    service: AI Gateway
    unit: unit
    list_price: "0.000002"
    match: { service: AI Gateway }
    effective_from: 2025-01-01
`;

const ACCOUNTS = `accounts:
  - { account: chen-lab, pi_email: w.chen@example.edu, project_id: climate, fund_org: "100100-1000" }
storage:
  - { path: "/ifs/proj/a*", pi_email: a.rivera@example.edu, project_id: atlas, fund_org: "100200-2000" }
  - { path: "/ifs/archive/b", tier: archive, pi_email: b.okafor@example.edu, project_id: ocean, fund_org: "100300-3000" }
  - { path: "/proj/a/", pi_email: a.rivera@example.edu, project_id: atlas, fund_org: "100200-2000" }
vms:
  - { name: "chen-*", pi_email: w.chen@example.edu, project_id: climate, fund_org: "100100-1000" }
`;

const SACCT = `JobID|JobName|Account|Partition|State|Start|End|Elapsed|AllocTRES
100|cross|chen-lab|standard|COMPLETED|2025-03-30T00:00:00|2025-04-02T00:00:00|3-00:00:00|billing=4,cpu=4,mem=16G,node=1
101_3|array|chen-lab|gpu|COMPLETED|2025-03-14T12:00:00|2025-03-15T12:00:00|1-00:00:00|cpu=8,gres/gpu=2,gres/gpu:a100=2,mem=64G,node=1
102|orphan|nobody|standard|FAILED|2025-03-02T00:00:00|2025-03-02T10:00:00|10:00:00|cpu=1,mem=1G
105+0|het|chen-lab|standard|COMPLETED|2025-03-03T00:00:00|2025-03-03T01:00:00|01:00:00|cpu=2
105+1|het|chen-lab|standard|COMPLETED|2025-03-03T00:00:00|2025-03-03T01:00:00|01:00:00|cpu=2
106|requeued|chen-lab|long|REQUEUED|2025-03-04T00:00:00|2025-03-04T01:00:00|01:00:00|cpu=1
106|requeued|chen-lab|long|COMPLETED|2025-03-04T02:00:00|2025-03-04T04:00:00|02:00:00|cpu=1
106|requeued|chen-lab|long|COMPLETED|2025-03-04T02:00:00|2025-03-04T04:00:00|02:00:00|cpu=1
107.batch|batch|chen-lab|standard|COMPLETED|2025-03-05T00:00:00|2025-03-05T01:00:00|01:00:00|cpu=1
108|waiting|chen-lab|standard|PENDING|Unknown|Unknown|00:00:00|
109|never|chen-lab|standard|CANCELLED by 1001|None|2025-03-06T00:00:00|00:00:00|
110|bigmem|chen-lab|himem|OUT_OF_MEMORY|2025-03-07T00:00:00|2025-03-07T03:00:00|03:00:00|cpu=2,mem=64G
111|running|chen-lab|standard|RUNNING|2025-03-31T20:00:00|Unknown|04:00:00|cpu=1
112|old|chen-lab|standard|COMPLETED|2025-02-01T00:00:00|2025-02-02T00:00:00|1-00:00:00|cpu=1
`;

let dir: string;
let repo: string;

/** Runs `convert <kind> …` in the test folder with the rates and accounts above; `args` are paths relative to it. */
async function convert(...args: string[]) {
  return cli('convert', ...args.map((a) => (a.includes('/') || !/\.(txt|csv|json|gz)$/.test(a) ? a : join(dir, a))), '--root', dir);
}

/** The FOCUS rows of a converted file, as objects. */
async function rows(file: string): Promise<Record<string, string>[]> {
  const [header, ...lines] = (await readFile(file, 'utf8')).trimEnd().split('\n');
  const columns = (header as string).split(',');
  return lines.map((line) => {
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') {
          cell += '"';
          i++;
        } else if (c === '"') quoted = false;
        else cell += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') {
        cells.push(cell);
        cell = '';
      } else cell += c;
    }
    cells.push(cell);
    return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
  });
}

before(async () => {
  dir = await tempDir();
});
after(() => removeDir(dir));

describe('convert slurm', () => {
  before(async () => {
    await writeFile(join(dir, 'rates.yaml'), RATES);
    await writeFile(join(dir, 'accounts.yaml'), ACCOUNTS);
    await writeFile(join(dir, 'sacct.txt'), SACCT);
  });

  it('bills each allocation for its run inside the month, by CPU, GPU type and (where a rate asks) memory', async () => {
    const out = join(dir, 'hpc.csv');
    const r = await convert('slurm', 'sacct.txt', '--period', '2025-03', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const charges = (await rows(out)).map((c) => [
      c.ResourceId,
      c.x_RateId,
      c.ChargePeriodStart,
      c.ChargePeriodEnd,
      c.PricingQuantity,
      c.ListCost,
      c.BilledCost,
    ]);
    assert.deepEqual(charges, [
      // 100: March 30 00:00 to April 1 00:00 is 48 h inside March; 4 CPUs × 48 h = 192 core-hours × 0.03 = 5.76 (billed 0: 100% subsidy).
      ['100', 'cpu-standard', '2025-03-30T00:00:00Z', '2025-04-01T00:00:00Z', '192', '5.76', '0'],
      // 101_3: 24 h × 8 CPUs = 192; its 2 a100 GPUs (listed typed and untyped: counted once)
      // 12 h before the 15th at 0.90 (billed 0.45): 24 GPU-hours → 21.60 / 10.80; 12 h after at 1.20 / 0.60: 28.80 / 14.40.
      ['101_3', 'cpu-gpu-nodes', '2025-03-14T12:00:00Z', '2025-03-15T12:00:00Z', '192', '5.76', '0'],
      ['101_3', 'gpu-a100', '2025-03-14T12:00:00Z', '2025-03-15T00:00:00Z', '24', '21.6', '10.8'],
      ['101_3', 'gpu-a100-new', '2025-03-15T00:00:00Z', '2025-03-15T12:00:00Z', '24', '28.8', '14.4'],
      // 102: 10 h × 1 CPU, an account nobody owns: converted, without a PI.
      ['102', 'cpu-standard', '2025-03-02T00:00:00Z', '2025-03-02T10:00:00Z', '10', '0.3', '0'],
      // 105+0, 105+1: each component of the heterogeneous job, 2 CPUs × 1 h.
      ['105+0', 'cpu-standard', '2025-03-03T00:00:00Z', '2025-03-03T01:00:00Z', '2', '0.06', '0'],
      ['105+1', 'cpu-standard', '2025-03-03T00:00:00Z', '2025-03-03T01:00:00Z', '2', '0.06', '0'],
      // 106: each run of the requeued job (1 h, then 2 h); the run listed twice, once.
      ['106', 'cpu-standard', '2025-03-04T00:00:00Z', '2025-03-04T01:00:00Z', '1', '0.03', '0'],
      ['106', 'cpu-standard', '2025-03-04T02:00:00Z', '2025-03-04T04:00:00Z', '2', '0.06', '0'],
      // 110: 2 CPUs × 3 h = 6; 64 GiB × 3 h = 192 GB-hours × 0.005 = 0.96, billed half: 0.48.
      ['110', 'cpu-himem', '2025-03-07T00:00:00Z', '2025-03-07T03:00:00Z', '6', '0.18', '0'],
      ['110', 'mem-himem', '2025-03-07T00:00:00Z', '2025-03-07T03:00:00Z', '192', '0.96', '0.48'],
      // 111: still running: billed to the month's end, 4 h.
      ['111', 'cpu-standard', '2025-03-31T20:00:00Z', '2025-04-01T00:00:00Z', '4', '0.12', '0'],
    ]);
    const report = r.json();
    assert.deepEqual(report.not_billed, {
      'listed twice (billed once)': 1,
      'job steps (billed as their allocation)': 1,
      PENDING: 1,
      'never started': 1,
      'ran outside the month': 1,
    });
    assert.deepEqual(report.unmapped, [{ owner: 'nobody', quantity: '10', unit: 'core-hour', records: 1 }]);
    // 5.76 + 5.76 + 21.60 + 28.80 + 0.30 + 0.06 + 0.06 + 0.03 + 0.06 + 0.18 + 0.96 + 0.12 = 63.69; billed 10.80 + 14.40 + 0.48 = 25.68.
    assert.deepEqual([report.records, report.billed, report.total_list, report.total_billed], [14, 9, '63.69', '25.68']);
    const tags = (await rows(out)).map((c) => JSON.parse(c.Tags as string));
    assert.deepEqual(tags[0], {
      pi_email: 'w.chen@example.edu',
      project_id: 'climate',
      fund_org: '100100-1000',
      slurm_account: 'chen-lab',
      partition: 'standard',
    });
    assert.deepEqual(tags[4], { slurm_account: 'nobody', partition: 'standard' });
    assert.equal(tags[2].gpu_type, 'a100');
  });

  it('reads sacct times in --timezone across both changes of its clocks, a repeated hour by Elapsed', async () => {
    const head = 'JobID|JobName|Account|Partition|State|Start|End|Elapsed|AllocTRES';
    const job = (id: string, start: string, end: string, elapsed: string) =>
      `${id}|j|chen-lab|standard|COMPLETED|${start}|${end}|${elapsed}|cpu=1`;
    // New York's clocks went back at 2025-11-02 02:00 EDT (06:00Z): 01:00 to 02:00 came twice.
    await writeFile(
      join(dir, 'tz-nov.txt'),
      [
        head,
        job('1', '2025-11-02T01:30:00', '2025-11-02T01:45:00', '01:15:00'), // EDT to EST: 75 minutes
        job('2', '2025-11-02T01:30:00', '2025-11-02T01:45:00', '00:15:00'), // both EDT, as Elapsed says
        job('3', '2025-11-02T01:50:00', '2025-11-02T01:10:00', '00:20:00'), // EDT to EST, the End reads earlier
        job('4', '2025-11-02T01:30:00', '2025-11-02T01:40:00', ''), // no Elapsed: the earlier reading
        job('5', '2025-11-01T22:00:00', '2025-11-02T03:00:00', '06:00:00'), // across it: 22:00 EDT to 03:00 EST
        '',
      ].join('\n'),
    );
    const out = join(dir, 'tz-nov.csv');
    const r = await convert('slurm', 'tz-nov.txt', '--period', '2025-11', '--timezone', 'America/New_York', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await rows(out)).map((c) => [c.ResourceId, c.ChargePeriodStart, c.ChargePeriodEnd, c.PricingQuantity]),
      [
        ['1', '2025-11-02T05:30:00Z', '2025-11-02T06:45:00Z', '1.25'],
        ['2', '2025-11-02T05:30:00Z', '2025-11-02T05:45:00Z', '0.25'],
        ['3', '2025-11-02T05:50:00Z', '2025-11-02T06:10:00Z', '0.333333'],
        ['4', '2025-11-02T05:30:00Z', '2025-11-02T05:40:00Z', '0.166667'],
        ['5', '2025-11-02T02:00:00Z', '2025-11-02T08:00:00Z', '6'],
      ],
    );
    // They went forward at 2025-03-09 02:00 EST: 02:30 never showed there, and sacct prints no
    // such time. A file that holds one was taken in another zone.
    await writeFile(join(dir, 'tz-mar.txt'), `${head}\n${job('6', '2025-03-09T02:30:00', '2025-03-09T04:00:00', '00:30:00')}\n`);
    const skipped = await convert(
      'slurm',
      'tz-mar.txt',
      '--period',
      '2025-03',
      '--timezone',
      'America/New_York',
      '--out',
      join(dir, 'tz-mar.csv'),
    );
    assert.equal(skipped.code, 2);
    assert.match(
      skipped.stderr,
      /tz-mar\.txt:2: Start 2025-03-09T02:30:00 is no time in America\/New_York: its clocks skipped that hour\n {2}hint: /,
    );
  });

  it('reads sacct output without its header line too, gzip-compressed, or saved with a byte-order mark', async () => {
    await writeFile(join(dir, 'noheader.txt.gz'), gzipSync(SACCT.split('\n').slice(1).join('\n')));
    const r = await convert('slurm', join(dir, 'noheader.txt.gz'), '--period', '2025-03', '--out', join(dir, 'h2.csv'), '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([r.json().total_list, r.json().total_billed], ['63.69', '25.68']);
    // Notepad and Excel write a byte-order mark before the header, which was then read as a job.
    await writeFile(join(dir, 'bom.txt'), `\ufeff${SACCT}`);
    const bom = await convert('slurm', join(dir, 'bom.txt'), '--period', '2025-03', '--out', join(dir, 'h3.csv'), '--json');
    assert.equal(bom.code, 0, bom.stderr);
    assert.deepEqual([bom.json().total_list, bom.json().total_billed], ['63.69', '25.68']);
  });

  it('goes through ingest and generate onto the PIs statements, with the unmapped account held for review', async (t) => {
    repo = await scratchRepo(t);
    await writeFile(join(repo, 'rates.yaml'), RATES);
    await writeFile(join(repo, 'accounts.yaml'), ACCOUNTS);
    const out = join(repo, 'hpc-2025-03.csv');
    assert.equal((await cli('convert', 'slurm', join(dir, 'sacct.txt'), '--period', '2025-03', '--out', out, '--root', repo)).code, 0);
    const ingest = await cli('ingest', out, '--source', 'HPC', '--root', repo, '--json');
    assert.equal(ingest.code, 0, ingest.stderr);
    assert.deepEqual(ingest.json().flags.by_rule, { missing_pi_email: 1, missing_project_id: 1, missing_fund_org: 1 });
    const set = (await cli('generate', '--period', '2025-03', '--dry-run', '--json', '--root', repo)).json();
    // Everything but the orphan job: list 63.69 − 0.30 = 63.39; due 25.68, by service.
    assert.deepEqual(
      set.statements.map((s: { pi_email: string; list: string; amount_due: string; lines: { service: string; amount: string }[] }) => [
        s.pi_email,
        s.list,
        s.amount_due,
        s.lines.map((l) => `${l.service} ${l.amount}`),
      ]),
      [['w.chen@example.edu', '63.39', '25.68', ['HPC CPU Compute 0.00', 'HPC GPU Compute 25.20', 'HPC Memory 0.48']]],
    );
  });
});

describe('convert slurm, a large month in two halves at once', () => {
  /** A sacct file of n jobs over two accounts, with what the halves must agree on. */
  const sacctFile = (n: number, extra: string[] = []) =>
    [
      'JobID|JobName|Account|Partition|State|Start|End|Elapsed|AllocTRES',
      ...Array.from({ length: n }, (_, i) => {
        const day = String(1 + (i % 28)).padStart(2, '0');
        const kind = i % 5;
        const state = kind === 4 ? 'PENDING|Unknown|Unknown' : `COMPLETED|2025-03-${day}T0${i % 10}:00:00|2025-03-${day}T1${i % 10}:30:00`;
        const tres = kind === 1 ? 'cpu=8,gres/gpu:a100=1,mem=64G' : kind === 2 ? 'cpu=4,gres/gpu:a100=2' : `cpu=${1 + (i % 7)},mem=4G`;
        return `${9000 + i}|j${i}|${i % 3 ? 'chen-lab' : 'nobody'}|${kind === 1 || kind === 2 ? 'gpu' : 'standard'}|${state}|00:00:00|${tres}`;
      }),
      ...extra,
    ].join('\n');

  /** Converts with the halves (OCB_SPLIT_BYTES=1) and in one pass, and returns both. */
  async function both(file: string): Promise<{ split: CliResult; whole: CliResult; splitCsv: string; wholeCsv: string }> {
    const run = async (bytes: string, out: string) => {
      const before = process.env.OCB_SPLIT_BYTES;
      process.env.OCB_SPLIT_BYTES = bytes;
      try {
        return await convert('slurm', file, '--period', '2025-03', '--out', join(dir, out), '--json');
      } finally {
        if (before === undefined) delete process.env.OCB_SPLIT_BYTES;
        else process.env.OCB_SPLIT_BYTES = before;
      }
    };
    for (const f of ['split.csv', 'whole.csv']) await rm(join(dir, f), { force: true });
    const split = await run('1', 'split.csv');
    const whole = await run(String(2 ** 40), 'whole.csv');
    const read = (f: string) => readFile(join(dir, f), 'utf8').catch(() => '');
    return { split, whole, splitCsv: await read('split.csv'), wholeCsv: await read('whole.csv') };
  }

  it('writes the same bytes and the same report as one pass', async () => {
    await writeFile(join(dir, 'big.txt'), sacctFile(400));
    const r = await both('big.txt');
    assert.equal(r.split.code, 0, r.split.stderr);
    assert.equal(r.whole.code, 0, r.whole.stderr);
    assert.ok(r.wholeCsv.split('\n').length > 400);
    assert.equal(r.splitCsv, r.wholeCsv);
    assert.deepEqual({ ...r.split.json(), out: null }, { ...r.whole.json(), out: null });
    assert.deepEqual(r.split.json().not_billed, { PENDING: 80 });
    // The halves were joined (a worker that cannot start leaves the one pass, which gives the same bytes).
    assert.deepEqual(r.split.progress, ['  converting the two halves of the month at once']);
    assert.deepEqual(r.whole.progress, []);
  });

  it('bills once an allocation listed in both halves, and a requeued one in each', async () => {
    // Job 9001 again with its Start (a duplicate across the cut) and with a new Start (a requeue).
    await writeFile(
      join(dir, 'dup.txt'),
      sacctFile(400, [
        '9001|j1|chen-lab|gpu|COMPLETED|2025-03-02T01:00:00|2025-03-02T11:30:00|00:00:00|cpu=8,gres/gpu:a100=1,mem=64G',
        '9003|j3|chen-lab|standard|COMPLETED|2025-03-20T00:00:00|2025-03-20T01:00:00|00:00:00|cpu=1',
      ]),
    );
    const r = await both('dup.txt');
    assert.equal(r.split.code, 0, r.split.stderr);
    assert.equal(r.splitCsv, r.wholeCsv);
    assert.equal(r.split.json().not_billed['listed twice (billed once)'], 1);
    assert.equal(r.split.json().billed, r.whole.json().billed);
  });

  it('names every problem of both halves at its line as in the file, as one pass does', async () => {
    const lines = sacctFile(400).split('\n');
    lines[3] = '9002|j2|chen-lab|gpu|COMPLETED|2025-03-03T02:00:00|later|00:00:00|cpu=4';
    lines[390] = '9389|j389|chen-lab|standard|COMPLETED|2025-03-25T09:00:00|2025-03-25T19:30:00|00:00:00|cpu=x';
    await writeFile(join(dir, 'both.txt'), lines.join('\n'));
    const r = await both('both.txt');
    assert.equal(r.split.code, 2);
    assert.match(
      r.split.stderr,
      /both\.txt:4: malformed sacct line: End.*\n {2}hint: .*\n {2}and 1 more problem:\n {4}\S+both\.txt:391: malformed sacct line: AllocTRES/,
    );
    assert.equal(r.split.stderr, r.whole.stderr);
    assert.equal(r.splitCsv, '');
  });

  it('names the line of an error in the second half as it is in the file, and writes nothing', async () => {
    await writeFile(join(dir, 'bad.txt'), sacctFile(400, ['9999|x|chen-lab|standard|COMPLETED|2025-03-02T10:00:00|soon|00:00:00|cpu=1']));
    const r = await both('bad.txt');
    assert.equal(r.split.code, 2);
    assert.match(r.split.stderr, /bad\.txt:402: malformed sacct line: End/);
    assert.equal(r.split.stderr, r.whole.stderr);
    assert.equal(r.splitCsv, '');
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes('second-half') || f.endsWith('.tmp')),
      [],
    );
  });
});

describe('convert storage', () => {
  it('averages daily samples, adds up a project’s paths, takes the free allowance off, by tier', async () => {
    await writeFile(
      join(dir, 'usage.csv'),
      [
        'date,path,used_bytes',
        '2025-03-01,/ifs/proj/a1,2000000000000',
        '2025-03-02,/ifs/proj/a1,4000000000000', // a1 averages 3 TB
        '2025-03-05,/ifs/proj/a2,1000000000000', // a2: one sample, 1 TB for the month
        '2025-03-01,/ifs/archive/b,10000000000000',
        '2025-03-01,/ifs/tmp/x,500000000000',
      ].join('\n'),
    );
    const out = join(dir, 'storage.csv');
    const r = await convert('storage', 'usage.csv', '--format', 'csv', '--period', '2025-03', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await rows(out)).map((c) => [
        c.ResourceName,
        c.x_RateId,
        c.PricingQuantity,
        c.ListCost,
        c.BilledCost,
        JSON.parse(c.Tags as string).project_id ?? '',
      ]),
      [
        // b: 10 TB archive at 5.00, no allowance.
        ['ocean (archive)', 'storage-archive', '10', '50', '50', 'ocean'],
        // atlas: 3 + 1 = 4 TB at 25.00 = 100 list; billed above 1 TB free: 3 × 25 = 75.
        ['atlas', 'storage-standard', '4', '100', '75', 'atlas'],
        // x: nobody's; 0.5 TB, all of it within the free TB.
        ['/ifs/tmp/x', 'storage-standard', '0.5', '12.5', '0', ''],
      ],
    );
    assert.deepEqual(r.json().unmapped, [{ owner: '/ifs/tmp/x', quantity: '0.5', unit: 'tb-month', records: 1 }]);
  });

  it('reads an Isilon quota list and a Qumulo quota status as one report for the month', async () => {
    await writeFile(
      join(dir, 'isi.json'),
      JSON.stringify([
        { id: 'q1', path: '/ifs/proj/a1', type: 'directory', usage: { fslogical: 2500000000000, fsphysical: 3100000000000, inodes: 10 } },
        { id: 'q2', path: '/ifs/proj/a1', type: 'user', persona: { name: 'u1' }, usage: { fslogical: 100 } },
      ]),
    );
    const isi = await convert('storage', 'isi.json', '--format', 'isilon', '--period', '2025-03', '--out', join(dir, 'isi.csv'), '--json');
    assert.equal(isi.code, 0, isi.stderr);
    // 2.5 TB: list 62.50, billed (2.5 − 1) × 25 = 37.50; the user quota is not billed.
    assert.deepEqual([isi.json().total_list, isi.json().total_billed, isi.json().not_billed], ['62.5', '37.5', { 'user quotas': 1 }]);
    await writeFile(
      join(dir, 'qumulo.json'),
      JSON.stringify({
        quotas: [{ id: '7', path: '/proj/a/', limit: '5000000000000', capacity_used: '1000000000000' }],
        paging: { next: '' },
      }),
    );
    const q = await convert('storage', 'qumulo.json', '--format', 'qumulo', '--period', '2025-03', '--out', join(dir, 'q.csv'), '--json');
    assert.equal(q.code, 0, q.stderr);
    assert.deepEqual([q.json().total_list, q.json().total_billed], ['25', '0']);
    // accounts.yaml's "/proj/a/" is the path Qumulo lists as /proj/a/, however either is written.
    assert.deepEqual(
      (await rows(join(dir, 'q.csv'))).map((c) => [c.ResourceId, JSON.parse(c.Tags as string).project_id]),
      [['/proj/a', 'atlas']],
    );
    // Past 2^53 a JSON number is not what was written: refused, never billed a few bytes off.
    await writeFile(
      join(dir, 'isi-big.json'),
      '[{"path": "/ifs/proj/a1", "type": "directory", "usage": {"fslogical": 12345678901234567891}}]',
    );
    const big = await convert('storage', 'isi-big.json', '--format', 'isilon', '--period', '2025-03', '--out', join(dir, 'big.csv'));
    assert.equal(big.code, 2);
    assert.match(
      big.stderr,
      /^error: \S*isi-big\.json: quota 1: usage\.logical: 12345678901234567000 bytes is past what a JSON number holds exactly/,
    );
  });

  it('bills each byte once: a quota inside another is taken off the use of the one that holds it', async () => {
    const quota = (path: string, bytes: number) => ({ path, type: 'directory', usage: { fslogical: bytes } });
    await writeFile(
      join(dir, 'isi-nested.json'),
      JSON.stringify([
        quota('/ifs/proj/a1', 6_000_000_000_000), // atlas's; holds cache (and cache/tmp in it) and scratch
        quota('/ifs/proj/a1/cache', 2_500_000_000_000), // holds cache/tmp
        quota('/ifs/proj/a1/cache/tmp', 500_000_000_000),
        quota('/ifs/proj/a1/scratch', 1_000_000_000_000),
      ]),
    );
    const out = join(dir, 'nested.csv');
    const r = await convert('storage', 'isi-nested.json', '--format', 'isilon', '--period', '2025-03', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const charges = (await rows(out)).map((c) => [c.ResourceId, c.PricingQuantity, c.ChargeDescription]);
    assert.deepEqual(charges, [
      // a1: 6 − 2.5 − 1 = 2.5 TB; cache: 2.5 − 0.5 = 2; the innermost as reported.
      ['/ifs/proj/a1', '2.5', 'use at the report, less 2 paths inside it billed on their own, less 1 TB free'],
      ['/ifs/proj/a1/cache', '2', 'use at the report, less the path inside it billed on its own, less 1 TB free'],
      ['/ifs/proj/a1/cache/tmp', '0.5', 'use at the report, less 1 TB free'],
      ['/ifs/proj/a1/scratch', '1', 'use at the report, less 1 TB free'],
    ]);
    // The 6 TB the outer quota holds, once.
    assert.equal(
      charges.reduce((sum, c) => sum + Number(c[1]), 0),
      6,
    );

    // A quota on the root holds every other path (Qumulo lists / with a slash, as it lists every
    // path): here it cannot, so it is refused rather than billed in full beside /proj/a.
    await writeFile(
      join(dir, 'qumulo-root.json'),
      JSON.stringify({
        quotas: [
          { id: '1', path: '/', capacity_used: '1000000000000' },
          { id: '2', path: '/proj/a/', capacity_used: '2000000000000' },
        ],
      }),
    );
    const root = await convert('storage', 'qumulo-root.json', '--format', 'qumulo', '--period', '2025-03', '--out', out);
    assert.equal(root.code, 2);
    assert.match(
      root.stderr,
      /qumulo-root\.json: quota 1: \/ uses 1000000000000 bytes in the quota report, less than the 2000000000000 bytes of the paths inside it \(\/proj\/a\)\n/,
    );

    // Day by day: on a day the inner path was not sampled, the outer one keeps all its use.
    await writeFile(
      join(dir, 'daily-nested.csv'),
      'date,path,used_bytes\n2025-03-01,/ifs/proj/a1,3000000000000\n2025-03-02,/ifs/proj/a1,4000000000000\n2025-03-02,/ifs/proj/a1/cache,1000000000000\n',
    );
    const daily = await convert('storage', 'daily-nested.csv', '--format', 'csv', '--period', '2025-03', '--out', out);
    assert.equal(daily.code, 0, daily.stderr);
    // a1: (3 + (4 − 1)) / 2 = 3 TB; cache: 1 TB.
    assert.deepEqual(
      (await rows(out)).map((c) => [c.ResourceId, c.PricingQuantity]),
      [
        ['/ifs/proj/a1', '3'],
        ['/ifs/proj/a1/cache', '1'],
      ],
    );

    // Less use than the paths inside it is no use that holds theirs: refused at its line, or, as
    // asked, each path counted as its own.
    await writeFile(
      join(dir, 'separate.csv'),
      'date,path,used_bytes\n2025-03-01,/ifs/proj/a1,500000000000\n2025-03-01,/ifs/proj/a1/cache,1000000000000\n2025-03-01,/ifs/proj/a1/scratch,1000000000000\n',
    );
    const refused = await convert('storage', 'separate.csv', '--format', 'csv', '--period', '2025-03', '--out', out);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^error: \S*separate\.csv:2: \/ifs\/proj\/a1 uses 500000000000 bytes on 2025-03-01, less than the 2000000000000 bytes of the paths inside it \(\/ifs\/proj\/a1\/cache, \/ifs\/proj\/a1\/scratch\)\n {2}hint: .*pass --nested separate \(in the app, the file's Nested paths choice\)\n/,
    );
    const separate = await convert(
      'storage',
      'separate.csv',
      '--format',
      'csv',
      '--period',
      '2025-03',
      '--nested',
      'separate',
      '--out',
      out,
    );
    assert.equal(separate.code, 0, separate.stderr);
    assert.deepEqual(
      (await rows(out)).map((c) => [c.ResourceId, c.PricingQuantity]),
      [
        ['/ifs/proj/a1', '0.5'],
        ['/ifs/proj/a1/cache', '1'],
        ['/ifs/proj/a1/scratch', '1'],
      ],
    );
  });

  it('splits a month at a rate change, by the days each rate covers', async (t) => {
    const d = await scratch(t);
    await writeFile(
      join(d, 'rates.yaml'),
      'currency: USD\nrates:\n  - { id: s1, service: Storage, unit: tb-month, list_price: "25.00", match: { path: "/p/**" }, effective_from: 2025-01-01, effective_to: 2025-03-15 }\n  - { id: s2, service: Storage, unit: tb-month, list_price: "20.00", match: { path: "/p/**" }, effective_from: 2025-03-16 }\n',
    );
    await writeFile(join(d, 'u.csv'), 'date,path,used_bytes\n2025-03-01,/p/x,4000000000000\n');
    const r = await cli(
      'convert',
      'storage',
      join(d, 'u.csv'),
      '--format',
      'csv',
      '--period',
      '2025-03',
      '--out',
      join(d, 'o.csv'),
      '--root',
      d,
    );
    assert.equal(r.code, 0, r.stderr);
    // 4 TB × 15/31 = 1.935484 TB-months at 25 = 48.3871; 4 × 16/31 = 2.064516 at 20 = 41.29032.
    assert.deepEqual(
      (await rows(join(d, 'o.csv'))).map((c) => [c.x_RateId, c.ChargePeriodStart, c.ChargePeriodEnd, c.PricingQuantity, c.ListCost]),
      [
        ['s1', '2025-03-01T00:00:00Z', '2025-03-16T00:00:00Z', '1.935484', '48.3871'],
        ['s2', '2025-03-16T00:00:00Z', '2025-04-01T00:00:00Z', '2.064516', '41.29032'],
      ],
    );
  });
});

describe('convert vms', () => {
  it('prorates each VM by the days it existed, and bills a stopped VM only where its rate says so', async () => {
    await writeFile(
      join(dir, 'vms.csv'),
      [
        'name,size,state,created,deleted,pi_email,project_id,fund_org',
        'web-1,medium,running,2025-02-01,,a.rivera@example.edu,atlas,100200-2000',
        'batch-2,small,running,2025-03-10T09:00:00Z,2025-03-20T10:00:00Z,a.rivera@example.edu,atlas,100200-2000',
        'big-3,large,off,2025-01-01,,a.rivera@example.edu,atlas,100200-2000',
        'gone-4,small,running,2025-01-01,2025-02-15,a.rivera@example.edu,atlas,100200-2000',
        'chen-db,small,stopped,2025-03-31T23:00:00Z,,,,',
        'mystery,small,running,,,,,',
      ].join('\n'),
    );
    const out = join(dir, 'vms-out.csv');
    const r = await convert('vms', 'vms.csv', '--period', '2025-03', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await rows(out)).map((c) => [
        c.ResourceId,
        c.x_RateId,
        c.PricingQuantity,
        c.ListCost,
        c.BilledCost,
        JSON.parse(c.Tags as string).pi_email ?? '',
      ]),
      [
        // the whole month: 1 VM-month at 40, billed half.
        ['web-1', 'vm-medium', '1', '40', '20', 'a.rivera@example.edu'],
        // March 10 to 20: 11 days of 31 = 0.354839 × 20 = 7.09678, billed × 10 = 3.54839.
        ['batch-2', 'vm-small', '0.354839', '7.09678', '3.54839', 'a.rivera@example.edu'],
        // 1 day of 31 = 0.032258 (stopped, but small VMs bill stopped ones); owner from accounts.yaml.
        ['chen-db', 'vm-small', '0.032258', '0.64516', '0.32258', 'w.chen@example.edu'],
        ['mystery', 'vm-small', '1', '20', '10', ''],
      ],
    );
    assert.deepEqual(r.json().not_billed, { 'stopped (off)': 1, 'not in the month': 1 });
    assert.deepEqual(r.json().unmapped, [{ owner: 'mystery', quantity: '1', unit: 'vm-month', records: 1 }]);
  });

  it('reads Hyper-V Get-VM | ConvertTo-Json output, owner in Notes, dates as /Date(ms)/', async () => {
    await writeFile(
      join(dir, 'getvm.json'),
      JSON.stringify([
        {
          Name: 'lab-vm',
          State: 2,
          CreationTime: '/Date(1741392000000)/',
          Notes: 'pi_email=b.okafor@example.edu;project_id=ocean;fund_org=100300-3000',
          size: 'small',
        },
        { Name: 'off-vm', State: 3, CreationTime: '2025-01-05T10:00:00Z', Notes: '', size: 'large' },
      ]),
    );
    const r = await convert('vms', 'getvm.json', '--period', '2025-03', '--out', join(dir, 'hv.csv'), '--json');
    assert.equal(r.code, 0, r.stderr);
    // Created 2025-03-08: 24 days of 31 = 0.774194 × 20 = 15.48388 list, 7.74194 billed; the large VM is off and not billed.
    const [lab] = await rows(join(dir, 'hv.csv'));
    assert.deepEqual(
      [lab?.ResourceId, lab?.PricingQuantity, lab?.ListCost, lab?.BilledCost],
      ['lab-vm', '0.774194', '15.48388', '7.74194'],
    );
    assert.equal(JSON.parse(lab?.Tags as string).project_id, 'ocean');
    assert.deepEqual(r.json().not_billed, { 'stopped (off)': 1 });
  });

  it('reads VMware PowerState and CreateDate, Proxmox status, and counts a deletion date as a day the VM existed', async () => {
    await writeFile(
      join(dir, 'vmware.csv'),
      [
        '"Name","PowerState","size","CreateDate","deleted","pi_email","project_id","fund_org"',
        '"esx-1","PoweredOn","small","2025-03-18T14:05:12.0000000-04:00","","a.rivera@example.edu","atlas","100200-2000"',
        '"esx-2","PoweredOff","large","2024-03-18T14:05:12.0000000-04:00","","a.rivera@example.edu","atlas","100200-2000"',
        '"esx-3","PoweredOn","small","2025-03-01","2025-03-01","a.rivera@example.edu","atlas","100200-2000"',
      ].join('\r\n'),
    );
    await writeFile(join(dir, 'pve.json'), JSON.stringify([{ name: 'chen-db', status: 'stopped', size: 'small' }]));
    const r = await convert('vms', 'vmware.csv', 'pve.json', '--period', '2025-03', '--out', join(dir, 'esx.csv'), '--json');
    assert.equal(r.code, 0, r.stderr);
    // esx-1: March 18 to 31 = 14 days of 31 = 0.451613 × 20 = 9.03226; esx-3: deleted the day it was
    // created, 1 day = 0.032258 × 20 = 0.64516; chen-db (Proxmox, stopped, small): the whole month.
    assert.deepEqual(
      (await rows(join(dir, 'esx.csv'))).map((c) => [c.ResourceId, c.PricingQuantity, c.ListCost]),
      [
        ['esx-1', '0.451613', '9.03226'],
        ['esx-3', '0.032258', '0.64516'],
        ['chen-db', '1', '20'],
      ],
    );
    assert.deepEqual(r.json().not_billed, { 'stopped (poweredoff)': 1 });
  });

  it('reads every stopped state a large VM may be in, Azure and Hyper-V spellings included, and refuses one it cannot tell', async () => {
    // vm-large bills running VMs only, so each state decides a charge.
    const vm = (name: string, State: unknown, extra: Record<string, unknown> = {}) => ({ Name: name, State, size: 'large', ...extra });
    await writeFile(
      join(dir, 'states.json'),
      JSON.stringify([
        vm('fast', 32779), // Hyper-V FastSaved
        vm('azure', 'VM deallocated'),
        vm('broken', 'OffCritical'),
        vm('vmware', 'Powered Off'),
        vm('hot', 'RunningCritical', { CreationTime: { value: '/Date(1741392000000)/', DateTime: 'Saturday, March 8, 2025' } }),
        vm('azure-up', 'VM running'),
        vm('kvm', 'pmsuspended'), // libvirt's virsh list --all: suspended by the guest
        // Both dates as PowerShell's DateTime objects: March 8 to March 10, 00:00 UTC.
        vm('short', 'Running', { CreationTime: { value: '/Date(1741392000000)/' }, deleted: { value: '/Date(1741564800000)/' } }),
      ]),
    );
    const out = join(dir, 'states.csv');
    const r = await convert('vms', 'states.json', '--period', '2025-03', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    // hot: created 2025-03-08 (a DateTime PowerShell wrote as an object), 24 days of 31 = 0.774194 × 80.
    assert.deepEqual(
      (await rows(out)).map((c) => [c.ResourceId, c.PricingQuantity, c.ListCost]),
      [
        ['hot', '0.774194', '61.93552'],
        ['azure-up', '1', '80'],
        // 2 days of 31 = 0.064516 × 80.
        ['short', '0.064516', '5.16128'],
      ],
    );
    assert.deepEqual(r.json().not_billed, {
      'stopped (fastsaved)': 1,
      'stopped (deallocated)': 1,
      'stopped (off)': 1,
      'stopped (poweredoff)': 1,
      'stopped (pmsuspended)': 1,
    });
    // A number whose meaning changed between Hyper-V versions, or a word no hypervisor uses.
    for (const state of [32786, 'banana']) {
      await writeFile(join(dir, 'odd.json'), JSON.stringify([vm('odd', state)]));
      const odd = await convert('vms', 'odd.json', '--period', '2025-03', '--out', join(dir, 'odd.csv'));
      assert.equal(odd.code, 2, odd.stderr);
      assert.match(
        odd.stderr,
        new RegExp(`VM odd: state "${state}" is neither running nor stopped, and rate vm-large bills running VMs only`),
      );
      assert.ok(!existsSync(join(dir, 'odd.csv')));
    }
    // A rate that bills stopped VMs too does not need to know.
    await writeFile(join(dir, 'odd.json'), JSON.stringify([{ ...vm('odd', 32786), size: 'small' }]));
    assert.equal((await convert('vms', 'odd.json', '--period', '2025-03', '--out', join(dir, 'odd.csv'))).code, 0);
    // A field holding an object is refused, not billed as "[object Object]".
    await writeFile(join(dir, 'obj.json'), JSON.stringify([{ ...vm('x', 2), Name: { First: 'x' } }]));
    const obj = await convert('vms', 'obj.json', '--period', '2025-03', '--out', join(dir, 'obj.csv'));
    assert.equal(obj.code, 2);
    assert.match(obj.stderr, /obj\.json: VM 1: name: expected text, a number or true\/false, found an object/);
  });

  it('bills a VM once however many inventories list it, and a name used again after a deletion as another VM', async () => {
    const head = 'name,size,state,created,deleted,pi_email,project_id,fund_org';
    const owner = 'a.rivera@example.edu,atlas,100200-2000';
    await writeFile(
      join(dir, 'inv-a.csv'),
      [head, `web-1,small,running,2025-02-01,,${owner}`, `ci-1,small,running,2025-03-01,2025-03-05,${owner}`].join('\n'),
    );
    // A later snapshot of the same VMs, in another order.
    await writeFile(
      join(dir, 'inv-a2.csv'),
      [head, `ci-1,small,running,2025-03-01,2025-03-05,${owner}`, `web-1,small,running,2025-02-01,,${owner}`].join('\n'),
    );
    await writeFile(
      join(dir, 'inv-b.csv'),
      [head, `ci-1,small,running,2025-03-20,,${owner}`, `web-1,small,running,2025-02-01,,${owner}`].join('\n'),
    );
    const out = join(dir, 'twice.csv');
    // web-1 three times, the first ci-1 twice, a second ci-1 (made after the first was deleted) once.
    const r = await convert('vms', 'inv-a.csv', 'inv-a2.csv', 'inv-b.csv', '--period', '2025-03', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    // web-1: the whole month = 1 × 20; ci-1: March 1–5 = 5 days of 31 = 0.16129 × 20 = 3.2258,
    // and March 20–31 = 12 days = 0.387097 × 20 = 7.74194.
    assert.deepEqual(
      (await rows(out)).map((c) => [c.ResourceId, c.PricingQuantity, c.ListCost]),
      [
        ['web-1', '1', '20'],
        ['ci-1', '0.16129', '3.2258'],
        ['ci-1', '0.387097', '7.74194'],
      ],
    );
    assert.deepEqual([r.json().records, r.json().billed, r.json().not_billed], [6, 3, { 'listed twice (billed once)': 3 }]);
  });
});

describe('convert usage', () => {
  it('prices any usage table by the rate for its service and unit', async () => {
    await writeFile(
      join(dir, 'ai.csv'),
      'date,pi_email,project_id,fund_org,service,resource,quantity,unit\n2025-03-02,a.rivera@example.edu,atlas,100200-2000,AI Gateway,key-1,1500000,unit\n2025-03-03,,,,AI Gateway,key-9,250000,unit\n',
    );
    const r = await convert('usage', 'ai.csv', '--out', join(dir, 'ai-out.csv'), '--json');
    assert.equal(r.code, 0, r.stderr);
    // 1,500,000 × 0.000002 = 3; 250,000 × 0.000002 = 0.5; the period is the rows' month.
    assert.deepEqual(
      (await rows(join(dir, 'ai-out.csv'))).map((c) => [c.BillingPeriodStart, c.ResourceId, c.BilledCost, c.Tags]),
      [
        ['2025-03-01T00:00:00Z', 'key-1', '3', '{"pi_email":"a.rivera@example.edu","project_id":"atlas","fund_org":"100200-2000"}'],
        ['2025-03-01T00:00:00Z', 'key-9', '0.5', '{}'],
      ],
    );
    assert.deepEqual(r.json().unmapped, [{ owner: 'key-9', quantity: '250000', unit: 'unit', records: 1 }]);
    assert.deepEqual(r.json().warnings, []);
  });

  it('bills a usage line repeated exactly, and says so: two bookings alike can be real, a table exported twice is not', async () => {
    const line = '2025-03-02,a.rivera@example.edu,atlas,100200-2000,AI Gateway,key-1,1500000,unit\n';
    const other = '2025-03-02,a.rivera@example.edu,atlas,100200-2000,AI Gateway,key-1,1500001,unit\n';
    await writeFile(
      join(dir, 'twice.csv'),
      `date,pi_email,project_id,fund_org,service,resource,quantity,unit\n${line}${other}${line} ${line.trim()} \n`,
    );
    const out = join(dir, 'twice-out.csv');
    const r = await convert('usage', 'twice.csv', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json().total_billed, '12.000002');
    assert.deepEqual(r.json().warnings, [
      `${join(dir, 'twice.csv')}:4: the same usage as ${join(dir, 'twice.csv')}:2, every column alike: both are billed (remove one if it was written twice)`,
      `${join(dir, 'twice.csv')}:5: the same usage as ${join(dir, 'twice.csv')}:2, every column alike: both are billed (remove one if it was written twice)`,
    ]);
    const text = await convert('usage', 'twice.csv', '--out', out);
    assert.match(text.stdout, /\nwarning: \S*twice\.csv:4: the same usage as \S*twice\.csv:2, every column alike/);
    // A file written twice over: ten named, the rest counted.
    await writeFile(join(dir, 'repeated.csv'), `date,pi_email,project_id,fund_org,service,resource,quantity,unit\n${line.repeat(14)}`);
    const many = await convert('usage', 'repeated.csv', '--out', out, '--json');
    assert.equal(many.code, 0, many.stderr);
    assert.deepEqual(
      [many.json().warnings.length, many.json().warnings[9].split(': ')[0], many.json().warnings[10]],
      [11, `${join(dir, 'repeated.csv')}:12`, 'and 3 more lines that repeat an earlier one exactly'],
    );
  });
});

describe('bad input to a converter', () => {
  /** Expects exit 2, the message at file:line, a hint, and no output file. */
  async function refused(args: string[], message: RegExp) {
    const out = join(dir, 'refused.csv');
    const r = await convert(...args, '--out', out);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /\n {2}hint: /);
    assert.ok(!existsSync(out), 'nothing written');
  }

  it('refuses malformed sacct lines, unknown states, and usage no rate prices', async () => {
    const bad = async (name: string, line: string) => {
      await writeFile(join(dir, name), `${SACCT.split('\n')[0]}\n${SACCT.split('\n')[1]}\n${line}\n`);
      return name;
    };
    await refused(
      ['slurm', await bad('s1.txt', '200|x|chen-lab|standard|COMPLETED|2025-03-01T00:00:00'), '--period', '2025-03'],
      /s1\.txt:3: malformed sacct line: expected 9 fields separated by \|, found 6/,
    );
    await refused(
      [
        'slurm',
        await bad('s2.txt', '201|x|chen-lab|standard|COMPLETED|yesterday|2025-03-01T02:00:00|02:00:00|cpu=1'),
        '--period',
        '2025-03',
      ],
      /s2\.txt:3: malformed sacct line: Start: expected a time such as 2025-03-30T10:00:00, found "yesterday"/,
    );
    await refused(
      [
        'slurm',
        await bad('s3.txt', '202|x|chen-lab|standard|EXPLODED|2025-03-01T00:00:00|2025-03-01T02:00:00|02:00:00|cpu=1'),
        '--period',
        '2025-03',
      ],
      /s3\.txt:3: unknown job state "EXPLODED" for job 202/,
    );
    await refused(
      [
        'slurm',
        await bad('s4.txt', '203|x|chen-lab|gpu|COMPLETED|2025-03-01T00:00:00|2025-03-01T02:00:00|02:00:00|cpu=1,gres/gpu:v100=1'),
        '--period',
        '2025-03',
      ],
      /s4\.txt:3: job 203 \(account chen-lab, partition gpu\): no rate in rates\.yaml prices its gpu-hours on 2025-03-01 \(partition gpu, account chen-lab, gpu_type v100\)/,
    );
    await refused(
      [
        'slurm',
        await bad('s5.txt', '204|x|chen-lab|standard|COMPLETED|2025-03-01T00:00:00|2025-03-01T02:00:00|02:00:00|cpu=lots'),
        '--period',
        '2025-03',
      ],
      /malformed sacct line: AllocTRES/,
    );
    // A resource listed twice has no one count to bill.
    await refused(
      [
        'slurm',
        await bad('s8.txt', '207|x|chen-lab|standard|COMPLETED|2025-03-01T00:00:00|2025-03-01T02:00:00|02:00:00|cpu=4,cpu=8'),
        '--period',
        '2025-03',
      ],
      /s8\.txt:3: malformed sacct line: AllocTRES: expected TRES such as cpu=4,mem=16G,gres\/gpu:a100=1, each resource once, CPU and GPU counts under 2\^32, found "cpu=4,cpu=8"/,
    );
    // Counts no allocation holds: Slurm records them in 32 bits. A fully subsidised rate would
    // have shown the 10^20 CPUs as a list price of quadrillions, and billed nothing to hold it.
    for (const [name, tres] of [
      ['s10.txt', 'cpu=99999999999999999999'],
      ['s11.txt', 'cpu=4294967296'],
      ['s12.txt', 'cpu=8,gres/gpu:a100=5000000000'],
    ] as const) {
      await refused(
        [
          'slurm',
          await bad(name, `209|x|chen-lab|standard|COMPLETED|2025-03-01T00:00:00|2025-03-01T02:00:00|02:00:00|${tres}`),
          '--period',
          '2025-03',
        ],
        new RegExp(
          `${name.replace('.', '\\.')}:3: malformed sacct line: AllocTRES: expected .*counts under 2\\^32, found "${tres.replace('/', '\\/')}"`,
        ),
      );
    }
    await bad('s13.txt', '210|x|chen-lab|standard|COMPLETED|2025-03-01T00:00:00|2025-03-01T02:00:00|02:00:00|cpu=4294967295');
    const most = await convert('slurm', 's13.txt', '--period', '2025-03', '--out', join(dir, 's13.csv'), '--json');
    assert.equal(most.code, 0, most.stderr);
    // An allocation of nothing billable is said to be so, not counted as billed.
    await bad('s9.txt', '208|x|chen-lab|standard|COMPLETED|2025-03-01T00:00:00|2025-03-01T02:00:00|02:00:00|billing=4,node=1');
    const nothing = await convert('slurm', 's9.txt', '--period', '2025-03', '--out', join(dir, 's9.csv'), '--json');
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.deepEqual([nothing.json().billed, nothing.json().not_billed], [1, { 'no CPU, GPU or memory in AllocTRES': 1 }]);
    // sacct does not escape "|" in a job name: a line with more fields than the header reads as
    // such a name when State then holds a state, and is refused by its count of fields otherwise.
    await refused(
      [
        'slurm',
        await bad('s6.txt', '205|x|chen-lab|standard|COMPLETED|2025-03-01T00:00:00|2025-03-01T02:00:00|02:00:00|cpu=1|extra'),
        '--period',
        '2025-03',
      ],
      /s6\.txt:3: malformed sacct line: expected 9 fields separated by \|, found 10/,
    );
    await bad('s7.txt', '206|a|b|c|chen-lab|standard|COMPLETED|2025-03-01T00:00:00|2025-03-01T02:00:00|02:00:00|cpu=1');
    const named = await convert('slurm', 's7.txt', '--period', '2025-03', '--out', join(dir, 's7.csv'));
    assert.equal(named.code, 0, named.stderr);
    assert.deepEqual(
      (await rows(join(dir, 's7.csv'))).filter((r) => r.ResourceId === '206').map((r) => [r.ResourceName, r.ConsumedQuantity]),
      [['a|b|c', '2']],
    );
  });

  it('refuses text that is not UTF-8 (a Latin-1 file) or holds a NUL byte, at its line, where it was turned into U+FFFD', async () => {
    const [header, first] = SACCT.split('\n');
    const job = (name: string) =>
      Buffer.from(`300|${name}|chen-lab|standard|COMPLETED|2025-03-01T00:00:00|2025-03-01T02:00:00|02:00:00|cpu=1\n`);
    // Line 2 holds UTF-8 (é), so the reader has left its ASCII path when line 3's Latin-1 é comes.
    const latin1 = Buffer.concat([Buffer.from(`${header}\n${first?.replace('cross', 'café')}\n`), job('caf\xe9').fill(0xe9, 8, 9)]);
    await writeFile(join(dir, 'latin1.txt'), latin1);
    await refused(
      ['slurm', 'latin1.txt', '--period', '2025-03'],
      /latin1\.txt:3: not UTF-8 text: expected UTF-8 text, found bytes that are not UTF-8\n {2}hint: save the file as UTF-8/,
    );
    await writeFile(join(dir, 'nul.txt'), Buffer.concat([Buffer.from(`${header}\n${first}\n`), job('a\0b')]));
    await refused(['slurm', 'nul.txt', '--period', '2025-03'], /nul\.txt:3: not a text file: expected text, found a NUL byte/);
    await writeFile(
      join(dir, 'vms-latin1.json'),
      Buffer.concat([Buffer.from('[\n  {"Name": "chen-1",\n   "Notes": "'), Buffer.from([0xe9]), Buffer.from('"}\n]\n')]),
    );
    await refused(['vms', 'vms-latin1.json', '--period', '2025-03'], /vms-latin1\.json:3: not UTF-8 text/);
    // UTF-16, as Windows PowerShell's Out-File writes: named as such, with the way to write UTF-8.
    const utf16 = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    await writeFile(join(dir, 'getvm16.json'), utf16('[{"Name": "chen-1", "State": 2, "size": "small"}]'));
    await writeFile(join(dir, 'sacct16.txt'), utf16(SACCT));
    for (const [args, file] of [
      [['vms', 'getvm16.json', '--period', '2025-03'], 'getvm16\\.json'],
      [['slurm', 'sacct16.txt', '--period', '2025-03'], 'sacct16\\.txt'],
    ] as const)
      await refused(
        [...args],
        new RegExp(
          `${file}:1: not UTF-8 text: expected UTF-8 text, found UTF-16 .*\\n {2}hint: write it as UTF-8 \\(Set-Content -Encoding utf8`,
        ),
      );
  });

  it('keeps a character whose bytes fall on both sides of a read (4 MB) whole', async () => {
    // 40,000 jobs named with two- to four-byte characters, the first name padded until the byte
    // at 4 MB (where the first read ends) is inside a character.
    const names = ['é', '€', '😀'];
    const file = (pad: number) => {
      const lines = [SACCT.split('\n')[0]];
      for (let i = 0; i < 40_000; i++) {
        const name = `${i === 0 ? 'x'.repeat(pad) : ''}${names[i % 3]?.repeat(60 + (i % 7))}`;
        lines.push(`${1000 + i}|${name}|chen-lab|standard|COMPLETED|2025-03-01T00:00:00|2025-03-01T01:00:00|01:00:00|cpu=1`);
      }
      return Buffer.from(`${lines.join('\n')}\n`);
    };
    let bytes = file(0);
    for (let pad = 1; ((bytes[4 << 20] as number) & 0xc0) !== 0x80; pad++) bytes = file(pad);
    await writeFile(join(dir, 'wide-names.txt'), bytes);
    const out = join(dir, 'wide-names.csv');
    const r = await convert('slurm', 'wide-names.txt', '--period', '2025-03', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const converted = await readFile(out, 'utf8');
    assert.ok(!converted.includes('\uFFFD'), 'no character lost');
  });

  it('refuses a wrong column set, a date outside the period, a negative quantity and an unknown unit', async () => {
    await writeFile(join(dir, 'u1.csv'), 'day,pi,quantity\n2025-03-01,a,1\n');
    await refused(['usage', 'u1.csv'], /u1\.csv:1: expected the columns date,pi_email,project_id,fund_org,service,resource,quantity,unit/);
    // Saved by a spreadsheet in a decimal-comma language (semicolons, a byte-order mark) or with tabs: said so, as ingest says it.
    await writeFile(
      join(dir, 'u1-semicolons.csv'),
      '\ufeffdate;pi_email;project_id;fund_org;service;resource;quantity;unit\r\n2025-03-01;a;p;f;s;r;1,5;unit\r\n',
    );
    await refused(
      ['usage', 'u1-semicolons.csv'],
      /u1-semicolons\.csv:1: the columns are separated by semicolons, not commas\n {2}hint: save it again as comma-separated CSV/,
    );
    await writeFile(join(dir, 's-tabs.csv'), 'date\tpath\tused_bytes\n2025-03-01\t/ifs/proj/a1\t1\n');
    await refused(
      ['storage', 's-tabs.csv', '--format', 'csv', '--period', '2025-03'],
      /s-tabs\.csv:1: the columns are separated by tabs, not commas/,
    );
    await writeFile(
      join(dir, 'vm-semicolons.csv'),
      '"name";"size";"state";"created";"deleted";"pi_email";"project_id";"fund_org"\nvm1;small;running;2025-01-01;;a@x.edu;p;f\n',
    );
    await refused(
      ['vms', 'vm-semicolons.csv', '--period', '2025-03'],
      /vm-semicolons\.csv:1: the columns are separated by semicolons, not commas/,
    );
    const head = 'date,pi_email,project_id,fund_org,service,resource,quantity,unit\n';
    await writeFile(join(dir, 'u2.csv'), `${head}2025-03-01,a@x.edu,p,f,AI Gateway,k,1,unit\n2025-04-01,a@x.edu,p,f,AI Gateway,k,1,unit\n`);
    await refused(['usage', 'u2.csv'], /u2\.csv:3:1: date 2025-04-01 is outside the period 2025-03/);
    await writeFile(join(dir, 'u3.csv'), `${head}2025-03-01,a@x.edu,p,f,AI Gateway,k,-5,unit\n`);
    await refused(['usage', 'u3.csv'], /u3\.csv:2:7: quantity: expected zero or more, found -5/);
    await writeFile(join(dir, 'u4.csv'), `${head}2025-03-01,a@x.edu,p,f,AI Gateway,k,5,tokens\n`);
    await refused(
      ['usage', 'u4.csv'],
      /u4\.csv:2:8: unit: expected one of core-hour, gpu-hour, gb-hour, gb-month, tb-month, vm-month, unit, found "tokens"/,
    );
    await writeFile(join(dir, 's.csv'), 'date,path,used_bytes\n2025-02-28,/ifs/proj/a1,1\n');
    await refused(
      ['storage', 's.csv', '--format', 'csv', '--period', '2025-03'],
      /s\.csv:2: date 2025-02-28 is outside the period 2025-03/,
    );
    await writeFile(join(dir, 's2.csv'), 'date,path,used_bytes\n2025-03-01,/ifs/proj/a1,-1\n');
    await refused(
      ['storage', 's2.csv', '--format', 'csv', '--period', '2025-03'],
      /s2\.csv:2: used_bytes: expected a whole, non-negative number of bytes, found "-1"/,
    );
    // More than a file system reports (2^64 bytes) is no storage's use: 10^29 bytes was billed as 10^17 TB.
    await writeFile(join(dir, 's3.csv'), 'date,path,used_bytes\n2025-03-01,/ifs/proj/a1,100000000000000000000000000000\n');
    await refused(
      ['storage', 's3.csv', '--format', 'csv', '--period', '2025-03'],
      /s3\.csv:2: used_bytes: expected at most 2\^64 bytes \(16 EiB, the most a file system reports\), found "100000000000000000000000000000"/,
    );
  });

  it('refuses a quote anywhere but around a whole field, which a lenient reader drops from the value', async () => {
    const vmHead = 'name,size,state,created,deleted,pi_email,project_id,fund_org\n';
    const vm = (name: string) => `${vmHead}${name},small,running,2025-03-01,,a@x.edu,p,100200-2000\n`;
    await writeFile(join(dir, 'q1.csv'), vm('=HYPERLINK("x")'));
    await refused(
      ['vms', 'q1.csv', '--period', '2025-03'],
      /q1\.csv:2: malformed CSV: a quote inside field 1, which does not start with one/,
    );
    await writeFile(join(dir, 'q2.csv'), vm('"web"-1'));
    await refused(['vms', 'q2.csv', '--period', '2025-03'], /q2\.csv:2: malformed CSV: text after the closing quote of field 1/);
    await writeFile(join(dir, 'q3.csv'), vm('"web-1'));
    await refused(['vms', 'q3.csv', '--period', '2025-03'], /q3\.csv:2: malformed CSV: a quote that is never closed/);
    await writeFile(join(dir, 'q4.csv'), 'date,path,used_bytes\n2025-03-01,/ifs/proj/a"1,5\n');
    await refused(['storage', 'q4.csv', '--format', 'csv', '--period', '2025-03'], /q4\.csv:2: malformed CSV: a quote inside field 2/);
    await writeFile(
      join(dir, 'q5.csv'),
      'date,pi_email,project_id,fund_org,service,resource,quantity,unit\n2025-03-01,a@x.edu,p,f,AI Gateway,k,"1" ,unit\n',
    );
    await refused(['usage', 'q5.csv'], /q5\.csv:2: malformed CSV: text after the closing quote of field 7/);
    // Quoted whole, with its quotes doubled, the same name is taken as it is.
    await writeFile(join(dir, 'q6.csv'), vm('"=HYPERLINK(""x""), ""the"" VM"'));
    const out = join(dir, 'q6-out.csv');
    const r = await convert('vms', 'q6.csv', '--period', '2025-03', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await rows(out)).map((c) => c.ResourceName),
      ['=HYPERLINK("x"), "the" VM'],
    );
  });

  it('refuses an input given twice (by another path, a link, or a copy), and an --out that would replace an input', async () => {
    const head = 'date,pi_email,project_id,fund_org,service,resource,quantity,unit\n';
    await writeFile(join(dir, 'use.csv'), `${head}2025-03-01,a@x.edu,p,f,AI Gateway,k,5,unit\n`);
    await writeFile(join(dir, 'use-copy.csv'), `${head}2025-03-01,a@x.edu,p,f,AI Gateway,k,5,unit\n`);
    await writeFile(join(dir, 'use-other.csv'), `${head}2025-03-02,a@x.edu,p,f,AI Gateway,k,5,unit\n`);
    await link(join(dir, 'use.csv'), join(dir, 'use-link.csv'));
    await refused(
      ['usage', 'use.csv', `${dir}/./use.csv`],
      /\.\/use\.csv is the same file as \S*use\.csv: its records would be billed twice/,
    );
    await refused(['usage', 'use-link.csv', 'use.csv'], /use\.csv is the same file as \S*use-link\.csv/);
    await writeFile(join(dir, 'use-again.csv.gz'), gzipSync(await readFile(join(dir, 'use.csv'))));
    await refused(['usage', 'use.csv', 'use-again.csv.gz'], /use-again\.csv\.gz has the same bytes as \S*use\.csv/);
    await refused(
      ['usage', 'use-other.csv', 'use.csv', 'use-copy.csv'],
      /use-copy\.csv has the same bytes as \S*use\.csv: its records would be billed twice/,
    );
    const before = await readFile(join(dir, 'use.csv'), 'utf8');
    const r = await convert('usage', 'use-link.csv', '--out', join(dir, 'use.csv'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--out \S*use\.csv is the input \S*use-link\.csv, which the conversion would replace/);
    assert.equal(await readFile(join(dir, 'use.csv'), 'utf8'), before, 'the input is as it was');
  });

  it('refuses a path listed twice in the quota reports, as it is written either way', async () => {
    const quota = (path: string) => ({ path, type: 'directory', usage: { fslogical: 2_000_000_000_000 } });
    await writeFile(join(dir, 'isi-twice.json'), JSON.stringify([quota('/ifs/proj/a1'), quota('/ifs/proj/a1/')]));
    await refused(
      ['storage', 'isi-twice.json', '--format', 'isilon', '--period', '2025-03'],
      /isi-twice\.json: \/ifs\/proj\/a1 is listed twice in the quota reports \(first in \S*isi-twice\.json \(quota 1\)\)\n {2}hint: give one quota report per month/,
    );
  });

  it('reads a path written with a doubled slash as the path it is, and refuses one with a . or .. in it', async () => {
    // "$root/$dir" scripts write //: cache is still inside a1, and its terabyte is billed once.
    await writeFile(
      join(dir, 'slashes.csv'),
      'date,path,used_bytes\n2025-03-01,/ifs/proj/a1,3000000000000\n2025-03-01,/ifs//proj/a1//cache/,1000000000000\n',
    );
    const out = join(dir, 'slashes-out.csv');
    const r = await convert('storage', 'slashes.csv', '--format', 'csv', '--period', '2025-03', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await rows(out)).map((c) => [c.ResourceId, c.PricingQuantity]),
      [
        ['/ifs/proj/a1', '2'],
        ['/ifs/proj/a1/cache', '1'],
      ],
    );
    // a1/../b1 is b1, not a path inside a1, whose use it would have been taken off.
    await writeFile(
      join(dir, 'dots.csv'),
      'date,path,used_bytes\n2025-03-01,/ifs/proj/a1,3000000000000\n2025-03-01,/ifs/proj/a1/../b1,1000000000000\n',
    );
    await refused(
      ['storage', 'dots.csv', '--format', 'csv', '--period', '2025-03'],
      /dots\.csv:3: path \/ifs\/proj\/a1\/\.\.\/b1: a \. or \.\. in it names another path than it seems \(\/p\/y\/\.\.\/x is \/p\/x, not a path inside \/p\/y\)\n {2}hint: give each path as the file system reports it/,
    );
  });

  it('keeps codes written bare in accounts.yaml as written: leading zeros, trailing zeros, a numeric account', async () => {
    // YAML reads 0012345 as the number 12345 and 1.10 as 1.1: a fund/org billed under another code.
    const bare = `accounts:\n  - { account: 4410, pi_email: w.chen@example.edu, project_id: climate, fund_org: 0012345, cost_center: 1.10 }\n`;
    await writeFile(join(dir, 'accounts-bare.yaml'), bare);
    await writeFile(
      join(dir, 'sacct-bare.txt'),
      `${SACCT.split('\n')[0]}\n200|job|4410|standard|COMPLETED|2025-03-02T00:00:00|2025-03-02T01:00:00|01:00:00|cpu=2\n`,
    );
    const out = join(dir, 'bare.csv');
    const r = await convert('slurm', 'sacct-bare.txt', '--period', '2025-03', '--accounts', join(dir, 'accounts-bare.yaml'), '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const tags = (await rows(out)).map((row) => JSON.parse(row.Tags as string));
    assert.deepEqual(
      tags.map((t) => [t.slurm_account, t.fund_org, t.cost_center]),
      [['4410', '0012345', '1.10']],
    );
  });

  it('maps and prices a Slurm account written with capitals in accounts.yaml and rates.yaml (Slurm keeps account names in lower case)', async () => {
    await writeFile(join(dir, 'accounts-caps.yaml'), ACCOUNTS.replace('account: chen-lab', 'account: Chen-Lab'));
    await writeFile(
      join(dir, 'sacct-caps.txt'),
      `${SACCT.split('\n')[0]}\n200|job|chen-lab|standard|COMPLETED|2025-03-02T00:00:00|2025-03-02T01:00:00|01:00:00|cpu=2\n`,
    );
    // A rate selecting the account as written there too.
    await writeFile(
      join(dir, 'rates-caps.yaml'),
      'currency: USD\nrates:\n  - { id: chen, service: HPC CPU Compute, unit: core-hour, list_price: "0.05", match: { partition: standard, account: Chen-Lab }, effective_from: 2025-01-01 }\n',
    );
    const out = join(dir, 'caps.csv');
    const r = await convert(
      'slurm',
      'sacct-caps.txt',
      '--period',
      '2025-03',
      '--accounts',
      join(dir, 'accounts-caps.yaml'),
      '--rates',
      join(dir, 'rates-caps.yaml'),
      '--out',
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await rows(out)).map((row) => [row.x_RateId, row.BilledCost, ...Object.values(JSON.parse(row.Tags as string)).slice(0, 3)]),
      [['chen', '0.1', 'w.chen@example.edu', 'climate', '100100-1000']],
    );
  });

  it('refuses an accounts.yaml entry that could never match, or an account with two owners', async () => {
    const vms = 'name,size,state,created,deleted\nchen-db,small,running,2025-03-01,\n';
    await writeFile(join(dir, 'owners-vms.csv'), vms);
    for (const [extra, said] of [
      [
        'vms:\n  - { name: "chen-*", pi_email: x@x.edu, project_id: other, fund_org: "1" }',
        /vms\.1\.name: chen-\* is also vms\.0: the first entry for a name wins, so this one would never match/,
      ],
      [
        'storage:\n  - { path: "/ifs//archive/b/", pi_email: x@x.edu, project_id: other, fund_org: "1" }',
        /storage\.3\.path: \/ifs\/archive\/b is also storage\.1/,
      ],
      [
        'accounts:\n  - { account: Chen-Lab, pi_email: x@x.edu, project_id: other, fund_org: "1" }',
        /accounts\.1\.account: chen-lab is also accounts\.0: each account has one owner/,
      ],
    ] as const) {
      // The extra entry appended to its own list (YAML keeps the last key: the list is rebuilt whole).
      const [key, entry] = extra.split(':\n') as [string, string];
      const text = ACCOUNTS.replace(new RegExp(`^${key}:\\n((?:  - .*\\n)+)`, 'm'), (_m, items) => `${key}:\n${items}${entry}\n`);
      await writeFile(join(dir, 'accounts-twice.yaml'), text);
      await refused(
        ['vms', 'owners-vms.csv', '--period', '2025-03', '--accounts', join(dir, 'accounts-twice.yaml')],
        new RegExp(`accounts-twice\\.yaml:\\d+:\\d+: ${said.source}`),
      );
    }
  });

  it('refuses two different listings of one VM name while both existed, naming both', async () => {
    const head = 'name,size,state,created,deleted,pi_email,project_id,fund_org\n';
    await writeFile(join(dir, 'day1.csv'), `${head}web-1,small,running,2025-02-01,,a@x.edu,p,100200-2000\n`);
    await writeFile(join(dir, 'day2.csv'), `${head}\nweb-1,medium,running,2025-02-01,,a@x.edu,p,100200-2000\n`);
    await refused(
      ['vms', 'day1.csv', 'day2.csv', '--period', '2025-03'],
      /day2\.csv:3: VM web-1 is listed again, differently, while the one at \S*day1\.csv:2 existed/,
    );
  });

  it('refuses a quantity out of range, and costs that reach 10^20 (which ingest refuses), naming the charge', async () => {
    const head = 'date,pi_email,project_id,fund_org,service,resource,quantity,unit\n';
    await writeFile(join(dir, 'u-exp.csv'), `${head}2025-03-01,a@x.edu,p,f,AI Gateway,k,1e999999999,unit\n`);
    await refused(['usage', 'u-exp.csv'], /u-exp\.csv:2:7: quantity: expected a decimal number with at most 6 places, found "1e999999999"/);
    // AI Gateway costs 0.000002 a unit (RATES): 10^26 units cost 2 × 10^20.
    await writeFile(join(dir, 'u-big.csv'), `${head}2025-03-01,a@x.edu,p,f,AI Gateway,k,1e26,unit\n`);
    await refused(
      ['usage', 'u-big.csv'],
      /^error: \S+u-big\.csv:2: 1e26 units of AI Gateway \(k\): costs 200000000000000000000 USD; amounts stay under 10\^20 USD a month\n/,
    );
    // Each 3 × 10^19, the fourth brings the sum to 1.2 × 10^20; the file's sum is said once,
    // not again for each row after it.
    const row = (i: number) => `2025-03-01,a@x.edu,p,f,AI Gateway,k${i},1.5e25,unit\n`;
    await writeFile(join(dir, 'u-sum.csv'), `${head}${[1, 2, 3, 4, 5, 6].map(row).join('')}`);
    await refused(
      ['usage', 'u-sum.csv'],
      /u-sum\.csv:5: 1\.5e25 units of AI Gateway \(k4\): with its 30000000000000000000 USD, the file's costs add up to 10\^20 or more; amounts stay under 10\^20 USD a month\n {2}hint: [^\n]*\n$/,
    );
  });

  it('names every bad record of a run, in file order, and stops reading at the limit', async (t) => {
    const [header, good] = SACCT.split('\n') as [string, string];
    await writeFile(
      join(dir, 'many.txt'),
      [
        header,
        '120|x|chen-lab|standard|COMPLETED|2025-03-02T00:00:00|2025-03-01T00:00:00|00:00:00|cpu=1',
        good,
        '121|x|chen-lab|standard|COMPLETED|2025-03-02T00:00:00|2025-03-02T01:00:00|00:00:00|cpu=lots',
        '122|x|chen-lab|nowhere|COMPLETED|2025-03-02T00:00:00|2025-03-02T01:00:00|00:00:00|cpu=1',
        '123|x|chen-lab|standard|COMPLETED',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'many.csv');
    const r = await convert('slurm', 'many.txt', '--period', '2025-03', '--out', out);
    assert.equal(r.code, 2);
    const file = join(dir, 'many.txt');
    assert.equal(
      r.stderr,
      [
        `error: ${file}:2: malformed sacct line: End: expected a time after the job's Start (2025-03-02T00:00:00), found "2025-03-01T00:00:00"`,
        '  hint: sacct prints times as YYYY-MM-DDTHH:MM:SS; take the output with --parsable2',
        '  and 3 more problems:',
        `    ${file}:4: malformed sacct line: AllocTRES: expected TRES such as cpu=4,mem=16G,gres/gpu:a100=1, each resource once, CPU and GPU counts under 2^32, found "cpu=lots"`,
        `    ${file}:5: job 122 (account chen-lab, partition nowhere): no rate in rates.yaml prices its core-hours on 2025-03-02 (partition nowhere, account chen-lab)`,
        `    ${file}:6: malformed sacct line: expected 9 fields separated by |, found 5`,
        '',
      ].join('\n'),
    );
    assert.ok(!existsSync(out), 'nothing written');
    // Each has its place in --json too (a record no rate prices had it in its text only, so it sorted last).
    const placed = (await convert('slurm', 'many.txt', '--period', '2025-03', '--out', out, '--json')).json();
    assert.deepEqual(
      (placed.more as { file: string; line: number }[]).map((m) => [m.file, m.line]),
      [
        [file, 4],
        [file, 5],
        [file, 6],
      ],
    );

    // With --json, every problem shown with its hint and place; at the limit, reading stops.
    t.after(() => {
      delete process.env.OCB_CONVERT_PROBLEM_LIMIT;
    });
    process.env.OCB_CONVERT_PROBLEM_LIMIT = '2';
    const j = await convert('slurm', 'many.txt', '--period', '2025-03', '--out', out, '--json');
    assert.equal(j.code, 2);
    const json = j.json();
    assert.equal(json.line, 2);
    assert.equal(json.more_count, 1);
    assert.equal(json.stopped_at, 2);
    assert.deepEqual(json.more, [
      {
        error:
          'malformed sacct line: AllocTRES: expected TRES such as cpu=4,mem=16G,gres/gpu:a100=1, each resource once, CPU and GPU counts under 2^32, found "cpu=lots"',
        hint: 'AllocTRES lists what the allocation holds, such as billing=4,cpu=4,mem=16G,gres/gpu:a100=1',
        file,
        line: 4,
      },
    ]);
    assert.match(j.stderr, /\n {2}and 1 more problem, then reading stopped at 2 problems:\n/);
    delete process.env.OCB_CONVERT_PROBLEM_LIMIT;

    // The other converters read on the same way, their later checks (duplicates, prices) included.
    const usage = 'date,pi_email,project_id,fund_org,service,resource,quantity,unit\n';
    await writeFile(
      join(dir, 'u-many.csv'),
      `${usage}2025-03-xx,a@x.edu,p,f,AI Gateway,k,1,unit\n2025-03-02,a@x.edu,p,f,AI Gateway,k,-1,unit\n2025-03-02,a@x.edu,p,f,Nothing,k,1,unit\n`,
    );
    const u = await convert('usage', 'u-many.csv', '--period', '2025-03', '--out', out);
    assert.deepEqual(
      [...u.stderr.matchAll(/u-many\.csv:(\d+)/g)].map((m) => m[1]),
      ['2', '3', '4'],
    );
    await writeFile(
      join(dir, 's-many.csv'),
      'date,path,used_bytes\n2025-03-01,/ifs/proj/a1,1\n2025-03-01,/ifs/proj/a1,2\n2025-03-02,/ifs/proj/a1,x\n',
    );
    const st = await convert('storage', 's-many.csv', '--format', 'csv', '--period', '2025-03', '--out', out);
    assert.match(
      st.stderr,
      /^error: \S+s-many\.csv:3: \/ifs\/proj\/a1 is sampled twice on 2025-03-01.*\n {2}hint: .*\n {2}and 1 more problem:\n {4}\S+s-many\.csv:4: used_bytes:/,
    );
    // Past ten, the first shown are the first by line, whenever found: the sample listed twice
    // (line 3) is found after the eleven bad dates below it are read.
    const bad = Array.from({ length: 11 }, (_, i) => `2025-03-${40 + i},/ifs/proj/a${i},1\n`).join('');
    await writeFile(join(dir, 's-more.csv'), `date,path,used_bytes\n2025-03-01,/ifs/proj/a1,1\n2025-03-01,/ifs/proj/a1,2\n${bad}`);
    const more = await convert('storage', 's-more.csv', '--format', 'csv', '--period', '2025-03', '--out', out);
    assert.deepEqual(
      [...more.stderr.matchAll(/s-more\.csv:(\d+)/g)].map((m) => Number(m[1])),
      [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
    assert.match(more.stderr, /\n {2}and 11 more problems:\n(?: {4}.*\n){9} {4}… 2 more not shown\n$/);
    await writeFile(
      join(dir, 'vm-many.csv'),
      'name,size,state,created\n,small,running,2025-03-01\nweb-1,small,running,2025-03-01\nweb-1,medium,running,2025-03-01\nweb-2,small,running,2025-03-99\n',
    );
    const v = await convert('vms', 'vm-many.csv', '--period', '2025-03', '--out', out);
    assert.deepEqual(
      [...v.stderr.matchAll(/vm-many\.csv:(\d+): (\S+ \S+)/g)].map((m) => `${m[1]} ${m[2]}`),
      ['2 a VM', '4 VM web-1', '5 created: expected'],
    );
    assert.ok(!existsSync(out), 'nothing written');
  });

  it('refuses a record whose FOCUS row would be longer than ingest reads, at its line', async () => {
    // A job name of 1.1 million "é" (2.2 MB of UTF-8): ingest reads lines of at most 2,000,000 bytes.
    const [header] = SACCT.split('\n') as [string];
    await writeFile(
      join(dir, 'long.txt'),
      `${header}\n130|${'é'.repeat(1_100_000)}|chen-lab|standard|COMPLETED|2025-03-02T00:00:00|2025-03-02T01:00:00|01:00:00|cpu=1\n`,
    );
    await refused(
      ['slurm', 'long.txt', '--period', '2025-03'],
      /long\.txt:2: the charge for resource "130" would be a FOCUS row of 2,200,\d{3} bytes, and ingest reads lines of at most 2,000,000\n/,
    );
  });

  it('refuses a day the calendar lacks, which JavaScript reads as one of the next month', async () => {
    // Date.parse reads 2025-02-30 as March 2: the usage was billed in February's file, dated March.
    const head = 'date,pi_email,project_id,fund_org,service,resource,quantity,unit\n';
    await writeFile(join(dir, 'u-feb30.csv'), `${head}2025-02-30,a@x.edu,p,f,AI Gateway,k,1,unit\n`);
    await refused(['usage', 'u-feb30.csv'], /u-feb30\.csv:2:1: date: expected a calendar day as YYYY-MM-DD, found "2025-02-30"/);
    await writeFile(join(dir, 's-feb30.csv'), 'date,path,used_bytes\n2025-02-28,/ifs/proj/a1,1\n2025-02-30,/ifs/proj/a1,1\n');
    await refused(
      ['storage', 's-feb30.csv', '--format', 'csv', '--period', '2025-02'],
      /s-feb30\.csv:3:1: date: expected a calendar day as YYYY-MM-DD, found "2025-02-30"/,
    );
    await writeFile(join(dir, 'vm-apr31.json'), '[{"Name": "chen-1", "State": "Running", "CreationTime": "2025-04-31T08:00:00Z"}]');
    await refused(
      ['vms', 'vm-apr31.json', '--period', '2025-04'],
      /vm-apr31\.json: VM 1: created: expected a date such as 2025-03-14 or 2025-03-14T09:30:00Z, found "2025-04-31T08:00:00Z"/,
    );
    // And an offset no zone has, which Date.parse reads up to +23:59.
    await writeFile(join(dir, 'vm-plus20.json'), '[{"Name": "chen-1", "State": "Running", "CreationTime": "2025-04-03T08:00:00+20:00"}]');
    await refused(
      ['vms', 'vm-plus20.json', '--period', '2025-04'],
      /vm-plus20\.json: VM 1: created: expected a date .*found "2025-04-03T08:00:00\+20:00"/,
    );
    await writeFile(join(dir, 'vm-feb30.csv'), 'name,size,state,created\nchen-1,small,running,2025-02-30\n');
    await refused(['vms', 'vm-feb30.csv', '--period', '2025-02'], /vm-feb30\.csv:2: created: expected a date such as/);
  });

  it('refuses a rate billed above its list price, and a storage allowance on a rate of other usage', async (t) => {
    const d = await scratch(t);
    await writeFile(join(d, 'x.txt'), SACCT);
    const rate = (extra: string) =>
      writeFile(
        join(d, 'rates.yaml'),
        `currency: USD\nrates:\n  - { id: a, service: S, unit: core-hour, list_price: "0.03", ${extra}match: { partition: [standard, long, gpu, himem] }, effective_from: 2025-01-01 }\n`,
      );
    await rate('billed_price: "0.05", ');
    const above = await cli('convert', 'slurm', join(d, 'x.txt'), '--period', '2025-03', '--root', d);
    assert.equal(above.code, 2);
    assert.match(
      above.stderr,
      /^error: rates\.yaml:3:\d+: rates\.0\.billed_price: 0\.05 is above its list_price 0\.03\n {2}hint: the list price is the full price/,
    );
    await rate('free_tb: "1", ');
    const free = await cli('convert', 'slurm', join(d, 'x.txt'), '--period', '2025-03', '--root', d);
    assert.equal(free.code, 2);
    assert.match(
      free.stderr,
      /^error: rates\.yaml:3:\d+: rates\.0\.free_tb: an allowance of storage, and a prices slurm usage: it would be ignored/,
    );
  });

  it('refuses rates.yaml with two rates for the same usage, at its line', async (t) => {
    const d = await scratch(t);
    await writeFile(
      join(d, 'rates.yaml'),
      'currency: USD\nrates:\n  - { id: a, service: S, unit: core-hour, list_price: "0.03", match: { partition: [standard, long] }, effective_from: 2025-01-01 }\n  - { id: b, service: S, unit: core-hour, list_price: "0.04", match: { partition: long }, effective_from: 2025-03-01 }\n',
    );
    await writeFile(join(d, 'x.txt'), SACCT);
    const r = await cli('convert', 'slurm', join(d, 'x.txt'), '--period', '2025-03', '--root', d);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^error: rates\.yaml:4:\d+: rates a and b both price core-hours of the same usage from 2025-03-01\n {2}hint: end a the day before b starts/,
    );
  });
});
