/**
 * The rows of a statement's charge details as HTML, made once by the builder (model-file.ts):
 * parsed as a million objects and rendered expression by expression, the details of a 10M-row
 * month cost Astro's page build a third of its time. Every value is escaped as Astro escapes
 * text, and the rows are spaced as the template spaced them: the page is the same, byte for byte
 * (test/golden.test.ts).
 */
import { escapeHtml } from '../core/html.ts';
import type { DetailView } from './model.ts';

export function detailRowsHtml(details: readonly DetailView[]): string {
  let html = ' ';
  for (const d of details) {
    const category = d.category !== 'Usage' ? `<span class="small"> (${escapeHtml(d.category)})</span>` : '';
    html += `<tr> <td>${escapeHtml(d.date)}</td> <td>${escapeHtml(d.resource)}</td> <td>${escapeHtml(d.service)}${category}</td> <td class="num">${escapeHtml(d.list.text)}</td> <td class="num">${escapeHtml(d.discount.text)}</td> <td class="num">${escapeHtml(d.amount.text)}</td> </tr>`;
  }
  return `${html} `;
}
