/**
 * Writes sample_data/: fictional FOCUS exports (AWS, Azure) for 2025-01 and 2025-12 at a
 * realistic volume, and the raw exports of the institution's own services (Slurm accounting,
 * storage quotas, a VM inventory, in raw/) with its rates.yaml and accounts.yaml, converted by
 * the real converters into hpc_, storage_ and vms_<month>.csv. Deterministic, so the committed files can be regenerated
 * byte-for-byte: `npx tsx scripts/make-sample-data.ts`.
 *
 * What the data exercises: 24 PIs (two share the local part j.smith at different domains),
 * ~50 projects, partial discounts, credits, a fully subsidised HPC CPU service (billed 0, list
 * shown), tag keys with prefixes and mixed case, and a few rows for every flag rule.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAccounts } from '../src/convert/accounts.ts';
import { convertSlurm } from '../src/convert/slurm.ts';
import { convertStorage } from '../src/convert/storage.ts';
import { convertVms } from '../src/convert/vms.ts';
import { loadRates } from '../src/rates/rates.ts';
import { prng } from './lib/prng.ts';
import { accountsYaml, dailyUsage, isilonQuotas, RATES_YAML, sacct, vmInventory } from './sample-raw.ts';

export const PIS = [
  ['a.rivera@example.edu', 'Ana Rivera', ['genomics-atlas', 'cell-imaging']],
  ['b.okafor@example.edu', 'Bola Okafor', ['climate-downscale', 'ocean-model']],
  ['c.nguyen@example.edu', 'Chi Nguyen', ['protein-fold', 'md-sims', 'cryo-em']],
  ['d.kowalski@example.edu', 'Dorota Kowalski', ['astro-survey']],
  ['e.haddad@example.edu', 'Elias Haddad', ['nlp-corpus', 'speech-lab']],
  ['f.tanaka@example.edu', 'Fumiko Tanaka', ['materials-dft', 'battery-ml']],
  ['g.mensah@example.edu', 'Grace Mensah', ['epi-modeling', 'vaccine-trials']],
  ['h.larsen@example.edu', 'Henrik Larsen', ['seismic-inv']],
  ['i.petrova@example.edu', 'Irina Petrova', ['quantum-chem', 'spectroscopy']],
  ['j.smith@example.edu', 'Jordan Smith', ['neuro-connectome', 'eeg-analytics']],
  ['j.smith@med.example.edu', 'Jamie Smith', ['neuro-connectome', 'clinical-nlp']],
  ['k.osei@example.edu', 'Kwame Osei', ['hydrology', 'flood-risk']],
  ['l.moreau@example.edu', 'Lucie Moreau', ['digital-humanities']],
  ['m.silva@example.edu', 'Marco Silva', ['robotics-sim', 'autonomy']],
  ['n.ahmed@example.edu', 'Nadia Ahmed', ['microbiome', 'metagenomics']],
  ['o.brennan@example.edu', "Orla O'Brennan", ['econ-panel', 'labor-stats']],
  ['p.ivanov@example.edu', 'Pavel Ivanov', ['plasma-physics', 'fusion-diag']],
  ['q.zhang@example.edu', 'Qing Zhang', ['remote-sensing', 'crop-yield']],
  ['r.gupta@example.edu', 'Riya Gupta', ['drug-screen', 'tox-predict']],
  ['s.novak@example.edu', 'Sara Novak', ['social-networks']],
  ['t.mbeki@example.edu', 'Thabo Mbeki', ['wildlife-acoustics', 'camera-traps']],
  ['u.fischer@example.edu', 'Uwe Fischer', ['cfd-turbines', 'wind-farms']],
  ['v.romero@example.edu', 'Valeria Romero', ['linguistics-field']],
  ['w.chen@example.edu', 'Wei Chen', ['genome-assembly', 'long-reads', 'pangenome']],
] as const;

const MONTHS = ['2025-01', '2025-12'] as const;

interface Row {
  [column: string]: string;
}

const COLUMNS = [
  'BillingAccountId',
  'BillingAccountName',
  'BillingCurrency',
  'BillingPeriodStart',
  'BillingPeriodEnd',
  'ChargePeriodStart',
  'ChargePeriodEnd',
  'ChargeCategory',
  'ChargeClass',
  'ChargeDescription',
  'ChargeFrequency',
  'ServiceName',
  'ServiceCategory',
  'ResourceId',
  'ResourceName',
  'RegionId',
  'ConsumedQuantity',
  'ConsumedUnit',
  'ListUnitPrice',
  'ListCost',
  'ContractedCost',
  'EffectiveCost',
  'BilledCost',
  'ProviderName',
  'PublisherName',
  'InvoiceIssuerName',
  'SubAccountId',
  'SubAccountName',
  'Tags',
];

function fundOrg(piIndex: number, projectIndex: number): string {
  return `${String(100100 + piIndex * 37).padStart(6, '0')}-${String(1000 + projectIndex * 11 + piIndex).padStart(4, '0')}`;
}

/** A decimal string from integer units of 10^-scale. */
function dec(units: bigint, scale: number): string {
  const neg = units < 0n;
  const s = (neg ? -units : units).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -scale)}.${s.slice(-scale)}`;
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function toCsv(columns: string[], rows: Row[]): string {
  return `${[columns.join(','), ...rows.map((r) => columns.map((c) => csvField(r[c] ?? '')).join(','))].join('\n')}\n`;
}

function monthBounds(month: string, style: 'iso-ms' | 'iso' | 'date' | 'space'): [string, string] {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  const fmt = (ym: string) =>
    ({ 'iso-ms': `${ym}-01T00:00:00.000Z`, iso: `${ym}-01T00:00:00Z`, date: `${ym}-01`, space: `${ym}-01 00:00:00` })[style];
  return [fmt(month), fmt(next)];
}

function day(month: string, d: number, style: 'iso-ms' | 'iso' | 'date' | 'space'): [string, string] {
  const dd = String(d).padStart(2, '0');
  const next = String(d + 1).padStart(2, '0');
  const base = `${month}-${dd}`;
  if (style === 'date') return [base, d === 28 ? `${month}-28` : `${month}-${next}`];
  if (style === 'space') return [`${base} 00:00:00`, `${base} 23:59:59`];
  if (style === 'iso-ms') return [`${base}T00:00:00.000Z`, `${base}T23:59:59.000Z`];
  return [`${base}T00:00:00Z`, `${base}T23:59:59Z`];
}

type Tags = Record<string, string>;
const tagsJson = (t: Tags) => JSON.stringify(t);

function awsRows(month: string, rand: () => number): Row[] {
  const [ps, pe] = monthBounds(month, 'iso-ms');
  const services = [
    ['Amazon Elastic Compute Cloud', 'Compute', 'm6i.2xlarge', 0.384],
    ['Amazon Elastic Compute Cloud', 'Compute', 'c6i.4xlarge', 0.68],
    ['Amazon Simple Storage Service', 'Storage', 'bucket', 0.023],
    ['Amazon Relational Database Service', 'Databases', 'db.r6g.large', 0.252],
    ['AWS Lambda', 'Compute', 'function', 0.0000166667],
    ['Amazon SageMaker', 'AI and Machine Learning', 'ml.m5.xlarge', 0.23],
  ] as const;
  const rows: Row[] = [];
  const base = (pi: number, proj: number, d: number) => {
    const [cs, ce] = day(month, d, 'iso-ms');
    return {
      BillingAccountId: '210987654321',
      BillingAccountName: 'Example University Research',
      BillingCurrency: 'USD',
      BillingPeriodStart: ps,
      BillingPeriodEnd: pe,
      ChargePeriodStart: cs,
      ChargePeriodEnd: ce,
      ChargeClass: '',
      ChargeFrequency: 'Usage-Based',
      ProviderName: 'AWS',
      PublisherName: 'Amazon Web Services, Inc.',
      InvoiceIssuerName: 'Amazon Web Services, Inc.',
      RegionId: 'us-east-1',
      SubAccountId: String(300000000000 + pi * 1111),
      SubAccountName: `lab-${PIS[pi]?.[2][proj] ?? 'shared'}`,
    };
  };
  for (let i = 0; i < 1200; i++) {
    const pi = Math.floor(rand() * PIS.length);
    const projects = PIS[pi]?.[2] ?? [];
    const proj = Math.floor(rand() * projects.length);
    const [service, category, kind, rate] = services[Math.floor(rand() * services.length)] as (typeof services)[number];
    const qty = BigInt(Math.floor(rand() * 24_000)) + 100n; // hundredths of an hour/GB
    const rateUnits = BigInt(Math.round(rate * 1e10)); // 1e-10 per unit
    const list = (qty * rateUnits) / 100n; // 1e-10 units
    const discountPct = 18n; // enterprise discount
    const billed = (list * (100n - discountPct)) / 100n;
    const d = 1 + Math.floor(rand() * 28);
    const tags: Tags = { 'user:pi_email': PIS[pi]?.[0] ?? '', 'user:project_id': projects[proj] ?? '', 'user:fund_org': fundOrg(pi, proj) };
    rows.push({
      ...base(pi, proj, d),
      ChargeCategory: 'Usage',
      ChargeDescription: `${service} ${kind} usage`,
      ServiceName: service,
      ServiceCategory: category,
      ResourceId: `arn:aws:${kind}:us-east-1:${300000000000 + pi * 1111}:${kind}/r-${(i * 7919).toString(16).padStart(8, '0')}`,
      ResourceName: `${kind}-${projects[proj]}-${i % 9}`,
      ConsumedQuantity: dec(qty, 2),
      ConsumedUnit: category === 'Storage' ? 'GB-Mo' : 'Hours',
      ListUnitPrice: dec(rateUnits, 10),
      ListCost: dec(list, 10),
      ContractedCost: dec(billed, 10),
      EffectiveCost: dec(billed, 10),
      BilledCost: dec(billed, 10),
      Tags: tagsJson(tags),
    });
  }
  // GPU instances: held for review by the pattern rule.
  for (let i = 0; i < 6; i++) {
    const pi = [2, 5, 13][i % 3] as number;
    const list = 3_060_000_000_0n * BigInt(4 + i); // $3.06/h × hours, 1e-10 units
    const billed = (list * 82n) / 100n;
    rows.push({
      ...base(pi, 0, 3 + i),
      ChargeCategory: 'Usage',
      ChargeDescription: 'p3.2xlarge On Demand Linux',
      ServiceName: 'Amazon Elastic Compute Cloud',
      ServiceCategory: 'Compute',
      ResourceId: `arn:aws:ec2:us-east-1:${300000000000 + pi * 1111}:instance/i-0gpu${i}`,
      ResourceName: `p3.2xlarge-train-${i}`,
      ConsumedQuantity: String(4 + i),
      ConsumedUnit: 'Hours',
      ListUnitPrice: '3.06',
      ListCost: dec(list, 10),
      ContractedCost: dec(billed, 10),
      EffectiveCost: dec(billed, 10),
      BilledCost: dec(billed, 10),
      Tags: tagsJson({ 'user:pi_email': PIS[pi]?.[0] ?? '', 'user:project_id': PIS[pi]?.[2][0] ?? '', 'user:fund_org': fundOrg(pi, 0) }),
    });
  }
  // Research credits: negative rows on their own statement lines.
  for (const pi of [0, 6, 18]) {
    rows.push({
      ...base(pi, 0, 28),
      ChargeCategory: 'Credit',
      ChargeDescription: 'AWS Cloud Credit for Research',
      ChargeFrequency: 'One-Time',
      ServiceName: 'AWS Cloud Credit for Research',
      ServiceCategory: 'Other',
      ResourceId: '',
      ResourceName: '',
      ConsumedQuantity: '',
      ConsumedUnit: '',
      ListUnitPrice: '',
      ListCost: '-150.00',
      ContractedCost: '-150.00',
      EffectiveCost: '-150.00',
      BilledCost: '-150.00',
      Tags: tagsJson({ 'user:pi_email': PIS[pi]?.[0] ?? '', 'user:project_id': PIS[pi]?.[2][0] ?? '', 'user:fund_org': fundOrg(pi, 0) }),
    });
  }
  // Untagged and badly tagged resources.
  const untagged: Tags[] = [{ 'user:project_id': 'genomics-atlas', 'user:fund_org': fundOrg(0, 0) }, { 'user:Name': 'scratch-instance' }];
  untagged.forEach((t, k) => {
    rows.push({
      ...base(0, 0, 10 + k),
      ChargeCategory: 'Usage',
      ChargeDescription: 'm6i.large On Demand Linux',
      ServiceName: 'Amazon Elastic Compute Cloud',
      ServiceCategory: 'Compute',
      ResourceId: `arn:aws:ec2:us-east-1:300000000000:instance/i-0untagged${k}`,
      ResourceName: `untagged-${k}`,
      ConsumedQuantity: '24',
      ConsumedUnit: 'Hours',
      ListUnitPrice: '0.096',
      ListCost: '2.304',
      ContractedCost: '1.88928',
      EffectiveCost: '1.88928',
      BilledCost: '1.88928',
      Tags: tagsJson(t),
    });
  });
  rows.push({
    ...base(4, 0, 12),
    ChargeCategory: 'Usage',
    ChargeDescription: 'S3 Standard storage',
    ServiceName: 'Amazon Simple Storage Service',
    ServiceCategory: 'Storage',
    ResourceId: 'arn:aws:s3:::nlp-corpus-raw',
    ResourceName: 'nlp-corpus-raw',
    ConsumedQuantity: '812.5',
    ConsumedUnit: 'GB-Mo',
    ListUnitPrice: '0.023',
    ListCost: '18.6875',
    ContractedCost: '15.32375',
    EffectiveCost: '15.32375',
    BilledCost: '15.32375',
    Tags: '{"user:pi_email": "e.haddad@example.edu", "user:project_id": "nlp-corpus"',
  });
  return rows;
}

function azureRows(month: string, rand: () => number): Row[] {
  const [ps, pe] = monthBounds(month, 'iso');
  const services = [
    ['Virtual Machines', 'Compute', 0.192],
    ['Storage', 'Storage', 0.0184],
    ['Azure Cosmos DB', 'Databases', 0.25],
    ['Azure Machine Learning', 'AI and Machine Learning', 0.9],
  ] as const;
  const rows: Row[] = [];
  for (let i = 0; i < 520; i++) {
    const pi = (Math.floor(rand() * PIS.length) + 3) % PIS.length;
    const projects = PIS[pi]?.[2] ?? [];
    const proj = Math.floor(rand() * projects.length);
    const [service, category, rate] = services[Math.floor(rand() * services.length)] as (typeof services)[number];
    const qty = BigInt(Math.floor(rand() * 50_000)) + 50n; // hundredths
    const list = (qty * BigInt(Math.round(rate * 1e8))) / 100n; // 1e-8 units
    const billed = (list * 85n) / 100n;
    const [cs, ce] = day(month, 1 + (i % 28), 'iso');
    // Azure tags are case-preserving resource tags; institutions are inconsistent about case.
    const tags: Tags =
      i === 7
        ? { PI_Email: PIS[pi]?.[0] ?? '', Fund_Org: fundOrg(pi, proj) } // no project: flagged
        : i === 11
          ? { PI_Email: PIS[pi]?.[0] ?? '', Project: projects[proj] ?? '', Fund_Org: 'TBD' } // invalid fund/org
          : { PI_Email: PIS[pi]?.[0] ?? '', Project: projects[proj] ?? '', Fund_Org: fundOrg(pi, proj), environment: 'research' };
    rows.push({
      BillingAccountId: '/providers/Microsoft.Billing/billingAccounts/8a1f2b3c',
      BillingAccountName: 'Example University',
      BillingCurrency: 'USD',
      BillingPeriodStart: ps,
      BillingPeriodEnd: pe,
      ChargePeriodStart: cs,
      ChargePeriodEnd: ce,
      ChargeCategory: 'Usage',
      ChargeClass: '',
      ChargeDescription: `${service} usage`,
      ChargeFrequency: 'Usage-Based',
      ServiceName: service,
      ServiceCategory: category,
      ResourceId: `/subscriptions/5d0c-${pi}/resourceGroups/${projects[proj]}/providers/Microsoft.Compute/res-${i}`,
      ResourceName: `${projects[proj]}-res-${i % 13}`,
      RegionId: 'eastus',
      ConsumedQuantity: dec(qty, 2),
      ConsumedUnit: category === 'Storage' ? 'GB/Month' : 'Hours',
      ListUnitPrice: String(rate),
      ListCost: dec(list, 8),
      ContractedCost: dec(billed, 8),
      EffectiveCost: dec(billed, 8),
      BilledCost: dec(billed, 8),
      ProviderName: 'Microsoft',
      PublisherName: 'Microsoft',
      InvoiceIssuerName: 'Microsoft',
      SubAccountId: `/subscriptions/5d0c-${pi}`,
      SubAccountName: `Research ${pi}`,
      Tags: tagsJson(tags),
    });
  }
  return rows;
}

export async function makeSampleData(dir: string): Promise<string[]> {
  await mkdir(join(dir, 'raw'), { recursive: true });
  const written: string[] = [];
  const write = async (path: string, text: string) => {
    await writeFile(path, text);
    written.push(path);
  };
  // The institution's own services: the raw exports, the price list and who owns what.
  await write(join(dir, 'rates.yaml'), RATES_YAML);
  await write(join(dir, 'accounts.yaml'), accountsYaml(PIS, fundOrg));
  const rates = await loadRates(join(dir, 'rates.yaml'));
  const accounts = await loadAccounts(join(dir, 'accounts.yaml'), 'accounts.yaml', true);
  const raw = (name: string) => ({ path: join(dir, 'raw', name), display: `raw/${name}` });

  for (const [m, month] of MONTHS.entries()) {
    for (const [name, rows] of [
      ['aws', awsRows(month, prng(1000 + m))],
      ['azure', azureRows(month, prng(2000 + m))],
    ] as const)
      await write(join(dir, `${name}_${month}.csv`), toCsv(COLUMNS, rows));

    // Slurm accounting → hpc_<month>.csv
    const sacctFile = raw(`sacct_${month}.txt`);
    await write(sacctFile.path, sacct(month, PIS, 3000 + m));
    await convertSlurm({ files: [sacctFile], period: month, rates, accounts, out: join(dir, `hpc_${month}.csv`) });
    written.push(join(dir, `hpc_${month}.csv`));

    // Storage: January from an Isilon quota report (one snapshot), December from daily samples.
    const storageFile = month === '2025-01' ? raw(`isilon-quotas_${month}.json`) : raw(`storage-daily_${month}.csv`);
    await write(storageFile.path, month === '2025-01' ? isilonQuotas(PIS) : dailyUsage(month, PIS));
    await convertStorage({
      files: [storageFile],
      period: month,
      format: month === '2025-01' ? 'isilon' : 'csv',
      rates,
      accounts,
      out: join(dir, `storage_${month}.csv`),
    });
    written.push(join(dir, `storage_${month}.csv`));

    // The VM inventory → vms_<month>.csv
    const vmFile = raw(`vm-inventory_${month}.csv`);
    await write(vmFile.path, vmInventory(month, PIS, fundOrg, 4000 + m));
    await convertVms({ files: [vmFile], period: month, rates, accounts, out: join(dir, `vms_${month}.csv`) });
    written.push(join(dir, `vms_${month}.csv`));
  }
  // The PI directory: names for statements (pis.yaml in a billing repository).
  const directory = PIS.map(([email, name]) => `- email: ${email}\n  name: ${JSON.stringify(name)}\n`).join('');
  await write(join(dir, 'pis.yaml'), `# Sample PI directory: copy to pis.yaml at the top of a billing repository.\n${directory}`);
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const written = await makeSampleData(join(import.meta.dirname, '..', 'sample_data'));
  for (const w of written) console.log(w);
}
