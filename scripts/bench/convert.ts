/**
 * The Slurm converter on a synthetic month of 1,000,000 sacct allocations (500 accounts, CPU,
 * GPU and large-memory partitions, a rate change mid-month, jobs crossing both month ends, 1%
 * pending): wall time and peak memory of `focus-billing convert slurm`, and the yardstick of
 * reading the same file line by line and splitting it (the least any converter must do).
 * Target (2 cores): at most 10 s and 1 GB.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../lib/prng.ts';
import { median } from './median.ts';
import { timedNode } from './timed.ts';

const ACCOUNTS = 500;

const RATES = `currency: USD
rates:
  - { id: cpu, service: HPC CPU Compute, unit: core-hour, list_price: "0.03", subsidy_percent: "100", match: { partition: [standard, long, gpu] }, effective_from: 2024-07-01 }
  - { id: himem-cpu, service: HPC CPU Compute, unit: core-hour, list_price: "0.04", subsidy_percent: "100", match: { partition: himem }, effective_from: 2024-07-01 }
  - { id: himem-mem, service: HPC Large Memory, unit: gb-hour, list_price: "0.004", subsidy_percent: "50", match: { partition: himem }, effective_from: 2024-07-01 }
  - { id: a100, service: HPC GPU Compute, unit: gpu-hour, list_price: "0.90", subsidy_percent: "50", match: { partition: gpu, gpu_type: a100 }, effective_from: 2024-07-01, effective_to: 2025-03-14 }
  - { id: a100-new, service: HPC GPU Compute, unit: gpu-hour, list_price: "1.10", subsidy_percent: "50", match: { partition: gpu, gpu_type: a100 }, effective_from: 2025-03-15 }
  - { id: v100, service: HPC GPU Compute, unit: gpu-hour, list_price: "0.45", subsidy_percent: "50", match: { partition: gpu, gpu_type: v100 }, effective_from: 2024-07-01 }
`;

async function writeSacct(path: string, records: number): Promise<void> {
  const rand = prng(42);
  const out = createWriteStream(path);
  const start = Date.UTC(2025, 2, 1);
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19);
  let chunk = 'JobID|JobName|Account|Partition|State|Start|End|Elapsed|AllocTRES\n';
  for (let i = 0; i < records; i++) {
    const account = `lab${Math.floor(rand() * ACCOUNTS)}`;
    const from = start - 2 * 86_400_000 + Math.floor(rand() * 33 * 86_400) * 1000;
    const ms = Math.floor(60 + rand() * 40 * 3600) * 1000;
    const kind = rand();
    const state = kind < 0.01 ? 'PENDING' : rand() < 0.85 ? 'COMPLETED' : 'FAILED';
    const [partition, tres] =
      kind < 0.7
        ? ['standard', `billing=4,cpu=${1 + (i % 32)},mem=16G,node=1`]
        : kind < 0.9
          ? ['gpu', `billing=8,cpu=8,gres/gpu=2,gres/gpu:${i % 3 ? 'a100' : 'v100'}=2,mem=64G,node=1`]
          : ['himem', `billing=16,cpu=16,mem=${256 + (i % 512)}G,node=1`];
    chunk +=
      state === 'PENDING'
        ? `${7_000_000 + i}|job${i}|${account}|${partition}|PENDING|Unknown|Unknown|00:00:00|\n`
        : `${7_000_000 + i}|job${i}|${account}|${partition}|${state}|${iso(from)}|${iso(from + ms)}|00:00:00|${tres}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((r) => out.on('finish', () => r()));
}

export interface ConvertBench {
  records: number;
  mb: number;
  times: number[];
  seconds: number;
  rssMb: number;
  charges: number;
  yardstick: number;
}

export async function convertBench(work: string, cli: string, records: number, runs: number): Promise<ConvertBench> {
  const dir = join(work, 'convert');
  mkdirSync(dir, { recursive: true });
  const sacct = join(dir, `sacct-${records}.txt`);
  if (!existsSync(sacct)) {
    process.stderr.write(`Writing ${records.toLocaleString('en-US')} synthetic sacct records to ${sacct}…\n`);
    await writeSacct(sacct, records);
  }
  writeFileSync(join(dir, 'rates.yaml'), RATES);
  writeFileSync(
    join(dir, 'accounts.yaml'),
    `accounts:\n${Array.from({ length: ACCOUNTS }, (_, i) => `  - { account: lab${i}, pi_email: pi${i}@example.edu, project_id: p${i}, fund_org: "${100000 + i}-1000" }`).join('\n')}\n`,
  );
  const rss = join(dir, 'maxrss');
  const out = join(dir, 'hpc.csv');
  const times: number[] = [];
  const yard: number[] = [];
  let rssMb = 0;
  let charges = 0;
  for (let r = 0; r < runs; r++) {
    // The yardstick: read every line and split it on |, nothing else.
    const t = performance.now();
    const y = spawnSync(process.execPath, [
      '-e',
      `const rl=require('node:readline').createInterface({input:require('node:fs').createReadStream(${JSON.stringify(sacct)})});let n=0;rl.on('line',l=>{n+=l.split('|').length});rl.on('close',()=>console.log(n))`,
    ]);
    if (y.status !== 0) throw new Error(`yardstick failed: ${y.stderr}`);
    yard.push((performance.now() - t) / 1000);
    rmSync(out, { force: true });
    const p = timedNode(
      'convert slurm',
      [cli, 'convert', 'slurm', sacct, '--period', '2025-03', '--out', out, '--json', '--root', dir],
      rss,
    );
    const seconds = p.seconds;
    times.push(seconds);
    rssMb = Math.max(rssMb, p.rssMb);
    charges = JSON.parse(p.stdout).charges;
    process.stderr.write(`  round ${r + 1}: convert slurm ${seconds.toFixed(2)} s, yardstick ${yard[r]?.toFixed(2)} s\n`);
  }
  return { records, mb: statSync(sacct).size / 1e6, times, seconds: median(times), rssMb, charges, yardstick: median(yard) };
}
