/**
 * `npm run bench`: times the CLI on a synthetic month of 1,000,000 FOCUS rows (about 350 MB,
 * 200 PIs) against DuckDB reading the same file directly, and prints times, peak memory and
 * ratios. Targets (2 cores): each command under 10 s, within 1.5× of direct DuckDB, under 1.5 GB.
 *
 * The Slurm converter on 1,000,000 sacct records: under 10 s and 1 GB.
 *
 * The app (`web`): an import through it against the CLI's ingest; the review queue of 20,000 flags.
 *
 *   npm run bench [-- --rows 1000000 --runs 5 --only cli|site|convert|web]
 *   npm run bench:large, bench:history, bench:flags (not in the default run)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { convertBench } from './convert.ts';
import { flagsBench } from './flags.ts';
import { historyBench } from './history.ts';
import { largeBench } from './large.ts';
import { median } from './median.ts';
import { siteBench } from './site.ts';
import { writeSyntheticFocus } from './synthetic-focus.ts';
import { timedNode } from './timed.ts';
import { webBench } from './web.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '5' },
    pis: { type: 'string', default: '500' },
    only: { type: 'string' },
  },
});
const rows = Number(values.rows);
const want = (part: 'cli' | 'site' | 'convert' | 'web') => values.only === undefined || values.only === part;
if (values.only !== undefined && !['cli', 'site', 'convert', 'web', 'large', 'history', 'flags'].includes(values.only))
  throw new Error('--only takes cli, site, convert, web, large, history or flags');
const runs = Number(values.runs);
const project = resolve(import.meta.dirname, '..', '..');
const work = join(project, 'bench-data');
mkdirSync(work, { recursive: true });
const csv = join(work, `focus-${rows}.csv`);
const cli = join(project, 'bin', 'focus-billing.mjs');
const rssFile = join(work, 'maxrss');

interface Measure {
  /** Median wall time. */
  seconds: number;
  rssMb: number;
  /** Every run, in order. */
  times: number[];
  /** Median over rounds of this run's time divided by the direct run's in the same round. */
  ratio: number;
}

interface Step {
  label: string;
  args: string[];
  prepare?: () => void;
  target: boolean;
}

/** One run of a step in a child process: wall seconds and peak RSS (MB). */
function once(step: Step): { seconds: number; rssMb: number } {
  step.prepare?.();
  return timedNode(step.label, step.args, rssFile);
}

/**
 * Runs the steps in rounds (each step once per round, in order) so that a machine that speeds up
 * or slows down during the benchmark affects every step alike; the first step is the yardstick.
 */
function rounds(steps: Step[]): Measure[] {
  const results = steps.map(() => ({ times: [] as number[], rss: 0 }));
  for (let r = 0; r < runs; r++) {
    steps.forEach((step, i) => {
      const m = once(step);
      const acc = results[i] as { times: number[]; rss: number };
      acc.times.push(m.seconds);
      acc.rss = Math.max(acc.rss, m.rssMb);
    });
    process.stderr.write(`  round ${r + 1}: ${steps.map((s, i) => `${s.label} ${results[i]?.times[r]?.toFixed(2)} s`).join(', ')}\n`);
  }
  const base = results[0]?.times ?? [];
  return results.map(({ times, rss }) => ({
    seconds: median(times),
    rssMb: rss,
    times,
    ratio: median(times.map((t, r) => t / (base[r] as number))),
  }));
}

const repo = join(work, 'repo');
const freshRepo = () => {
  rmSync(repo, { recursive: true, force: true });
  // As \`init\` lays it out (data/ and periods/ present).
  for (const dir of ['data', 'periods']) mkdirSync(join(repo, dir), { recursive: true });
  writeFileSync(join(repo, 'config.yaml'), 'organization:\n  name: Bench University\n');
};

