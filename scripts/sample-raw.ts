/**
 * The raw inputs of the sample institution's own services, as their systems export them: Slurm
 * accounting (sacct --parsable2), storage quota reports (an Isilon quota list, daily usage
 * samples) and a VM inventory, with the rates.yaml and accounts.yaml that price and attribute
 * them. make-sample-data.ts converts them with the real converters into the HPC, storage and VM
 * FOCUS files the demo ingests. Deterministic.
 */
import { prng } from './lib/prng.ts';

type Pi = readonly [email: string, name: string, projects: readonly string[]];

export const RATES_YAML = `# yaml-language-server: $schema=schemas/rates.schema.json
# The sample institution's price list for its own services (docs/sources/TEMPLATE.md#rates).
# Prices are per unit, as decimal strings; billed = list × (1 − subsidy_percent/100).
currency: USD
rates:
  # HPC: CPU time is free to PIs (fully subsidised), its list price still shown on statements.
  - id: hpc-cpu-standard
    service: HPC CPU Compute
    unit: core-hour
    list_price: "0.0300"
    subsidy_percent: "100"
    match: { partition: [standard, long] }
    effective_from: 2024-07-01
  - id: hpc-cpu-gpu-nodes
    service: HPC CPU Compute
    unit: core-hour
    list_price: "0.0300"
    subsidy_percent: "100"
    match: { partition: gpu }
    effective_from: 2024-07-01
  - id: hpc-cpu-himem
    service: HPC CPU Compute
    unit: core-hour
    list_price: "0.0400"
    subsidy_percent: "100"
    match: { partition: himem }
    effective_from: 2024-07-01
  - id: hpc-mem-himem
    service: HPC Large Memory
    unit: gb-hour
    list_price: "0.0040"
    subsidy_percent: "50"
    match: { partition: himem }
    effective_from: 2024-07-01
  # GPUs are half price; the A100 rate went up on December 15, 2025.
  - id: hpc-gpu-a100
    service: HPC GPU Compute
    unit: gpu-hour
    list_price: "0.90"
    subsidy_percent: "50"
    match: { partition: gpu, gpu_type: a100 }
    effective_from: 2024-07-01
    effective_to: 2025-12-14
  - id: hpc-gpu-a100-2025-12
    service: HPC GPU Compute
    unit: gpu-hour
    list_price: "1.10"
    subsidy_percent: "50"
    match: { partition: gpu, gpu_type: a100 }
    effective_from: 2025-12-15
  - id: hpc-gpu-v100
    service: HPC GPU Compute
    unit: gpu-hour
    list_price: "0.45"
    subsidy_percent: "50"
    match: { partition: gpu, gpu_type: v100 }
    effective_from: 2024-07-01
  # Storage: the first terabyte of each project is free.
  - id: research-storage
    service: Research Storage
    unit: tb-month
    list_price: "25.00"
    free_tb: "1"
    match: { path: "/ifs/projects/**" }
    effective_from: 2024-07-01
  - id: archive-storage
    service: Archive Storage
    unit: tb-month
    list_price: "5.00"
    match: { tier: archive }
    effective_from: 2024-07-01
  # Virtual machines on the campus cluster, per VM-month, prorated by day.
  - id: vm-small
    service: Virtual Machines
    unit: vm-month
    list_price: "30.00"
    subsidy_percent: "50"
    match: { size: small }
    effective_from: 2024-07-01
  - id: vm-medium
    service: Virtual Machines
    unit: vm-month
    list_price: "60.00"
    subsidy_percent: "50"
    match: { size: medium }
    effective_from: 2024-07-01
  - id: vm-large-gpu
    service: Virtual Machines
    unit: vm-month
    list_price: "240.00"
    subsidy_percent: "25"
    match: { size: large-gpu }
    effective_from: 2024-07-01
    bill_stopped: false
`;

/** A lab's short name: the PI's initial and family name (`jsmith`, `jsmith-med` at the medical school). */
export function lab(pi: Pi): string {
  const [local = '', domain = ''] = pi[0].split('@');
  return `${local.replace(/[^a-z]/g, '')}${domain.startsWith('med.') ? '-med' : ''}`;
}

