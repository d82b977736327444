/**
 * The institution's words: Markdown templates with named fields (`{pi_name}`), for the statement's
 * intro and footer and the email body. A field the template names that is not offered is refused
 * when config.yaml is loaded (with its line), never printed as `{typo}` to a PI. Values are filled
 * in before the Markdown is rendered, escaped as Markdown, and the renderer (micromark) escapes any
 * HTML, so a name or a project id in a CSV can never add markup, a link or emphasis.
 */
import { micromark } from 'micromark';
import { z } from 'zod';
import { isAutolink, markdownText } from '../core/markdown.ts';

/** Fields of a statement's intro and footer. */
export const STATEMENT_FIELDS = [
  'pi_name',
  'pi_email',
  'period',
  'period_label',
  'project_id',
  'fund_org',
  'statement_number',
  'amount_due',
  'organization',
  'contact_name',
  'contact_email',
] as const;

/** Fields of the email body. */
export const EMAIL_FIELDS = [
  'pi_name',
  'pi_email',
  'period',
  'period_label',
  'amount_due',
  'projects',
  'statements_url',
  'organization',
  'contact_name',
  'contact_email',
] as const;

const FIELD = /\{(\w+)\}/g;

/** A template string whose `{fields}` are all among `fields`. */
export function templateSchema(fields: readonly string[]) {
  return z
    .string()
    .min(1)
    .superRefine((text, ctx) => {
      const unknown = [...new Set([...text.matchAll(FIELD)].map((m) => m[1] as string))].filter((f) => !fields.includes(f));
      if (unknown.length)
        ctx.addIssue({
          code: 'custom',
          message: `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => `{${f}}`).join(', ')}; fields: ${fields.map((f) => `{${f}}`).join(', ')}`,
        });
    });
}

export function fillTemplate(template: string, fields: Record<string, string>): string {
  return template.replace(FIELD, (whole, name: string) => fields[name] ?? whole);
}

const FIELD_IN_ANGLES = /(<?)\{(\w+)\}(>?)/g;

/**
 * A filled template as HTML. Raw HTML in it is escaped, never passed through, and each value is
 * shown as written: its Markdown characters are escaped before it is filled in. A field written
 * as an autolink (`<{statements_url}>`) stays one when its value is a URL or an email address.
 */
export function markdownHtml(template: string, fields: Record<string, string>): string {
  const filled = template.replace(FIELD_IN_ANGLES, (whole, open: string, name: string, close: string) => {
    const value = fields[name];
    if (value === undefined) return whole;
    if (open && close && isAutolink(value)) return `<${value}>`;
    return `${open}${markdownText(value)}${close}`;
  });
  return micromark(filled);
}

/** WCAG relative luminance of a #rrggbb colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Contrast of a colour against white: links and headings in the accent colour must stay readable (WCAG AA, 4.5:1). */
export function contrastOnWhite(hex: string): number {
  return 1.05 / (luminance(hex) + 0.05);
}