if (want('cli')) {
  if (!existsSync(csv)) {
    process.stderr.write(`Writing ${rows.toLocaleString('en-US')} synthetic FOCUS rows to ${csv}…\n`);
    const t = performance.now();
    const r = await writeSyntheticFocus(csv, { rows, pis: 200 });
    process.stderr.write(`  ${(r.bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }

  process.stderr.write(`Timing: ${runs} rounds of each step in turn, medians reported…\n`);
  const reportCache = join(repo, '.cache', 'report');
  const generateArgs = [cli, 'generate', '--period', '2025-03', '--dry-run', '--json', '--root', repo];
  // The same month stored as it came (not compressed), to see what reading .csv.gz costs.
  const plain = join(work, 'repo-plain');
  rmSync(plain, { recursive: true, force: true });
  for (const dir of ['data', 'periods']) mkdirSync(join(plain, dir), { recursive: true });
  writeFileSync(join(plain, 'config.yaml'), 'organization:\n  name: Bench University\ndata_files: { compress_above_mb: 100000 }\n');
  // A 349 MB stored file needs Git LFS (data_files.lfs_above_mb), as `init --lfs` would set up.
  writeFileSync(join(plain, '.gitattributes'), 'data/** filter=lfs diff=lfs merge=lfs -text\n');
  const stored = spawnSync(process.execPath, [cli, 'ingest', csv, '--source', 'AWS', '--root', plain], { encoding: 'utf8' });
  if (stored.status !== 0) throw new Error(`ingest into ${plain} failed: ${stored.stderr}`);
  const steps: Step[] = [
    { label: 'direct DuckDB', args: [join(import.meta.dirname, 'direct-duckdb.mjs'), csv], target: false },
    { label: 'CLI start-up', args: [cli, '--version'], target: false },
    { label: 'ingest', args: [cli, 'ingest', csv, '--source', 'AWS', '--root', repo], prepare: freshRepo, target: true },
    {
      label: 'generate --dry-run',
      args: generateArgs,
      prepare: () => rmSync(reportCache, { recursive: true, force: true }),
      target: true,
    },
    { label: 'generate, cached', args: generateArgs, target: false },
    {
      // As in a fresh clone or CI: no plain copy of the .csv.gz (see repo/plain-copy.ts).
      label: 'generate, no plain copy',
      args: generateArgs,
      prepare: () => {
        rmSync(reportCache, { recursive: true, force: true });
        rmSync(join(repo, '.cache', 'data'), { recursive: true, force: true });
      },
      target: false,
    },
    {
      label: 'generate, plain .csv',
      args: [cli, 'generate', '--period', '2025-03', '--dry-run', '--json', '--root', plain],
      prepare: () => rmSync(join(plain, '.cache', 'report'), { recursive: true, force: true }),
      target: false,
    },
  ];
  const measures = rounds(steps);
  // Beyond start-up: each round's time less that round's start-up, over the direct run.
  const startup = measures[1] as Measure;
  const direct = measures[0] as Measure;
  const beyond = (m: Measure) => median(m.times.map((t, r) => (t - (startup.times[r] as number)) / (direct.times[r] as number)));
  const fmt = (step: Step, m: Measure) => {
    const ratio = beyond(m);
    const ok = m.seconds < 10 && ratio <= 1.5 && m.rssMb < 1536;
    const spread = `${Math.min(...m.times).toFixed(2)}–${Math.max(...m.times).toFixed(2)}`;
    return `${step.label.padEnd(24)} ${m.seconds.toFixed(2).padStart(6)} s  ${spread.padStart(11)}  ${m.rssMb.toFixed(0).padStart(5)} MB  ${m.ratio.toFixed(2).padStart(5)}×  ${step.label === 'CLI start-up' || step.label === 'direct DuckDB' ? '      ' : `${ratio.toFixed(2).padStart(5)}×`}${step.target ? (ok ? '  meets target' : '  MISSES target') : ''}`;
  };
  console.log(`\n${rows.toLocaleString('en-US')} rows, ${(statSync(csv).size / 1e6).toFixed(0)} MB; ${runs} rounds`);
  console.log(
    `${'step'.padEnd(24)} ${'median'.padStart(8)}  ${'min–max'.padStart(11)}  ${'peak RSS'.padStart(8)}  ratio   beyond start-up`,
  );
  for (const [i, step] of steps.entries()) console.log(fmt(step, measures[i] as Measure));
  console.log(
    '  ratio: to direct DuckDB (DECIMAL(18,10), rows grouped by Tags text, three tag lookups per text, group by); beyond start-up: (time - CLI start-up) / direct, per round, median',
  );
  console.log(
    '  generate reads the month as ingest stored it (gzip-compressed above data_files.compress_above_mb) from the plain copy ingest keeps in .cache/data/;',
  );
  console.log(
    '  "no plain copy" reads the .csv.gz itself (a fresh clone, CI); "plain .csv" reads a month stored uncompressed (its 349 MB hashed for the cache key once, then remembered)',
  );
  console.log('  targets: under 10 s, beyond start-up within 1.5× of direct DuckDB, peak RSS under 1.5 GB');
}

if (want('site')) {
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

if (want('convert')) {
  process.stderr.write('Converter benchmark…\n');
  const c = await convertBench(work, cli, rows, Math.min(runs, 3));
  const ok = c.seconds <= 10 && c.rssMb <= 1024;
  console.log(
    `\nconvert slurm: ${c.records.toLocaleString('en-US')} sacct records (${c.mb.toFixed(0)} MB) → ${c.charges.toLocaleString('en-US')} charges`,
  );
  console.log(
    `  median ${c.seconds.toFixed(2)} s (${c.times.map((t) => t.toFixed(2)).join(', ')}), peak RSS ${c.rssMb.toFixed(0)} MB${ok ? '  meets target (<= 10 s, <= 1 GB)' : '  MISSES target (<= 10 s, <= 1 GB)'}`,
  );
  console.log(`  yardstick: reading and splitting every line, nothing else: ${c.yardstick.toFixed(2)} s`);
}

if (want('web')) {
  process.stderr.write('App benchmark…\n');
  if (!existsSync(csv)) await writeSyntheticFocus(csv, { rows, pis: 200 });
  const w = await webBench(work, cli, csv, Math.min(runs, 3));
  const ok = w.ratio <= 1.5;
  console.log(`\nweb: importing ${rows.toLocaleString('en-US')} rows through the app (POST /api/import) against the CLI's ingest`);
  console.log(
    `  app ${w.app.map((t) => t.toFixed(2)).join(', ')} s; CLI ${w.cli.map((t) => t.toFixed(2)).join(', ')} s; ratio ${w.ratio.toFixed(2)}×${ok ? '  meets target (<= 1.5×)' : '  MISSES target (<= 1.5×)'}`,
  );
  const r = w.review;
  const fast = Math.max(r.filter, r.search, r.selectAll) <= 200;
  console.log(
    `  review queue, ${r.flags.toLocaleString('en-US')} pending flags: page ready ${r.load.toFixed(0)} ms; filter ${r.filter.toFixed(0)} ms, search ${r.search.toFixed(0)} ms (with its 50 ms debounce), select all ${r.selectAll.toFixed(0)} ms${fast ? '  meets target (<= 200 ms)' : '  MISSES target (<= 200 ms)'}`,
  );
}

// Not in the default run: a 3.5 GB month (npm run bench:large).
if (values.only === 'large') await largeBench(work, cli, rows, runs);
// Not in the default run: three years of periods (npm run bench:history).
if (values.only === 'history') await historyBench(work, cli);
// Not in the default run: a review queue of 100,000 flags (npm run bench:flags).
if (values.only === 'flags') await flagsBench(work, cli, runs);
