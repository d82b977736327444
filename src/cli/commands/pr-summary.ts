/** `focus-billing pr-summary`: Markdown for the pull request comment. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { prSummary } from '../../pr/summary.ts';
import { checkOutputPath } from '../../repo/outputs.ts';
import { commitWrites } from '../../repo/write.ts';
import type { Io } from '../output.ts';
import { inRepository, type RootOptions, withRoot } from './common.ts';

export function registerPrSummary(program: Command, io: Io): void {
  withRoot(
    program
      .command('pr-summary')
      .description('Markdown for a PR comment: data files changed, totals before and after, per-PI changes, pending flags')
      .option('--base <ref>', 'compare with this branch or commit (default: origin/main, else main)')
      .option('--out <file>', 'write the Markdown to a file instead of stdout'),
  ).action(async (opts: RootOptions & { base?: string; out?: string }) => {
    const markdown = await inRepository(opts, io, ({ root, config, db }) => prSummary(db, root, config, opts.base));
    if (opts.out) {
      await commitWrites([{ target: await checkOutputPath(resolve(opts.root), resolve(opts.out), '--out', 'file'), content: markdown }]);
      io.out(`Wrote ${opts.out} (${markdown.length.toLocaleString('en-US')} characters)`);
    } else io.out(markdown.trimEnd());
  });
}
