/**
 * The site model as Astro reads it: JSON Lines, not one document. The first line is the model
 * without statements (each PI lists its statements by number); each further line is one
 * statement. A month of millions of charges has thousands of statements whose one-document JSON
 * (each statement was also repeated under its PI) is longer than the longest string V8 holds.
 *
 * A statement's charge details reach the pages as rows of HTML, made here: a million details
 * as objects cost the page builder seconds to parse and to keep, and its rendering more.
 */

import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { detailRowsHtml } from './detail-rows.ts';
import type { SiteModel, StatementView } from './model.ts';

/** A statement as the pages read it: its charge details as the rows of their table, escaped. */
export type PageStatement = Omit<StatementView, 'details'> & { details_html: string };
export type PageModel = SiteModel<PageStatement>;

interface Head extends PageModel {
  periods: (PageModel['periods'][number] & { pis: (PageModel['periods'][number]['pis'][number] & { numbers?: string[] })[] })[];
}

export async function writeModelFile(path: string, model: SiteModel): Promise<void> {
  const head: Head = {
    ...model,
    periods: model.periods.map((p) => ({
      ...p,
      statements: [],
      pis: p.pis.map((pi) => ({ ...pi, statements: [], numbers: pi.statements.map((s) => s.number) })),
    })),
  };
  const out = createWriteStream(path);
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  await write(JSON.stringify(head));
  for (const p of model.periods)
    for (const { details, ...s } of p.statements) {
      const statement: PageStatement = { ...s, details_html: detailRowsHtml(details) };
      await write(JSON.stringify({ period: p.period, statement }));
    }
  out.end();
  await once(out, 'finish');
}

export function readModelFile(path: string): PageModel {
  const bytes = readFileSync(path);
  let start = bytes.indexOf(10);
  const head = JSON.parse(bytes.toString('utf8', 0, start)) as Head;
  const byPeriod = new Map(head.periods.map((p) => [p.period, p]));
  while (start + 1 < bytes.length) {
    const end = bytes.indexOf(10, start + 1);
    const line = JSON.parse(bytes.toString('utf8', start + 1, end === -1 ? bytes.length : end)) as {
      period: string;
      statement: PageStatement;
    };
    byPeriod.get(line.period)?.statements.push(line.statement);
    start = end === -1 ? bytes.length : end;
  }
  for (const p of head.periods) {
    const byNumber = new Map(p.statements.map((s) => [s.number, s]));
    for (const pi of p.pis) {
      if (pi.numbers) pi.statements = pi.numbers.map((n) => byNumber.get(n) as PageStatement);
      delete pi.numbers;
    }
  }
  return head;
}
