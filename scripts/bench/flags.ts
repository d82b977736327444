/**
 * `npm run bench:flags`: a period holding as many flags as `flag_rules.max_flags` allows
 * (100,000; some 60 MB of flags.yaml), as a month whose every row lacks its fund/org gives: its
 * `ingest`, `validate`, a first `generate`, one review decision, and a decision on all of them.
 * No yardstick and no target of the issue: the figures docs/SCALING.md gives for long review
 * queues, measured the same way each time. Each round starts from the same flags.yaml.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './median.ts';
import { writeSyntheticFocus } from './synthetic-focus.ts';
import { timedNode } from './timed.ts';

const FLAGS = 100_000;

interface Run {
  seconds: number;
  rssMb: number;
}

export async function flagsBench(work: string, cli: string, runs: number): Promise<void> {
  const csv = join(work, `held-${FLAGS}.csv`);
  if (!existsSync(csv)) {
    process.stderr.write(`Writing ${csv} (every row without its fund/org)…\n`);
    await writeSyntheticFocus(csv, { rows: FLAGS, pis: 200, unfundedEvery: 1 });
  }
  const repo = join(work, 'flags-repo');
  const flagsFile = join(repo, 'periods', '2025-03', 'flags.yaml');
  const kept = join(work, 'flags-100000.yaml');
  const rss = join(work, 'maxrss-flags');
  const time = (label: string, args: string[]): Run => {
    const { seconds, rssMb } = timedNode(label, [cli, ...args, '--root', repo], rss, { OCB_NOW: '2025-04-02T09:00:00Z' });
    const run = { seconds, rssMb };
    process.stderr.write(`  ${label}: ${seconds.toFixed(1)} s, ${run.rssMb.toFixed(0)} MB\n`);
    return run;
  };
  const reviewer = ['--reviewer', 'bench@example.edu'];
  const steps = ['ingest', 'validate', 'generate (first)', 'review reject <id>', 'review reject --all'] as const;
  const rounds: Record<(typeof steps)[number], Run>[] = [];
  let firstId = '';
  for (let r = 0; r < runs; r++) {
    process.stderr.write(`Round ${r + 1} of ${runs}:\n`);
    rmSync(repo, { recursive: true, force: true });
    for (const d of ['data', 'periods']) mkdirSync(join(repo, d), { recursive: true });
    writeFileSync(join(repo, 'config.yaml'), `organization:\n  name: Bench University\nflag_rules:\n  max_flags: ${FLAGS}\n`);
    const ingest = time('ingest', ['ingest', csv, '--source', 'AWS']);
    copyFileSync(flagsFile, kept);
    firstId = /^ {2}- id: (\S+)$/m.exec(readFileSync(kept, 'utf8'))?.[1] ?? '';
    const validate = time('validate', ['validate']);
    rmSync(join(repo, '.cache', 'report'), { recursive: true, force: true });
    const generate = time('generate (first)', ['generate', '--period', '2025-03', '--dry-run', '--json']);
    const one = time('review reject <id>', ['review', 'reject', firstId, '--period', '2025-03', '--note', 'not ours', ...reviewer]);
    copyFileSync(kept, flagsFile);
    const all = time('review reject --all', ['review', 'reject', '--all', '--period', '2025-03', '--note', 'not ours', ...reviewer]);
    rounds.push({
      ingest,
      validate,
      'generate (first)': generate,
      'review reject <id>': one,
      'review reject --all': all,
    });
  }
  const held = (readFileSync(kept, 'utf8').match(/^ {2}- id: /gm) ?? []).length;
  console.log(
    `\nreview queue: ${held.toLocaleString('en-US')} flags (${(statSync(kept).size / 1e6).toFixed(0)} MB of flags.yaml) from ${FLAGS.toLocaleString('en-US')} rows; ${runs} round${runs === 1 ? '' : 's'}`,
  );
  console.log(`${'step'.padEnd(22)} ${'median'.padStart(8)}  ${'min–max'.padStart(11)}  ${'peak'.padStart(8)}`);
  for (const step of steps) {
    const times = rounds.map((r) => r[step].seconds);
    const peak = Math.max(...rounds.map((r) => r[step].rssMb));
    const range = `${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)}`;
    console.log(`${step.padEnd(22)} ${median(times).toFixed(1).padStart(6)} s  ${range.padStart(9)} s  ${peak.toFixed(0).padStart(5)} MB`);
  }
  console.log('  no yardstick: the figures docs/SCALING.md gives for a period at flag_rules.max_flags (at most 100,000)');
}