/** Slurm accounts: one per lab and project. */
export const slurmAccount = (pi: Pi, project: string) => `${lab(pi)}-${project}`;

/** A project's directory: two labs may both have a project called neuro-connectome. */
const projectPath = (pi: Pi, project: string) => `/ifs/projects/${lab(pi)}/${project}`;

export function accountsYaml(pis: readonly Pi[], fundOrg: (pi: number, proj: number) => string): string {
  const accounts = pis.flatMap((pi, i) =>
    pi[2].map(
      (project, j) =>
        `  - { account: ${slurmAccount(pi, project)}, pi_email: ${pi[0]}, project_id: ${project}, fund_org: "${fundOrg(i, j)}" }`,
    ),
  );
  const storage = pis.flatMap((pi, i) =>
    pi[2].map(
      (project, j) => `  - { path: ${projectPath(pi, project)}, pi_email: ${pi[0]}, project_id: ${project}, fund_org: "${fundOrg(i, j)}" }`,
    ),
  );
  const archive = pis
    .filter((_, i) => i % 5 === 0)
    .map((pi) => {
      const i = pis.indexOf(pi);
      return `  - { path: /ifs/archive/${pi[2][0]}, tier: archive, pi_email: ${pi[0]}, project_id: ${pi[2][0]}, fund_org: "${fundOrg(i, 0)}" }`;
    });
  const vms = pis
    .filter((_, i) => i % 3 === 1)
    .map((pi) => {
      const i = pis.indexOf(pi);
      return `  - { name: "${slurmAccount(pi, pi[2][0] as string)}-*", pi_email: ${pi[0]}, project_id: ${pi[2][0]}, fund_org: "${fundOrg(i, 0)}" }`;
    });
  return `# yaml-language-server: $schema=schemas/accounts.schema.json
# Who owns what the converters measure (docs/sources/TEMPLATE.md#owners).
# Slurm accounts:
accounts:
${accounts.join('\n')}
# Storage paths (globs) and their tier:
storage:
${[...storage, ...archive].join('\n')}
# Virtual machines by name, for inventories without owner tags:
vms:
${vms.join('\n')}
`;
}

const pad = (n: number) => String(n).padStart(2, '0');
const time = (ms: number) => new Date(ms).toISOString().slice(0, 19);

function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const hms = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return d ? `${d}-${hms}` : hms;
}

/**
 * A month of `sacct --allusers --allocations --parsable2` output: ~420 job allocations over the
 * PIs' accounts, with jobs crossing into and out of the month, arrays, heterogeneous jobs, a
 * requeued job, pending and never-started jobs, GPU types, large-memory jobs, and one account
 * nobody owns (held for review once ingested).
 */
