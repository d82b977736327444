/** `focus-billing build` and `focus-billing web`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../core/errors.ts';
import { type BuildReport, buildSite } from '../../site/build.ts';
import { type Io, plural, printJson, table } from '../output.ts';
import { checkDate, folderOut, inRepository, linkSecret, type RootOptions, withRoot } from './common.ts';

interface BuildCliOptions extends RootOptions {
  out: string;
  period?: string[];
  pdf: boolean;
  audience: 'admin' | 'pi';
  date?: string;
}

export function registerBuild(program: Command, io: Io): void {
  withRoot(
    program
      .command('build')
      .description('build the statements site (Astro) and the PDF statements from the billing data')
      .option('--out <dir>', 'output folder', folderOut, 'dist')
      .option('--period <YYYY-MM...>', 'only these periods (default: all)')
      .option('--no-pdf', 'skip PDF statements')
      .option('--audience <who>', 'admin: everything; pi: only statement pages and PDFs under secret links', 'admin')
      .option(
        '--date <YYYY-MM-DD>',
        "date printed on every statement (default: each period's own: the day it was closed, else its last commit)",
      )
      .option('--json', 'print counts and timings as JSON'),
  )
    .addHelpText(
      'after',
      `
Set STATEMENT_LINK_SECRET to put each PI's pages and PDFs under an unguessable link.
The site is built beside --out and swapped in only when every step worked: a failed build
exits non-zero and leaves the last good site in place.`,
    )
    .action(async (opts: BuildCliOptions) => {
      if (opts.audience !== 'admin' && opts.audience !== 'pi')
        throw new UserError(`--audience ${JSON.stringify(opts.audience)}: expected admin or pi`);
      const report = await runBuild(opts, io);
      if (opts.json) return printJson(io, report);
      io.out(describeBuild(report));
    });

  withRoot(
    program
      .command('web')
      .description("the billing office's app: import, review, every charge, the email log and the live site, writing to git")
      .option('--port <n>', 'port (0: any free one)', '8000')
      .option('--host <address>', 'address to listen on; anything but 127.0.0.1 needs OCB_WEB_TOKEN', '127.0.0.1')
      .option('--allowed-host <name...>', 'with --host: other names the app is reached by (its DNS name)')
      .option('--no-live-site', "do not build the site (the app's own pages only)")
      .addHelpText(
        'after',
        `
The app serves the working tree of the billing repository: what it writes (ingest, review
decisions) is what the CLI writes, with its lock, and it commits to git. Open the address it
prints: it carries the session token (OCB_WEB_TOKEN, else a random one); scripts send
Authorization: Bearer <token>. The API (POST /api/import, GET /api/flags, POST
/api/flags/decide) is in docs/OPERATIONS.md.`,
      ),
  ).action(async (opts: RootOptions & { port: string; host: string; allowedHost?: string[]; liveSite: boolean }) => {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port ${opts.port}: expected a port number`);
    const { startWeb } = await import('../../web/server.ts');
    const { sessionToken } = await import('../../web/security.ts');
    const token = sessionToken(opts.host);
    const web = await startWeb({
      root: resolve(opts.root),
      host: opts.host,
      port,
      token,
      allowedHosts: opts.allowedHost,
      liveSite: opts.liveSite,
      say: io.err,
    });
    io.out(`OpenChargeback for ${resolve(opts.root)} at ${web.url}?token=${token} (Ctrl-C to stop)`);
    await new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    await web.close();
  });
}

async function runBuild(opts: BuildCliOptions, io: Io): Promise<BuildReport> {
  return inRepository(opts, io, async ({ root, config, db }) =>
    buildSite(db, config, {
      root,
      out: resolve(root, opts.out),
      periods: opts.period,
      pdf: opts.pdf,
      audience: opts.audience,
      linkSecret: linkSecret(),
      date: opts.date === undefined ? undefined : checkDate(opts.date),
      progress: io.progress,
    }),
  );
}

export function describeBuild(r: BuildReport): string {
  const t = r.timings_ms;
  const lines = [
    `Built ${r.out} (${r.audience} audience): ${plural(r.pages, 'page')}, ${plural(r.statements, 'statement')} for ${r.periods.join(', ')}`,
  ];
  lines.push(`  report ${(t.report ?? 0) / 1000}s · site ${(t.site ?? 0) / 1000}s${t.pdf !== undefined ? ` · PDFs ${t.pdf / 1000}s` : ''}`);
  const reused = r.periods.length - r.rendered_periods.length;
  if (reused > 0)
    lines.push(
      `  ${plural(r.rendered_periods.length, 'period')} built (${r.rendered_periods.join(', ') || 'none'}); ${reused} unchanged, reused from earlier builds`,
    );
  if (r.pdfs) lines.push(`  PDFs: ${r.pdfs.files} (${r.pdfs.printed} printed, ${r.pdfs.cached} unchanged from earlier builds)`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  // A Prepaid column only where a prepayment paid something: list − discount − prepaid = amount due.
  const prepaid = r.totals.some((t) => t.prepaid !== null);
  lines.push(
    '',
    table(
      ['Period', 'Statements', 'List price', 'Discount', ...(prepaid ? ['Prepaid'] : []), 'Amount due'],
      r.totals.map((t) => [
        t.period,
        String(t.statements),
        t.list,
        t.discount,
        ...(prepaid ? [t.prepaid ?? '–'] : []),
        `${t.amount_due} ${t.currency}`,
      ]),
      ['l', 'r', 'r', 'r', ...(prepaid ? ['r' as const] : []), 'r'],
    ),
  );
  return lines.join('\n');
}
