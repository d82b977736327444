/** `focus-billing pr-summary`: Markdown for the pull request comment. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../core/errors.ts';
import { prSummaryData, renderMarkdown, summaryJson } from '../../pr/summary.ts';
import { checkOutputPath } from '../../repo/outputs.ts';
import { commitWrites } from '../../repo/write.ts';
import { type Io, printJson } from '../output.ts';
import { fileOut, inRepository, type RootOptions, withRoot } from './common.ts';

export function registerPrSummary(program: Command, io: Io): void {
  withRoot(
    program
      .command('pr-summary')
      .description('Markdown for a PR comment: data files changed, totals before and after, per-PI changes, pending flags')
      .option('--base <ref>', 'compare with this branch or commit (default: origin/main, else main)')
      .option('--out <file>', 'write the Markdown to a file instead of stdout (-: stdout)', fileOut)
      .option('--json', 'print what the comment says as JSON (exact amounts), instead of the Markdown'),
  ).action(async (opts: RootOptions & { base?: string; out?: string; json?: boolean }) => {
    if (opts.json && opts.out)
      throw new UserError('give --json or --out, not both', { hint: '--json prints to stdout; redirect it to keep it' });
    const { config, summary } = await inRepository(opts, io, async ({ root, config, db }) => ({
      config,
      summary: await prSummaryData(db, root, config, opts.base),
    }));
    if (opts.json) return printJson(io, summaryJson(config, summary));
    const markdown = renderMarkdown(config, summary);
    if (opts.out) {
      await commitWrites([{ target: await checkOutputPath(resolve(opts.root), resolve(opts.out), '--out', 'file'), content: markdown }]);
      io.out(`Wrote ${opts.out} (${markdown.length.toLocaleString('en-US')} characters)`);
    } else io.out(markdown.trimEnd());
  });
}
