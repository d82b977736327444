/** The email a PI receives for a period: a digest of their statements, as HTML and text. Pure. */
import type { Config } from '../config/schema.ts';
import { type EMAIL_FIELDS, fillTemplate, markdownHtml } from '../config/templates.ts';
import { escapeHtml } from '../core/html.ts';
import { fill } from '../core/template.ts';
import { type PiPeriodView, policyLineText } from '../site/model.ts';

export interface Composed {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export function composeDigest(pi: PiPeriodView, period: { period: string; label: string }, config: Config, baseUrl: string): Composed {
  const url = (path: string) => new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
  const totals = pi.totals.map((t) => ({
    currency: t.currency,
    list: t.list.text,
    discount: t.discount.text,
    prepaid: t.prepaid?.text ?? null,
    due: t.amount_due.text,
  }));
  // A prepaid figure only where a prepayment paid something: list − discount − prepaid = amount due.
  const prepaidShown = totals.some((t) => t.prepaid !== null);
  const several = totals.length > 1;
  const org = config.organization;
  const subject = fill(config.email.subject, {
    period: period.period,
    period_label: period.label,
    pi_name: pi.name,
    organization: org.name,
  });
  const contact = `Questions? Contact ${org.contact_name ?? org.name}${org.contact_email ? ` at ${org.contact_email}` : ''}.`;
  const rows = pi.statements.map((s) => ({
    project: s.project_id,
    fund: s.fund_org,
    list: s.list.text,
    discount: `${s.discount.text}${s.discount_percent && s.discount_percent !== '0.0' ? ` (${s.discount_percent}%)` : ''}`,
    prepaid: s.prepaid?.text ?? null,
    due: s.amount_due.text,
    policy: s.lines.filter((l) => l.policy).map((l) => ({ text: policyLineText(l), amount: l.amount.text, ...policyColumn(l) })),
    pdf: url(s.paths.pdf),
    page: url(s.paths.page),
  }));
  const fields = {
    pi_name: pi.name,
    pi_email: pi.email,
    period: period.period,
    period_label: period.label,
    amount_due: totals.map((t) => t.due).join(' and '),
    projects: rows.map((r) => r.project).join(', '),
    statements_url: url(pi.piPage),
    organization: org.name,
    contact_name: org.contact_name ?? org.name,
    contact_email: org.contact_email ?? '',
  } satisfies Record<(typeof EMAIL_FIELDS)[number], string>;
  const body = config.email.body;
  const opening = body
    ? [fillTemplate(body, fields).trim(), '']
    : [
        `Dear ${pi.name},`,
        '',
        `Your research computing statement for ${period.label} is ready. It covers ${rows.length} project${rows.length === 1 ? '' : 's'}:`,
        '',
      ];
  const text = [
    ...opening,
    ...rows.map(
      (r) =>
        `  ${r.project} (fund/org ${r.fund}): list ${r.list}, discount ${r.discount}${r.prepaid ? `, prepaid ${r.prepaid}` : ''}, amount due ${r.due}\n${r.policy.map((p) => `    ${p.text}: ${p.amount}\n`).join('')}    PDF: ${r.pdf}`,
    ),
    '',
    ...totals.map(
      (t) =>
        `Total amount due${several ? ` in ${t.currency}` : ''}: ${t.due} (list price ${t.list}; subsidies and discounts ${t.discount}${t.prepaid ? `; paid from prepayments ${t.prepaid}` : ''}).`,
    ),
    '',
    `View your statements: ${url(pi.piPage)}`,
    '',
    contact,
    '',
    `${org.name}`,
  ].join('\n');
  const cell = 'padding:6px 10px;border-bottom:1px solid #d9dee5;text-align:left';
  const num = `${cell};text-align:right;white-space:nowrap`;
  const html = `<!doctype html><html lang="en"><body style="font-family:Arial,Helvetica,sans-serif;color:#1b1f24;line-height:1.45">
${body ? markdownHtml(body, fields) : `<p>Dear ${escapeHtml(pi.name)},</p>\n<p>Your research computing statement for <strong>${escapeHtml(period.label)}</strong> is ready.</p>`}
<table style="border-collapse:collapse" role="presentation">
<thead><tr><th style="${cell}">Project</th><th style="${cell}">Fund/org</th><th style="${num}">List price</th><th style="${num}">Discount</th>${prepaidShown ? `<th style="${num}">Prepaid</th>` : ''}<th style="${num}">Amount due</th><th style="${cell}">Statement</th></tr></thead>
<tbody>
${rows
  .map(
    (r) =>
      `<tr><td style="${cell}">${escapeHtml(r.project)}</td><td style="${cell}">${escapeHtml(r.fund)}</td><td style="${num}">${escapeHtml(r.list)}</td><td style="${num}">${escapeHtml(r.discount)}</td>${prepaidShown ? `<td style="${num}">${escapeHtml(r.prepaid ?? '–')}</td>` : ''}<td style="${num}">${escapeHtml(r.due)}</td><td style="${cell}"><a href="${escapeHtml(r.pdf)}">PDF</a> · <a href="${escapeHtml(r.page)}">web</a></td></tr>${r.policy
        .map(
          (p) =>
            // Under its statement, in the column whose figure it is part of.
            `<tr><td style="${cell};padding-left:22px;color:#5a6472" colspan="2">${escapeHtml(p.text)}</td>${(
              ['list', 'discount', ...(prepaidShown ? ['prepaid'] : [])] as const
            )
              .map((c) => `<td style="${num};color:#5a6472">${c === p.column ? escapeHtml(p.shown) : ''}</td>`)
              .join('')}<td style="${cell}"></td><td style="${cell}"></td></tr>`,
        )
        .join('')}`,
  )
  .join('\n')}
</tbody>
<tfoot>${totals
    .map(
      (t) =>
        `<tr><th style="${cell}" colspan="2">Total${several ? ` (${escapeHtml(t.currency)})` : ''}</th><td style="${num}">${escapeHtml(t.list)}</td><td style="${num}">${escapeHtml(t.discount)}</td>${prepaidShown ? `<td style="${num}">${escapeHtml(t.prepaid ?? '–')}</td>` : ''}<td style="${num}"><strong>${escapeHtml(t.due)}</strong></td><td style="${cell}"></td></tr>`,
    )
    .join('')}</tfoot>
</table>
<p><a href="${escapeHtml(url(pi.piPage))}">View all your statements for ${escapeHtml(period.label)}</a></p>
<p style="color:#5a6472">${escapeHtml(contact)}<br>${escapeHtml(org.name)}</p>
</body></html>`;
  return { to: pi.email, subject, text, html };
}

/**
 * Where a policy line's amount sits in the email's table, and as what: an adjustment is part of
 * the list price; a prepayment of what was prepaid; a cap, credit or showback of the discount.
 */
function policyColumn(l: PiPeriodView['statements'][number]['lines'][number]): { column: 'list' | 'discount' | 'prepaid'; shown: string } {
  if (l.policy?.kind === 'adjustment') return { column: 'list', shown: l.list.text };
  if (l.policy?.kind === 'prepayment') return { column: 'prepaid', shown: l.amount.text.replace(/^-/, '') };
  return { column: 'discount', shown: l.discount.text };
}
