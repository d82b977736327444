/** `focus-billing build` and `focus-billing web`. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { UserError } from '../../core/errors.ts';
import { type BuildReport, buildSite } from '../../site/build.ts';
import { serveStatic } from '../../site/serve.ts';
import { type Io, plural, printJson, table } from '../output.ts';
import { checkDate, inRepository, linkSecret, type RootOptions, withRoot } from './common.ts';

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
      .option('--out <dir>', 'output folder', 'dist')
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
      .description('serve the built site on 127.0.0.1 (building it first if there is none)')
      .option('--port <n>', 'port', '8000')
      .option('--out <dir>', 'site folder', 'dist')
      .option('--rebuild', 'build again even if a site exists'),
  ).action(async (opts: RootOptions & { port: string; out: string; rebuild?: boolean }) => {
    const out = resolve(opts.root, opts.out);
    if (opts.rebuild || !existsSync(join(out, 'index.html'))) {
      io.out(describeBuild(await runBuild({ ...opts, out: opts.out, pdf: true, audience: 'admin' }, io)));
    }
    const config = await loadConfig(resolve(opts.root));
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port ${opts.port}: expected a port number`);
    const server = serveStatic(out, config.site.base_path);
    await new Promise<void>((ok, fail) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        fail(e.code === 'EADDRINUSE' ? new UserError(`port ${port} is in use`, { hint: 'pass --port <another>' }) : e),
      );
      server.listen(port, '127.0.0.1', ok);
    });
    const address = server.address();
    io.out(
      `Serving ${out} at http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}${config.site.base_path} (Ctrl-C to stop)`,
    );
    await new Promise<void>((done) => {
      process.once('SIGINT', () => server.close(() => done()));
      process.once('SIGTERM', () => server.close(() => done()));
    });
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
  if (r.pdfs) lines.push(`  PDFs: ${r.pdfs.files} (${r.pdfs.printed} printed, ${r.pdfs.cached} unchanged from the cache)`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  lines.push(
    '',
    table(
      ['Period', 'Statements', 'List price', 'Discount', 'Amount due'],
      r.totals.map((t) => [t.period, String(t.statements), t.list, t.discount, `${t.amount_due} ${t.currency}`]),
      ['l', 'r', 'r', 'r', 'r'],
    ),
  );
  return lines.join('\n');
}