export function sacct(month: string, pis: readonly Pi[], seed: number): string {
  const rand = prng(seed);
  const [y, m] = month.split('-').map(Number) as [number, number];
  const start = Date.UTC(y, m - 1, 1);
  const lines = ['JobID|JobName|Account|Partition|State|Start|End|Elapsed|AllocTRES'];
  let id = 4_000_000 + (y - 2025) * 400_000 + m * 10_000;
  const job = (
    account: string,
    name: string,
    partition: string,
    state: string,
    from: number | null,
    ms: number,
    tres: string,
    jobId = String(id++),
  ) => {
    const end = from === null ? 'Unknown' : state === 'RUNNING' ? 'Unknown' : time(from + ms);
    lines.push(
      [jobId, name, account, partition, state, from === null ? 'Unknown' : time(from), end, elapsed(from === null ? 0 : ms), tres].join(
        '|',
      ),
    );
  };
  const states = [
    'COMPLETED',
    'COMPLETED',
    'COMPLETED',
    'COMPLETED',
    'COMPLETED',
    'FAILED',
    'TIMEOUT',
    'CANCELLED by 1001',
    'OUT_OF_MEMORY',
  ];
  for (let i = 0; i < 400; i++) {
    const pi = pis[Math.floor(rand() * pis.length)] as Pi;
    const project = pi[2][Math.floor(rand() * pi[2].length)] as string;
    const account = slurmAccount(pi, project);
    const kind = rand();
    const from = start + Math.floor(rand() * 27 * 86400) * 1000;
    const hours = 0.25 + rand() * 30;
    const ms = Math.round(hours * 3600) * 1000;
    const state = states[Math.floor(rand() * states.length)] as string;
    if (kind < 0.68) {
      const cpus = [1, 2, 4, 8, 16, 32, 64][Math.floor(rand() * 7)] as number;
      job(account, `run-${i}`, rand() < 0.8 ? 'standard' : 'long', state, from, ms, `billing=${cpus},cpu=${cpus},mem=${cpus * 4}G,node=1`);
    } else if (kind < 0.9) {
      const type = rand() < 0.6 ? 'a100' : 'v100';
      const gpus = 1 + Math.floor(rand() * 4);
      job(
        account,
        `train-${i}`,
        'gpu',
        state,
        from,
        ms,
        `billing=${gpus * 8},cpu=${gpus * 8},gres/gpu=${gpus},gres/gpu:${type}=${gpus},mem=${gpus * 64}G,node=1`,
      );
    } else {
      const cpus = 8 + Math.floor(rand() * 24);
      job(account, `assemble-${i}`, 'himem', state, from, ms, `billing=${cpus},cpu=${cpus},mem=${256 + Math.floor(rand() * 768)}G,node=1`);
    }
  }
  const [pi0, pi2, pi5] = [pis[0], pis[2], pis[5]] as [Pi, Pi, Pi];
  const acct0 = slurmAccount(pi0, pi0[2][0] as string);
  const acct2 = slurmAccount(pi2, pi2[2][1] as string);
  // Crossing the month's edges: billed for the part inside the month.
  job(acct0, 'long-carry-in', 'long', 'COMPLETED', start - 2 * 86400_000, 4 * 86400_000, 'billing=16,cpu=16,mem=64G,node=1');
  const next = Date.UTC(y, m, 1);
  job(acct2, 'long-carry-out', 'long', 'RUNNING', next - 36 * 3600_000, 36 * 3600_000, 'billing=8,cpu=8,mem=32G,node=1');
  // An array job and a heterogeneous job: each allocation billed once.
  const arrayId = id++;
  for (let t = 1; t <= 5; t++)
    job(
      acct2,
      'sweep',
      'standard',
      'COMPLETED',
      start + (3 * 86400 + t * 3600) * 1000,
      2 * 3600_000,
      'billing=4,cpu=4,mem=16G,node=1',
      `${arrayId}_${t}`,
    );
  job(acct2, 'sweep', 'standard', 'PENDING', null, 0, '', `${arrayId}_[6-10]`);
  const hetId = id++;
  job(acct0, 'coupled', 'standard', 'COMPLETED', start + 5 * 86400_000, 6 * 3600_000, 'billing=32,cpu=32,mem=128G,node=1', `${hetId}+0`);
  job(
    acct0,
    'coupled',
    'gpu',
    'COMPLETED',
    start + 5 * 86400_000,
    6 * 3600_000,
    'billing=8,cpu=8,gres/gpu=1,gres/gpu:a100=1,mem=64G,node=1',
    `${hetId}+1`,
  );
  // A requeued job: each run is an allocation.
  const requeued = String(id++);
  const account5 = slurmAccount(pi5, pi5[2][0] as string);
  job(
    account5,
    'flaky',
    'gpu',
    'REQUEUED',
    start + 8 * 86400_000,
    3 * 3600_000,
    'billing=8,cpu=8,gres/gpu=1,gres/gpu:v100=1,mem=32G,node=1',
    requeued,
  );
  job(
    account5,
    'flaky',
    'gpu',
    'COMPLETED',
    start + 8 * 86400_000 + 4 * 3600_000,
    5 * 3600_000,
    'billing=8,cpu=8,gres/gpu=1,gres/gpu:v100=1,mem=32G,node=1',
    requeued,
  );
  // A job cancelled before it started, and one still waiting: neither is billed.
  lines.push(
    [String(id++), 'never', acct0, 'standard', 'CANCELLED by 1001', 'None', time(start + 9 * 86400_000), '00:00:00', ''].join('|'),
  );
  job(acct0, 'queued', 'standard', 'PENDING', null, 0, '');
  // A visiting account nobody has mapped yet: converted without a PI, held for review.
  job('visitor-lab', 'visit', 'standard', 'COMPLETED', start + 12 * 86400_000, 5 * 3600_000, 'billing=2,cpu=2,mem=8G,node=1');
  return `${lines.join('\n')}\n`;
}

