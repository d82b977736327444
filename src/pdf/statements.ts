/**
 * PDF statements. One `page.pdf()` call costs ~150 ms whatever its length, so instead of one call
 * per statement, the changed statements are printed together as one document (each starts on a
 * new page) and split apart at the pages the PDF outline gives for each statement's heading.
 * Each PDF is cached by a hash of what it shows, so an unchanged statement is never printed again.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PDFArray, PDFDict, PDFDocument, PDFName, type PDFRef } from 'pdf-lib';
import type { Browser } from 'playwright-core';
import { makeDir } from '../core/make-dir.ts';
import { placeFromCache, touchAndPrune } from '../repo/cache-dir.ts';

export interface PrintJob {
  number: string;
  /** Built statement page (index.html) holding one <article class="statement">. */
  html: string;
  target: string;
  contentHash: string;
  title: string;
  /** The statement's date: its PDF's creation and modification date, so the same statement gives the same bytes. */
  date: Date;
}

export interface PrintResult {
  printed: number;
  cached: number;
  batches: number;
  print_ms: number;
}

const BATCH = 200;

/** The statement article of a built page, and the CSS the page uses (inlined, for setContent). */
async function statementParts(htmlPath: string, siteDir: string, base: string): Promise<{ article: string; css: string }> {
  const html = await readFile(htmlPath, 'utf8');
  const start = html.indexOf('<article class="statement"');
  const end = html.indexOf('</article>', start);
  if (start === -1 || end === -1) throw new Error(`${htmlPath} has no statement article`);
  const css: string[] = [];
  for (const m of html.matchAll(/<link[^>]+rel="stylesheet"[^>]*href="([^"]+)"/g)) {
    const href = (m[1] as string).startsWith(base) ? (m[1] as string).slice(base.length) : (m[1] as string).replace(/^\//, '');
    css.push(await readFile(join(siteDir, href), 'utf8'));
  }
  for (const m of html.matchAll(/<style[^>]*>([\s\S]*?)<\/style>/g)) css.push(m[1] as string);
  return { article: html.slice(start, end + '</article>'.length), css: css.join('\n') };
}

export async function printStatements(
  browser: () => Promise<Browser>,
  jobs: PrintJob[],
  options: {
    siteDir: string;
    base: string;
    cacheDir: string;
    author: string;
    progress?: (done: number, total: number) => void;
  },
): Promise<PrintResult> {
  await makeDir(options.cacheDir);
  const result: PrintResult = { printed: 0, cached: 0, batches: 0, print_ms: 0 };
  if (jobs.length === 0) return result;
  const { css } = await statementParts(jobs[0]?.html as string, options.siteDir, options.base);
  const styleHash = createHash('sha256').update(css).digest('hex');
  const cachePath = (j: PrintJob) =>
    join(options.cacheDir, `${createHash('sha256').update(`${j.contentHash}\n${styleHash}`).digest('hex')}.pdf`);
  const todo = jobs.filter((j) => !existsSync(cachePath(j)));
  result.cached = jobs.length - todo.length;
  if (todo.length > 0) {
    const b = await browser();
    const page = await b.newPage();
    // Printed offline: a statement's PDF is the same whoever prints it, and never waits on the
    // web. An image from the web in the period's notes (a page of the site shows it) is printed
    // as its alternative text; a host that never answered held the print until it timed out.
    await page.route('**/*', (route) => route.abort());
    try {
      for (let i = 0; i < todo.length; i += BATCH) {
        const batch = todo.slice(i, i + BATCH);
        const t = performance.now();
        const articles = await Promise.all(batch.map(async (j) => (await statementParts(j.html, options.siteDir, options.base)).article));
        const pdfs = await printBatch(page, articles, css);
        result.print_ms += performance.now() - t;
        result.batches++;
        for (const [k, job] of batch.entries()) {
          const bytes = await finish(pdfs[k] as PDFDocument, job, options);
          const tmp = `${cachePath(job)}.${process.pid}.tmp`;
          await writeFile(tmp, bytes);
          await rename(tmp, cachePath(job));
          result.printed++;
        }
        options.progress?.(result.cached + result.printed, jobs.length);
      }
    } finally {
      await page.close();
    }
  }
  await placeFromCache(jobs.map((job) => ({ from: cachePath(job), to: job.target })));
  await touchAndPrune(options.cacheDir, jobs.map(cachePath));
  return result;
}

/** Prints articles as one document and splits it at each statement's first page. */
async function printBatch(page: import('playwright-core').Page, articles: string[], css: string): Promise<PDFDocument[]> {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><style>${css}</style></head><body><main>${articles.join('\n')}</main></body></html>`;
  await page.setContent(html, { waitUntil: 'load' });
  // An image from anywhere but the page itself (a data: URL, as the logo is) was not loaded, since
  // printing is offline: it is printed as its words, not as a broken image's frame.
  await page.evaluate(() => {
    for (const img of Array.from(document.images))
      if (!img.src.startsWith('data:')) img.replaceWith(Object.assign(document.createElement('em'), { textContent: img.alt }));
  });
  const bytes = await page.pdf({ preferCSSPageSize: true, printBackground: true, outline: true, tagged: true });
  const doc = await PDFDocument.load(bytes);
  const starts = outlineStarts(doc);
  if (starts.length !== articles.length) {
    // The outline did not give one entry per statement: print them one at a time instead.
    if (articles.length === 1) return [doc];
    const out: PDFDocument[] = [];
    for (const article of articles) out.push(...(await printBatch(page, [article], css)));
    return out;
  }
  const total = doc.getPageCount();
  const out: PDFDocument[] = [];
  for (const [k, first] of starts.entries()) {
    const last = k + 1 < starts.length ? (starts[k + 1] as number) : total;
    const part = await PDFDocument.create();
    for (const p of await part.copyPages(
      doc,
      Array.from({ length: last - first }, (_, n) => first + n),
    ))
      part.addPage(p);
    out.push(part);
  }
  return out;
}

/** Page index of each top-level outline entry (one per statement heading), in order. */
export function outlineStarts(doc: PDFDocument): number[] {
  const pageIndex = new Map(doc.getPages().map((p, i) => [p.ref.toString(), i]));
  const outlines = doc.catalog.lookupMaybe(PDFName.of('Outlines'), PDFDict);
  const starts: number[] = [];
  let item = outlines?.lookupMaybe(PDFName.of('First'), PDFDict);
  while (item) {
    const dest = item.lookupMaybe(PDFName.of('Dest'), PDFArray);
    const ref = dest?.get(0) as PDFRef | undefined;
    const index = ref ? pageIndex.get(ref.toString()) : undefined;
    if (index === undefined) return [];
    starts.push(index);
    item = item.lookupMaybe(PDFName.of('Next'), PDFDict);
  }
  return starts;
}

/** Metadata fixed by the statement's date, so the same statement gives the same PDF. */
async function finish(doc: PDFDocument, job: PrintJob, options: { author: string }): Promise<Uint8Array> {
  doc.setTitle(job.title);
  doc.setAuthor(options.author);
  doc.setSubject(`Statement ${job.number}`);
  doc.setProducer('OpenChargeback');
  doc.setCreator('OpenChargeback (Chromium)');
  doc.setCreationDate(job.date);
  doc.setModificationDate(job.date);
  return doc.save({ useObjectStreams: true });
}
