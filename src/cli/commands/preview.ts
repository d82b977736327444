/**
 * `focus-billing preview email|statement --period P [--pi EMAIL]`: one PI's email, or one
 * statement, as it would be sent or printed, with the institution's templates filled in: to the
 * terminal as text, or to a file (`.html` for HTML, anything else text). Nothing is sent or built.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config/schema.ts';
import { UserError } from '../../core/errors.ts';
import { escapeHtml } from '../../core/html.ts';
import { composed, piKey } from '../../domain/identity.ts';
import { composeDigest } from '../../email/compose.ts';
import { checkOutputPath } from '../../repo/outputs.ts';
import { commitWrites } from '../../repo/write.ts';
import { loadSiteModel } from '../../site/load-model.ts';
import { type PiPeriodView, policyLineText, type StatementView } from '../../site/model.ts';
import { type Io, printJson } from '../output.ts';
import { checkBaseUrl, checkPeriod, fileOut, inRepository, linkSecret, type RootOptions, withRoot } from './common.ts';

interface PreviewOptions extends RootOptions {
  period: string;
  pi?: string;
  project?: string;
  out?: string;
  baseUrl?: string;
}

export function registerPreview(program: Command, io: Io): void {
  const preview = program
    .command('preview')
    .description("show one PI's email or one statement as it would be sent or printed, with config.yaml's templates filled in");
  for (const what of ['email', 'statement'] as const) {
    const cmd = withRoot(
      preview
        .command(what)
        .description(what === 'email' ? "a PI's email for a period (nothing is sent)" : 'a statement as text or HTML (nothing is built)')
        .requiredOption('--period <YYYY-MM>', 'billing period')
        .option('--pi <email>', 'the PI (default: the first PI of the period, by name)')
        .option('--out <file>', 'write to a file instead: .html for HTML, anything else text (-: stdout)', fileOut)
        .option('--json', 'print the preview as JSON'),
    );
    if (what === 'statement') cmd.option('--project <id>', 'which of the PI’s statements (default: the first)');
    else cmd.option('--base-url <url>', 'address of the site, for the links (default: site.base_url)');
    cmd.action(async (opts: PreviewOptions) => {
      checkPeriod(opts.period);
      const result = await inRepository(opts, io, async ({ root, config, db }) => {
        const { model } = await loadSiteModel(db, config, {
          root,
          periods: [opts.period],
          audience: 'admin',
          linkSecret: linkSecret(),
          progress: () => {},
        });
        const view = model.periods[0];
        const pis = view?.pis ?? [];
        // As the PI's key is made (any case, spaces around): what email --only takes.
        const pi = opts.pi ? pis.find((p) => p.email === piKey(opts.pi as string)) : pis[0];
        if (!view || !pi)
          throw new UserError(`${opts.pi ?? 'no PI'} has no statement in ${opts.period}`, {
            hint: pis.length ? `PIs with statements: ${pis.map((p) => p.email).join(', ')}` : 'ingest data for the period first',
          });
        if (what === 'email') {
          const base = opts.baseUrl ? checkBaseUrl(opts.baseUrl) : (config.site.base_url ?? 'https://billing.example.edu/');
          const mail = composeDigest(pi, { period: opts.period, label: view.label }, config, base);
          return { root, text: `Subject: ${mail.subject}\nTo: ${mail.to}\n\n${mail.text}`, html: mail.html, json: mail };
        }
        const s = opts.project ? pi.statements.find((x) => x.project_id === composed((opts.project as string).trim())) : pi.statements[0];
        if (!s)
          throw new UserError(`${pi.email} has no statement for project ${opts.project} in ${opts.period}`, {
            hint: `projects: ${pi.statements.map((x) => x.project_id).join(', ')}`,
          });
        return { root, text: statementText(s, pi, config), html: statementHtml(s, config), json: s };
      });
      if (opts.out) {
        const target = await checkOutputPath(result.root, resolve(opts.out), '--out', 'file');
        await commitWrites([{ target, content: /\.html?$/i.test(opts.out) ? result.html : `${result.text}\n` }]);
        io.err(`Wrote ${target}`);
        return;
      }
      if (opts.json) return printJson(io, result.json);
      io.out(result.text);
    });
  }
}

const strip = (html: string) =>
  html
    .replace(/<\/p>\s*/g, '\n\n')
    .replace(/<br\s*\/?>/g, '\n')
    .replace(/<li>/g, '- ')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();

/** A statement as plain text: what the printable page shows, line by line. */
function statementText(s: StatementView, pi: PiPeriodView, config: Config): string {
  const out = [
    `${config.organization.name}: statement ${s.number}`,
    `PI: ${pi.name} (${s.pi_email})   Period: ${s.period_label}   Project: ${s.project_id}   Fund/org: ${s.fund_org}`,
    '',
  ];
  if (s.intro_html) out.push(strip(s.intro_html), '');
  const width = Math.max(...s.lines.map((l) => l.amount.text.length), s.amount_due.text.length);
  for (const l of s.lines) {
    const label = l.policy ? policyLineText(l) : `${l.source} · ${l.service}`;
    out.push(`  ${label.padEnd(60)} ${l.amount.text.padStart(width)}`);
  }
  out.push(`  ${'Amount due'.padEnd(60)} ${s.amount_due.text.padStart(width)}`, '');
  if (s.footer_html) out.push(strip(s.footer_html));
  return out.join('\n').trimEnd();
}

/** A statement as a small standalone HTML page (the site's printable page needs a build). */
function statementHtml(s: StatementView, config: Config): string {
  const rows = s.lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.policy ? l.category : l.source)}</td><td>${escapeHtml(l.service)}${l.remaining ? ` (${escapeHtml(l.remaining.text)} remains)` : ''}</td><td style="text-align:right">${escapeHtml(l.amount.text)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Statement ${escapeHtml(s.number)}</title></head><body>
<h1>${escapeHtml(config.organization.name)}: statement ${escapeHtml(s.number)}</h1>
${s.intro_html ?? ''}
<table><tbody>
${rows}
</tbody><tfoot><tr><th colspan="2">Amount due</th><td style="text-align:right">${escapeHtml(s.amount_due.text)}</td></tr></tfoot></table>
${s.footer_html ?? ''}
</body></html>
`;
}