/** `isi quota quotas list --format json` for the month: one directory quota per project (and a user quota, not billed). */
export function isilonQuotas(pis: readonly Pi[]): string {
  const quotas = pis.flatMap((pi, i) =>
    pi[2].map((project, j) => ({
      container: true,
      enforced: true,
      id: `q${i}x${j}`,
      path: projectPath(pi, project),
      type: 'directory',
      usage: { applogical: 0, fslogical: (((i * 7 + j * 13) % 40) + 2) * 100_000_000_000, fsphysical: 0, inodes: 1000 + i * 10 + j },
    })),
  );
  const archive = pis
    .filter((_, i) => i % 5 === 0)
    .map((pi, k) => ({
      container: true,
      enforced: false,
      id: `a${k}`,
      path: `/ifs/archive/${pi[2][0]}`,
      type: 'directory',
      usage: { fslogical: (k + 1) * 4_000_000_000_000, fsphysical: 0, inodes: 50 },
    }));
  const user = {
    container: false,
    enforced: true,
    id: 'u1',
    path: '/ifs/projects',
    type: 'user',
    persona: { id: 'UID:1001', name: 'jdoe' },
    usage: { fslogical: 123 },
  };
  return `${JSON.stringify([...quotas, ...archive, user], null, 2)}\n`;
}

/** Daily `date,path,used_bytes` samples for the month: each project's use growing through it. */
export function dailyUsage(month: string, pis: readonly Pi[]): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const rows = ['date,path,used_bytes'];
  for (let d = 1; d <= days; d++) {
    pis.forEach((pi, i) => {
      pi[2].forEach((project, j) => {
        const base = BigInt(((i * 7 + j * 13) % 40) + 2) * 100_000_000_000n;
        rows.push(`${month}-${pad(d)},${projectPath(pi, project)},${base + BigInt(d) * 2_000_000_000n * BigInt(j + 1)}`);
      });
    });
    pis
      .filter((_, i) => i % 5 === 0)
      .forEach((pi, k) => {
        rows.push(`${month}-${pad(d)},/ifs/archive/${pi[2][0]},${BigInt(k + 1) * 4_000_000_000_000n}`);
      });
  }
  return `${rows.join('\n')}\n`;
}

/** A VM inventory (name,size,state,created,deleted and owner columns), as the guides' export commands write it. */
export function vmInventory(month: string, pis: readonly Pi[], fundOrg: (pi: number, proj: number) => string, seed: number): string {
  const rand = prng(seed);
  const [y, m] = month.split('-').map(Number) as [number, number];
  const rows = ['name,size,state,created,deleted,pi_email,project_id,fund_org'];
  const sizes = ['small', 'small', 'medium', 'medium', 'large-gpu'];
  pis.forEach((pi, i) => {
    const count = i % 3 === 0 ? 2 : 1;
    for (let k = 0; k < count; k++) {
      const size = sizes[Math.floor(rand() * sizes.length)] as string;
      const name = `${slurmAccount(pi, pi[2][0] as string)}-vm${k + 1}`;
      const created =
        rand() < 0.7
          ? `${y - 1}-0${1 + Math.floor(rand() * 8)}-1${Math.floor(rand() * 9)}`
          : `${month}-${pad(2 + Math.floor(rand() * 20))}`;
      const deleted = rand() < 0.15 ? `${month}-${pad(22 + Math.floor(rand() * 6))}` : '';
      const state = size === 'large-gpu' && rand() < 0.5 ? 'off' : rand() < 0.1 ? 'stopped' : 'running';
      // VMs of every third PI carry no owner columns: accounts.yaml finds them by name.
      const owner = i % 3 === 1 ? ['', '', ''] : [pi[0], pi[2][0] as string, fundOrg(i, 0)];
      rows.push([name, size, state, created, deleted, ...owner].join(','));
    }
  });
  rows.push(`scratch-${m}-unknown,small,running,${month}-05,,,,`);
  return `${rows.join('\n')}\n`;
}
