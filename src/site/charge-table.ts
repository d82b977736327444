/**
 * The charge browser's data for a period: every detail row of its statements (a resource's
 * charges on a day, and how many), columnar and dictionary-encoded (small to send), amounts in
 * minor units of each row's own currency.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { minorDigits } from '../core/currency.ts';
import { makeDir } from '../core/make-dir.ts';
import { parseDecimal } from '../core/money.ts';
import type { ChargeTable } from './client/charges.ts';
import type { PeriodView } from './model.ts';

export function chargeTable(p: PeriodView, config: Config): ChargeTable {
  const dict: ChargeTable['dict'] = { source: [], pi: [], project: [], service: [] };
  // One index per column: a key made per value and column cost a second for a million charges.
  const indexes = {
    source: new Map<string, number>(),
    pi: new Map<string, number>(),
    project: new Map<string, number>(),
    service: new Map<string, number>(),
  };
  const id = (k: keyof ChargeTable['dict'], v: string) => {
    let i = indexes[k].get(v);
    if (i === undefined) {
      i = dict[k].push(v) - 1;
      indexes[k].set(v, i);
    }
    return i;
  };
  const currencies: ChargeTable['currencies'] = [];
  const rows: ChargeTable['rows'] = [];
  for (const s of p.statements) {
    let c = currencies.findIndex((x) => x.code === s.currency);
    if (c === -1) c = currencies.push({ code: s.currency, digits: minorDigits(s.currency, config.billing.minor_units) }) - 1;
    const digits = (currencies[c] as { digits: number }).digits;
    let pi = -1;
    let project = -1;
    for (const d of s.details) {
      if (pi === -1) {
        pi = id('pi', s.pi_name);
        project = id('project', s.project_id);
      }
      rows.push([
        id('source', d.source),
        pi,
        project,
        id('service', d.service),
        c,
        d.date,
        d.resource,
        String(parseDecimal(d.amount.value, digits)),
        d.charges,
      ]);
    }
  }
  return { currencies, dict, rows };
}

/** The charge browser's data of a period: where it goes in the site, and its text. */
export function chargeTableFile(p: PeriodView, config: Config): { path: string; text: string } {
  return { path: `periods/${p.period}/charges.json`, text: JSON.stringify(chargeTable(p, config)) };
}

export async function writeChargeTable(siteDir: string, file: { path: string; text: string }): Promise<void> {
  await makeDir(dirname(join(siteDir, file.path)));
  await writeFile(join(siteDir, file.path), file.text);
}
