/**
 * `npm run bench:history`: three years in one repository. 36 monthly periods of 500 PIs with 2
 * projects each (1,000 statements a month, 8,000 charges), ingested and committed; then `build`
 * (site, no PDFs) from a cold cache; then a 37th month: built alone (its pages rendered, the
 * dashboard), and then the whole site again, which queries and renders only what changed.
 * Target: the build after the new month costs at most 1.5× building the new month alone, and
 * memory stays under 2 GB. Also the repository's size (working tree and .git).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserBench } from './browser.ts';
import { writeSyntheticFocus } from './synthetic-focus.ts';
import { timedNode } from './timed.ts';

const PERIODS = 36;
const PIS = 500;

const periodOf = (i: number) => {
  const y = 2023 + Math.floor(i / 12);
  return `${y}-${String((i % 12) + 1).padStart(2, '0')}`;
};

function du(path: string): number {
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

export async function historyBench(work: string, cli: string): Promise<void> {
  const repo = join(work, 'history');
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(repo, { recursive: true });
  const rss = join(work, 'maxrss-history');
  const run = (label: string, args: string[]) => {
    const p = timedNode(label, [cli, ...args, '--root', repo], rss);
    const r = { label, seconds: p.seconds, rssMb: p.rssMb, out: p.stdout };
    process.stderr.write(`  ${label}: ${r.seconds.toFixed(1)} s, ${r.rssMb.toFixed(0)} MB\n`);
    return r;
  };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
  spawnSync(process.execPath, [cli, 'init', repo]);
  writeFileSync(join(repo, 'config.yaml'), 'organization:\n  name: Bench University\n');
  git('config', 'user.email', 'bench@example.edu');
  git('config', 'user.name', 'Bench');
  const month = async (i: number) => {
    const period = periodOf(i);
    const file = join(work, `history-${period}.csv`);
    await writeSyntheticFocus(file, { rows: PIS * 2 * 8, pis: PIS, projectsPerPi: 2, period, seed: 1000 + i });
    const p = spawnSync(process.execPath, [cli, 'ingest', file, '--source', 'AWS', '--root', repo], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`ingest ${period} failed: ${p.stderr}`);
    rmSync(file);
    git('add', '-A');
    git('commit', '-q', '-m', `Ingest ${period}`);
    return period;
  };
  process.stderr.write(`History: ${PERIODS} periods of ${PIS} PIs × 2 projects…\n`);
  for (let i = 0; i < PERIODS; i++) await month(i);
  const tree = du(join(repo, 'data')) + du(join(repo, 'periods'));
  const dotGit = du(join(repo, '.git'));
  const build = (label: string, extra: string[] = []) => run(label, ['build', '--no-pdf', '--date', '2026-02-01', '--json', ...extra]);
  const cold = build(`build, ${PERIODS} periods, cold cache`);
  const again = build('build again, nothing changed');
  const last = await month(PERIODS);
  // The new month alone, its pages not cached, into a folder of its own.
  rmSync(join(repo, '.cache', 'site', 'admin', last), { recursive: true, force: true });
  const alone = build(`build ${last} alone`, ['--period', last, '--out', 'dist-alone']);
  rmSync(join(repo, '.cache', 'site', 'admin', last), { recursive: true, force: true });
  const added = build(`build, ${PERIODS + 1} periods, after ${last} was added`);
  const rendered = JSON.parse(added.out).rendered_periods as string[];
  // As CI does it: no earlier site in the output folder, every unchanged period linked from .cache/site.
  rmSync(join(repo, '.cache', 'site', 'admin', last), { recursive: true, force: true });
  rmSync(join(repo, 'dist-fresh'), { recursive: true, force: true });
  const fresh = build('the same, into an empty folder (as in CI)', ['--out', 'dist-fresh']);
  // The site as a reader's browser has it: the dashboard's charts over every period, the newest period's pages.
  const periodPage = readFileSync(join(repo, 'dist-fresh', 'periods', last, 'index.html'), 'utf8');
  const piPage = /href="\/(periods\/[^"/]+\/pi\/[^"/]+\/)"/.exec(periodPage)?.[1];
  if (!piPage) throw new Error(`no PI page linked from periods/${last}/`);
  process.stderr.write('  in Chromium: the dashboard, the new period, its charges and a PI page…\n');
  // Without a browser the build figures still stand: said, not thrown after the long part of the run.
  const inBrowser = await browserBench(join(repo, 'dist-fresh'), last, piPage).catch((e: Error) => e);
  const ratio = added.seconds / alone.seconds;
  const ok = ratio <= 1.5 && Math.max(cold.rssMb, added.rssMb, fresh.rssMb) < 2048;
  console.log(`\n${PERIODS} periods × ${PIS} PIs × 2 projects (${PERIODS * PIS * 2} statements, ${PERIODS * PIS * 16} charges)`);
  console.log(`  repository: data/ and periods/ ${(tree / 1e6).toFixed(0)} MB; .git ${(dotGit / 1e6).toFixed(0)} MB`);
  for (const r of [cold, again, alone, added, fresh])
    console.log(`  ${r.label.padEnd(44)} ${r.seconds.toFixed(1).padStart(6)} s  ${r.rssMb.toFixed(0).padStart(5)} MB`);
  console.log(
    `  after a new month: ${ratio.toFixed(2)}× building it alone (rendered: ${rendered.join(', ') || 'none'})${ok ? '  meets target (<= 1.5×, < 2 GB)' : '  MISSES target (<= 1.5×, < 2 GB)'}`,
  );
  console.log(
    `  into an empty folder (unchanged periods linked from .cache/site, not moved from the last site): ${(fresh.seconds / alone.seconds).toFixed(2)}×`,
  );
  if (inBrowser instanceof Error) {
    console.log(`\nIn Chromium: not measured (${inBrowser.message.split('\n')[0]})`);
    return;
  }
  console.log(
    `\nIn Chromium (median of 5 fresh pages; the dashboard's HTML with its chart data ${(inBrowser.dashboardBytes / 1e3).toFixed(0)} kB, ${last}'s charge data ${(inBrowser.chargeDataBytes / 1e6).toFixed(2)} MB for ${inBrowser.charges.toLocaleString('en-US')} charges)`,
  );
  for (const step of inBrowser.steps) console.log(`  ${step.label.padEnd(62)} ${step.ms.toFixed(0).padStart(6)} ms`);
}
