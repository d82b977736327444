/**
 * URLs and file names of statements. A PI's slug carries a hash of the full email, so two PIs
 * with the same local part never share a page or a PDF name. With a link secret, a PI's pages
 * live under an unguessable HMAC token of (period, PI) instead.
 */
import { createHash, createHmac } from 'node:crypto';

export function slugify(text: string, max = 40): string {
  const s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return s || 'x';
}

export function piSlug(email: string): string {
  const [local = email] = email.split('@');
  return `${slugify(local, 30)}-${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 6)}`;
}

export function linkToken(secret: string, period: string, email: string): string {
  return createHmac('sha256', secret).update(`${period}\n${email.trim().toLowerCase()}`).digest('base64url').slice(0, 22);
}

export interface StatementPaths {
  piPage: string;
  page: string;
  pdf: string;
  pdfFile: string;
}

/** Paths relative to the site's base (no leading slash). */
export function statementPaths(period: string, email: string, project: string, number: string, secret?: string): StatementPaths {
  const slug = piSlug(email);
  const pdfFile = `${period}_${slug}_${slugify(project)}_${number.slice(number.indexOf('-') + 1)}.pdf`;
  if (secret) {
    const token = linkToken(secret, period, email);
    return { piPage: `s/${token}/`, page: `s/${token}/${number}/`, pdf: `s/${token}/${pdfFile}`, pdfFile };
  }
  return {
    piPage: `periods/${period}/pi/${slug}/`,
    page: `periods/${period}/statements/${number}/`,
    pdf: `periods/${period}/pdf/${pdfFile}`,
    pdfFile,
  };
}
