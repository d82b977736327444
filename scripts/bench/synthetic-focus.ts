/**
 * Writes a synthetic FOCUS 1.0-shaped CSV month for benchmarks: `rows` charges spread over
 * `pis` PIs with 1–4 projects each and 8 services, costs with 10 decimal places, and returns
 * the exact billed total (as a scaled bigint) so callers can check what the tool computed.
 * Deterministic: the same arguments write the same bytes.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { prng } from '../lib/prng.ts';

const SERVICES = [
  ['Amazon Elastic Compute Cloud', 'Compute'],
  ['Amazon Simple Storage Service', 'Storage'],
  ['Amazon Relational Database Service', 'Databases'],
  ['AWS Lambda', 'Compute'],
  ['Amazon CloudWatch', 'Management and Governance'],
  ['Amazon Virtual Private Cloud', 'Networking'],
  ['Amazon SageMaker', 'AI and Machine Learning'],
  ['Amazon Elastic Block Store', 'Storage'],
] as const;

const HEADER =
  'BilledCost,BillingAccountId,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargeClass,ChargePeriodEnd,ChargePeriodStart,ContractedCost,EffectiveCost,ListCost,ProviderName,RegionId,ResourceId,ResourceName,ServiceCategory,ServiceName,SubAccountId,Tags';

export interface SyntheticResult {
  rows: number;
  bytes: number;
  /** Exact sum of BilledCost, scaled by 10^10. */
  billedScaled: bigint;
  pis: number;
}

export async function writeSyntheticFocus(
  path: string,
  options: {
    rows: number;
    pis: number;
    period?: string;
    seed?: number;
    /** One row in this many lacks a fund/org (flagged); default 10,000. */
    unfundedEvery?: number;
    /** Projects per PI (default 1–4 at random). */
    projectsPerPi?: number;
  },
): Promise<SyntheticResult> {
  const { rows, pis } = options;
  const period = options.period ?? '2025-03';
  const [y, m] = period.split('-').map(Number) as [number, number];
  const start = `${period}-01T00:00:00Z`;
  const endMonth = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  const end = `${endMonth}-01T00:00:00Z`;
  const rand = prng(options.seed ?? 42);
  const projectsPerPi = Array.from({ length: pis }, () => options.projectsPerPi ?? 1 + Math.floor(rand() * 4));
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  let bytes = 0;
  let billed = 0n;
  let chunk = `${HEADER}\n`;
  for (let i = 0; i < rows; i++) {
    const pi = Math.floor(rand() * pis);
    const project = Math.floor(rand() * (projectsPerPi[pi] as number));
    const [service, category] = SERVICES[Math.floor(rand() * SERVICES.length)] as (typeof SERVICES)[number];
    // Costs as integers of 1e-10 units so the expected total is exact.
    const listUnits = BigInt(Math.floor(rand() * 5_000_000_000)) + 1n;
    const discountPct = BigInt(Math.floor(rand() * 40));
    const billedUnits = (listUnits * (100n - discountPct)) / 100n;
    billed += billedUnits;
    const day = String(1 + (i % 28)).padStart(2, '0');
    const hour = String(i % 24).padStart(2, '0');
    const chargeStart = `${period}-${day}T${hour}:00:00Z`;
    const chargeEnd = `${period}-${day}T${hour}:59:59Z`;
    // One row in 10,000 lacks a fund/org, so ingest has flags to record and locate.
    const every = options.unfundedEvery ?? 10_000;
    const fund = i % every === 1234 % every ? '' : `, ""fund_org"": ""${100000 + pi}-${1000 + project}""`;
    const tags = `"{""pi_email"": ""pi${pi}@example.edu"", ""project_id"": ""proj-${pi}-${project}""${fund}}"`;
    const b = scaled(billedUnits);
    const l = scaled(listUnits);
    chunk += `${b},123456789012,USD,${end},${start},Usage,,${chargeEnd},${chargeStart},${b},${b},${l},AWS,us-east-1,i-${i.toString(16).padStart(10, '0')},node-${i % 5000},${category},${service},210987654321,${tags}\n`;
    if (chunk.length > 1 << 20) {
      bytes += Buffer.byteLength(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  bytes += Buffer.byteLength(chunk);
  out.end(chunk);
  await once(out, 'finish');
  return { rows, bytes, billedScaled: billed, pis };
}

function scaled(units: bigint): string {
  const s = units.toString().padStart(11, '0');
  return `${s.slice(0, -10)}.${s.slice(-10)}`;
}
