/**
 * `npm run bench`: times the CLI on a synthetic month of 1,000,000 FOCUS rows (about 350 MB,
 * 200 PIs) against DuckDB reading the same file directly, and prints times, peak memory and
 * ratios. Targets (2 cores): each command under 10 s, within 1.5× of direct DuckDB, under 1.5 GB.
 *
 *   npm run bench [-- --rows 1000000 --runs 3]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { siteBench } from './site.ts';
import { writeSyntheticFocus } from './synthetic-focus.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    pis: { type: 'string', default: '500' },
    only: { type: 'string' },
  },
});
const rows = Number(values.rows);
const runs = Number(values.runs);
const project = resolve(import.meta.dirname, '..', '..');
const work = join(project, 'bench-data');
mkdirSync(work, { recursive: true });
const csv = join(work, `focus-${rows}.csv`);
const cli = join(project, 'bin', 'focus-billing.mjs');
const rssFile = join(work, 'maxrss');

interface Measure {
  seconds: number;
  rssMb: number;
  /** Every run, in order (the first may be a cold cache). */
  times: number[];
}

function run(label: string, args: string[], prepare?: () => void): Measure {
  const times: number[] = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    prepare?.();
    rmSync(rssFile, { force: true });
    const t = performance.now();
    const p = spawnSync(process.execPath, args, {
      env: { ...process.env, OCB_REPORT_MAXRSS: rssFile },
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    const seconds = (performance.now() - t) / 1000;
    if (p.status !== 0) throw new Error(`${label} failed (${p.status}): ${p.stderr}`);
    times.push(seconds);
    rss = Math.max(rss, Number(readFileSync(rssFile, 'utf8')) / 1024);
  }
  process.stderr.write(`  ${label}: ${times.map((t) => t.toFixed(2)).join(' / ')} s\n`);
  const sorted = [...times].sort((a, b) => a - b);
  return { seconds: sorted[Math.floor(sorted.length / 2)] as number, rssMb: rss, times };
}

const repo = join(work, 'repo');
const freshRepo = () => {
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(repo, 'config.yaml'), 'organization:\n  name: Bench University\n');
};

if (values.only !== 'site') {
  if (!existsSync(csv)) {
    process.stderr.write(`Writing ${rows.toLocaleString('en-US')} synthetic FOCUS rows to ${csv}…\n`);
    const t = performance.now();
    const r = await writeSyntheticFocus(csv, { rows, pis: 200 });
    process.stderr.write(`  ${(r.bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }

  process.stderr.write(`Timing (${runs} runs each, median reported)…\n`);
  const direct = run('direct DuckDB', ['--import', 'tsx', join(import.meta.dirname, 'direct-duckdb.ts'), csv]);
  const ingest = run('ingest', [cli, 'ingest', csv, '--source', 'AWS', '--root', repo], freshRepo);
  const generate = run('generate --dry-run', [cli, 'generate', '--period', '2025-03', '--dry-run', '--json', '--root', repo]);

  const fmt = (label: string, m: Measure, target: boolean) => {
    const ratio = m.seconds / direct.seconds;
    const ok = !target || (m.seconds < 10 && ratio <= 1.5 && m.rssMb < 1536);
    return `${label.padEnd(22)} ${m.seconds.toFixed(2).padStart(7)} s  ${m.rssMb.toFixed(0).padStart(6)} MB  ${ratio.toFixed(2).padStart(5)}×${target ? (ok ? '  meets target' : '  MISSES target') : ''}`;
  };
  console.log(
    `\n${rows.toLocaleString('en-US')} rows, ${(Number(spawnSync('stat', ['-c', '%s', csv]).stdout.toString()) / 1e6).toFixed(0)} MB`,
  );
  console.log(`${'step'.padEnd(22)} ${'time'.padStart(9)}  ${'peak RSS'.padStart(9)}  ratio to direct`);
  console.log(fmt('direct DuckDB', direct, false));
  console.log(fmt('ingest', ingest, true));
  console.log(fmt('generate --dry-run', generate, true));
  console.log(
    `  generate: first run ${(generate.times[0] as number).toFixed(2)} s (reads the data); later runs reuse the report cached by content hash (.cache/report)`,
  );
}

if (values.only !== 'cli') {
  process.stderr.write('Site and PDF benchmark…\n');
  const site = siteBench(work, cli, Number(values.pis));
  const rate = site.build.printed / site.build.pdf_s;
  console.log(
    `\nSite and PDFs: ${site.statements} statements (${Number(values.pis)} PIs × 2 projects), ${site.rows} charges, ${site.build.pages} pages`,
  );
  console.log(`build (report + site + PDFs)  ${site.build.seconds.toFixed(1)} s, peak RSS ${site.build.rssMb.toFixed(0)} MB`);
  console.log(
    `  site                         ${site.build.site_s.toFixed(1)} s${site.build.site_s < 60 ? '  meets target (< 60 s)' : '  MISSES target (< 60 s)'}`,
  );
  console.log(
    `  PDFs                         ${site.build.pdf_s.toFixed(1)} s for ${site.build.printed}: ${rate.toFixed(1)} PDFs/s${rate >= 10 ? '  meets target (>= 10/s)' : '  MISSES target (>= 10/s)'}`,
  );
  console.log(
    `rebuild, nothing changed      ${site.rebuild.seconds.toFixed(1)} s, ${site.rebuild.printed} PDFs printed, ${site.rebuild.cached} from the cache${site.rebuild.printed === 0 ? '  meets target' : '  MISSES target'}`,
  );
}
