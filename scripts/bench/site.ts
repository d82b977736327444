/**
 * Site and PDF benchmark: a billing repository with `pis` PIs × 2 projects (one statement each),
 * built with PDFs, then rebuilt with nothing changed. Prints the times and PDFs per second.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../lib/prng.ts';
import { timedNode } from './timed.ts';

export interface SiteBench {
  statements: number;
  rows: number;
  build: { seconds: number; site_s: number; pdf_s: number; printed: number; pages: number; rssMb: number };
  rebuild: { seconds: number; printed: number; cached: number };
}

export function siteBench(work: string, cli: string, pis = 500, rowsPerStatement = 12): SiteBench {
  const repo = join(work, 'site-repo');
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(repo, 'config.yaml'), 'organization:\n  name: Bench University Research Computing\n');
  const rand = prng(7);
  const services = ['Compute', 'Storage', 'GPU', 'Database', 'Network'];
  let csv = 'BillingPeriodStart,ChargePeriodStart,BilledCost,ListCost,ServiceName,ResourceName,Tags\n';
  let rows = 0;
  for (let pi = 0; pi < pis; pi++) {
    for (let project = 0; project < 2; project++) {
      for (let k = 0; k < rowsPerStatement; k++) {
        const list = BigInt(Math.floor(rand() * 50_000) + 100);
        const billed = (list * BigInt(60 + Math.floor(rand() * 40))) / 100n;
        const cents = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
        const tags = `"{""pi_email"": ""pi${pi}@example.edu"", ""project_id"": ""project-${project}"", ""fund_org"": ""${100000 + pi}-${1000 + project}""}"`;
        csv += `2025-03-01,2025-03-${String(1 + (k % 28)).padStart(2, '0')},${cents(billed)},${cents(list)},${services[k % services.length]},res-${pi}-${project}-${k},${tags}\n`;
        rows++;
      }
    }
  }
  writeFileSync(join(repo, 'export.csv'), csv);
  const run = (args: string[]) => {
    const p = timedNode(args.join(' '), [cli, ...args, '--root', repo], join(work, 'maxrss-site'));
    return { seconds: p.seconds, out: p.stdout, rssMb: p.rssMb };
  };
  run(['ingest', join(repo, 'export.csv'), '--source', 'AWS']);
  process.stderr.write(`  site: ${pis * 2} statements, ${rows} charges; building…\n`);
  const first = run(['build', '--date', '2025-04-01', '--json']);
  const r1 = JSON.parse(first.out);
  const second = run(['build', '--date', '2025-04-01', '--json']);
  const r2 = JSON.parse(second.out);
  return {
    statements: r1.statements,
    rows,
    build: {
      seconds: first.seconds,
      site_s: r1.timings_ms.site / 1000,
      pdf_s: r1.timings_ms.pdf / 1000,
      printed: r1.pdfs.printed,
      pages: r1.pages,
      rssMb: first.rssMb,
    },
    rebuild: { seconds: second.seconds, printed: r2.pdfs.printed, cached: r2.pdfs.cached },
  };
}
