/** `focus-billing email --period P`. */
import { readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ChecksFailed, UserError } from '../../core/errors.ts';
import { now } from '../../flags/decider.ts';
import { checkOutputPath } from '../../repo/outputs.ts';
import { loadSiteModel } from '../../site/load-model.ts';
import { type Io, plural, printJson } from '../output.ts';
import { checkBaseUrl, checkPeriod, folderOut, inRepository, linkSecret, type RootOptions, withRoot } from './common.ts';

interface EmailCliOptions extends RootOptions {
  period: string;
  baseUrl?: string;
  send?: boolean;
  only?: string[];
  resend?: boolean;
  attachPdf?: boolean;
  allowPending?: boolean;
  site: string;
  out: string;
}

export function registerEmail(program: Command, io: Io): void {
  withRoot(
    program
      .command('email')
      .description('email each PI a link to their statements for a period (writes .eml files unless --send)')
      .requiredOption('--period <YYYY-MM>', 'billing period')
      .option('--base-url <url>', 'public URL of the site (default: site.base_url in config.yaml)')
      .option('--send', 'send through SMTP (config email.smtp; credentials from environment variables)')
      .option('--only <email...>', 'only these PIs')
      .option('--resend', 'send again to PIs already sent this period (e.g. after a correction)')
      .option('--attach-pdf', 'attach the PDF statements (from the built site)')
      .option('--allow-pending', 'send even though flags are pending')
      .option('--site <dir>', 'built site, for --attach-pdf', 'dist')
      .option('--out <dir>', 'where .eml files go without --send', folderOut, 'out/emails')
      .option('--json', 'print the outcome as JSON'),
  )
    .addHelpText(
      'after',
      `
Without --send nothing leaves the machine: read the .eml files first. A rerun with --send skips
every PI already sent the same statements (periods/<period>/deliveries.yaml); a PI whose
statement changed is sent again only with --resend. Exit 1 when any message failed.
Email is at-least-once (SMTP cannot promise more): after a crash, a rerun may send again the one
message that was in flight; every other PI is skipped.`,
    )
    .action(async (opts: EmailCliOptions) => {
      let outDir = '';
      const outcomes = await inRepository(opts, io, async ({ root, config, db }) => {
        const given = opts.baseUrl ?? config.site.base_url;
        if (!given)
          throw new UserError('statement links need the site address', {
            hint: 'pass --base-url https://… or set site.base_url in config.yaml',
          });
        const baseUrl = checkBaseUrl(given, opts.baseUrl ? '--base-url' : 'site.base_url');
        const { model } = await loadSiteModel(db, config, {
          root,
          periods: [checkPeriod(opts.period, '--period')],
          audience: 'admin',
          linkSecret: linkSecret(),
          progress: io.progress,
        });
        const [report] = model.periods;
        if (!report) throw new UserError(`no data for period ${opts.period}`);
        const pending = report.flag_counts.pending;
        if (pending > 0 && !opts.allowPending) {
          throw new UserError(`${opts.period} has ${pending} pending flag${pending > 1 ? 's' : ''}: statements are not final`, {
            hint: 'decide them first (focus-billing review list), or pass --allow-pending',
          });
        }
        const { emailPeriod } = await import('../../email/send.ts'); // nodemailer: only for this command
        outDir = join(await checkOutputPath(root, resolve(root, opts.out), '--out'), opts.period);
        return emailPeriod(config, {
          root,
          period: report,
          baseUrl,
          send: Boolean(opts.send),
          only: opts.only,
          resend: opts.resend,
          attachPdf: opts.attachPdf,
          siteDir: resolve(root, opts.site),
          outDir,
          now,
          progress: io.progress,
          lock: { say: io.err },
        });
      });
      const failed = outcomes.filter((o) => o.status === 'failed');
      // Emails an earlier run wrote for PIs who have no statement now stay in the folder (nothing
      // is deleted): said, so that none is sent by hand as if it were this period's.
      const written = new Set(outcomes.flatMap((o) => (o.status === 'written' ? [basename(o.file)] : [])));
      const stale =
        opts.send || opts.only
          ? []
          : (await readdir(outDir).catch(() => [] as string[])).filter((n) => n.endsWith('.eml') && !written.has(n)).sort();
      if (stale.length > 0)
        io.err(
          `warning: ${join(opts.out, opts.period)}/ also holds ${plural(stale.length, 'email')} this run did not write (an earlier run's, for PIs without a statement now?): ${stale.join(', ')}\n  hint: remove them before sending any by hand`,
        );
      if (opts.json) printJson(io, { period: opts.period, outcomes, ...(stale.length > 0 ? { not_written_by_this_run: stale } : {}) });
      else {
        for (const o of outcomes) {
          if (o.status === 'failed') io.err(`failed  ${o.pi}: ${o.error} (after ${plural(o.attempts, 'attempt')})`);
          else if (o.status === 'skipped') io.out(`skipped ${o.pi}: ${o.reason}`);
          else if (o.status === 'sent') io.out(`sent    ${o.pi}${o.attempts > 1 ? ` (after ${o.attempts} attempts)` : ''}`);
        }
        const count = (s: string) => outcomes.filter((o) => o.status === s).length;
        io.out(
          opts.send
            ? `${count('sent')} sent, ${count('skipped')} skipped, ${failed.length} failed; log: periods/${opts.period}/deliveries.yaml`
            : `Wrote ${plural(count('written'), 'email')} to ${join(opts.out, opts.period)}/ (nothing sent; read them, then run again with --send)`,
        );
      }
      if (failed.length > 0) throw new ChecksFailed(`${failed.length} failed`);
    });
}
