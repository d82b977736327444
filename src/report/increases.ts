/**
 * Unusual increases: PIs whose period total is above N times their total of the calendar month
 * before (same currency), when that month has data. Reported, not held back.
 */
import type { Config } from '../config/schema.ts';
import { formatUnits, parseDecimal, pow10, SCALE, trimDecimal } from '../core/money.ts';
import { piKey } from '../domain/identity.ts';
import { previousPeriod } from '../domain/period.ts';
import type { StatementSet } from '../statements/build.ts';

export interface PiIncrease {
  period: string;
  previous: string;
  pi_email: string;
  currency: string;
  before: string;
  after: string;
  ratio: string;
}

function totalsByPi(set: StatementSet): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const s of set.statements) {
    const k = JSON.stringify([piKey(s.pi_email), s.currency]);
    m.set(k, (m.get(k) ?? 0n) + parseDecimal(s.amount_due));
  }
  return m;
}

/** Increases in each of `periods`, against its previous calendar month found in `reports`. */
export function piIncreases(config: Config, periods: string[], reports: Map<string, StatementSet>): PiIncrease[] {
  const { pi_increase: factor, pi_increase_minimum: minimum } = config.flag_rules.anomalies;
  if (factor === null) return [];
  const f = parseDecimal(String(factor));
  const min = parseDecimal(String(minimum));
  const out: PiIncrease[] = [];
  for (const period of [...periods].sort()) {
    const cur = reports.get(period);
    const prev = reports.get(previousPeriod(period));
    if (!cur || !prev) continue;
    const before = totalsByPi(prev);
    for (const [k, after] of totalsByPi(cur)) {
      const b = before.get(k) ?? 0n;
      if (after < min || b <= 0n) continue;
      if (after * pow10(SCALE) > f * b) {
        const [pi_email, currency] = JSON.parse(k) as [string, string];
        out.push({
          period,
          previous: prev.period,
          pi_email,
          currency,
          before: trimDecimal(formatUnits(b, SCALE)),
          after: trimDecimal(formatUnits(after, SCALE)),
          ratio: (Number((after * 10n) / b) / 10).toFixed(1),
        });
      }
    }
  }
  return out;
}
