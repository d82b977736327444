/**
 * The charge browser's data for a period: every charge line of its statements, columnar and
 * dictionary-encoded (small to send), amounts in minor units of each line's own currency.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { minorDigits } from '../core/currency.ts';
import { parseDecimal } from '../core/money.ts';
import type { ChargeTable } from './client/charges.ts';
import type { PeriodView } from './model.ts';

export function chargeTable(p: PeriodView, config: Config): ChargeTable {
  const dict: ChargeTable['dict'] = { source: [], pi: [], project: [], service: [] };
  const index = new Map<string, number>();
  const id = (k: keyof ChargeTable['dict'], v: string) => {
    let i = index.get(`${k}\u0000${v}`);
    if (i === undefined) {
      i = dict[k].push(v) - 1;
      index.set(`${k}\u0000${v}`, i);
    }
    return i;
  };
  const currencies: ChargeTable['currencies'] = [];
  const rows: ChargeTable['rows'] = [];
  for (const s of p.statements) {
    let c = currencies.findIndex((x) => x.code === s.currency);
    if (c === -1) c = currencies.push({ code: s.currency, digits: minorDigits(s.currency, config.billing.minor_units) }) - 1;
    const digits = (currencies[c] as { digits: number }).digits;
    for (const d of s.details) {
      rows.push([
        id('source', d.source),
        id('pi', s.pi_name),
        id('project', s.project_id),
        id('service', d.service),
        c,
        d.date,
        d.resource,
        String(parseDecimal(d.amount.value, digits)),
      ]);
    }
  }
  return { currencies, dict, rows };
}

export async function writeChargeTables(siteDir: string, periods: PeriodView[], config: Config): Promise<void> {
  for (const p of periods) {
    await mkdir(join(siteDir, 'periods', p.period), { recursive: true });
    await writeFile(join(siteDir, 'periods', p.period, 'charges.json'), JSON.stringify(chargeTable(p, config)));
  }
}
