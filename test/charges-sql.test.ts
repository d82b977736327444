/**
 * What the charge SQL knows without parsing: a period's start written as exports commonly write
 * it, and the default currency's code, give what the casts and checks give for the same text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../src/config/schema.ts';
import { withDatabase } from '../src/db/duckdb.ts';
import { Params } from '../src/db/params.ts';
import { CHARGE_HOUR_FORMATS, type ChargeFile, chargeHourTextsSql, chargesSql, periodStartTexts } from '../src/focus/charges-sql.ts';
import { mapColumns, requiredColumns } from '../src/focus/columns.ts';
import { sniffFile } from '../src/focus/file.ts';
import { scratch, tags, writeCsv } from './helpers.ts';

const HEADER = ['BillingPeriodStart', 'ChargePeriodStart', 'BilledCost', 'BillingCurrency', 'Tags'];
const TAGS = tags({ pi_email: 'a@x.edu', project_id: 'p', fund_org: 'f' });

interface Out {
  text: string;
  currency_text: string | null;
  period: string | null;
  period_ts: string | null;
  bad_period: boolean;
  r_period_mismatch: boolean;
  currency: string;
  bad_currency: boolean;
}

async function read(rows: string[][], period: string | null, defaultCurrency: string, t: Parameters<typeof scratch>[0]): Promise<Out[]> {
  const path = await writeCsv(await scratch(t), 'x.csv', [HEADER, ...rows]);
  const config = configSchema.parse({ billing: { default_currency: defaultCurrency } });
  return withDatabase(async (db) => {
    const file = await sniffFile(path, 'x.csv', db);
    const f: ChargeFile = { file, columns: mapColumns(file, requiredColumns('BilledCost')), sourceSlug: 's', relPath: 'x.csv' };
    const params = new Params();
    return db.query<Out>(
      `SELECT period_raw AS text, currency_raw AS currency_text, period, _period_ts::VARCHAR AS period_ts, bad_period,
         r_period_mismatch, currency, bad_currency
       FROM (${chargesSql(f, { config, period }, params)})`,
      params.values,
    );
  });
}

describe('the charge SQL', () => {
  it("knows a period's usual start texts without parsing them, as the cast and checks read them", async (t) => {
    for (const period of ['2025-03', '1900-01', '2199-12', '2024-02']) {
      const other = period === '2025-03' ? '2025-04' : '2025-03';
      const texts = [
        ...periodStartTexts(period),
        ...periodStartTexts(other),
        `${period}-01T00:00:00+01:00`, // the month before, in UTC
        `${period}-01`,
        `${period}-01T00:00:00.000000Z`,
        ` ${period}-01T00:00:00Z `,
        'not a date',
      ];
      const rows = texts.map((text) => [text, `${period}-01T05:00:00Z`, '1.00', 'USD', TAGS]);
      // Without a period nothing is known in advance: every text is cast and checked.
      const parsed = await read(rows, null, 'USD', t);
      const known = await read(rows, period, 'USD', t);
      assert.equal(known.length, texts.length);
      for (const [i, k] of known.entries()) {
        const p = parsed[i] as Out;
        assert.deepEqual(
          [k.period, k.period_ts, k.bad_period],
          [p.period, p.period_ts, p.bad_period],
          `${JSON.stringify(texts[i])} under ${period}`,
        );
        assert.equal(k.r_period_mismatch, p.period !== null && p.period !== period, `${JSON.stringify(texts[i])} under ${period}`);
      }
      for (const text of periodStartTexts(period)) {
        const k = known.find((r) => r.text === text) as Out;
        assert.deepEqual([k.period, k.bad_period, k.r_period_mismatch], [period, false, false], text);
      }
    }
  });

  it("knows every hour of a period as exports write a charge period's bounds, as the cast and checks read them", async (t) => {
    const header = ['BillingPeriodStart', 'ChargePeriodStart', 'ChargePeriodEnd', 'BilledCost', 'BillingCurrency', 'Tags'];
    const path = await writeCsv(await scratch(t), 'x.csv', [header, ['2025-03-01T00:00:00Z', '', '', '1', 'USD', TAGS]]);
    const config = configSchema.parse({});
    await withDatabase(async (db) => {
      const file = await sniffFile(path, 'x.csv', db);
      const f: ChargeFile = { file, columns: mapColumns(file, requiredColumns('BilledCost')), sourceSlug: 's', relPath: 'x.csv' };
      for (const [period, hours] of [
        ['2025-03', 31 * 24 + 1],
        ['2024-02', 29 * 24 + 1],
        ['1900-01', 31 * 24 + 1],
        ['2199-12', 31 * 24], // not 2200-01-01T00:00:00Z: the checks refuse the year 2200
      ] as const) {
        const params = new Params();
        const [count] = await db.query<{ n: string; distinct: string }>(
          `SELECT count(*) AS n, count(DISTINCT t) AS "distinct" FROM ${chargeHourTextsSql(period, params)}`,
          params.values,
        );
        const texts = String(hours * CHARGE_HOUR_FORMATS.length);
        assert.deepEqual(count, { n: texts, distinct: texts }, period);
        // Every known text as a start and as an end, and texts near them that are not known.
        const [y, m] = period.split('-');
        const days = new Date(Date.UTC(Number(y), Number(m), 0)).getUTCDate();
        const next = m === '12' ? `${Number(y) + 1}-01` : `${y}-${String(Number(m) + 1).padStart(2, '0')}`;
        // Known texts are told by their parts (no join, which would lose the rows' order): near misses of each part.
        const nearMisses = [
          `${period}-00T00:00:00Z`,
          `${period}-${days + 1}T00:00:00Z`,
          `${period}-${days}T23:59:59.999`,
          `${period}-01 00:00:00Z`,
          `${period}-01T00:00:00`,
          `${period}-1T00:00:00Z`,
          `${period}-01T0:00:00Z`,
          `${period}-0aT00:00:00Z`,
          `${period}-01T2a:00:00Z`,
          `${period}-01T23:00:00ZZ`,
          `${period}-01T23:00:00Z `,
          `${period}-01T00:00:59Z`,
          `${period}T00:00:00Z`,
          `${next}-01T01:00:00Z`,
          `${next}-02T00:00:00Z`,
          ...(period === '2199-12' ? ['2200-01-01T00:00:00Z', '2200-01-01 00:59:59'] : []),
        ];
        const odd = [
          ...nearMisses,
          `${period}-01T00:00:00+01:00`,
          `${period}-01T00:30:00Z`,
          `${period}-01T00:00:00.000000Z`,
          ` ${period}-01T00:00:00Z`,
          `${period}-01T 0:00:00Z`,
          `${period}-01T00:00:0.Z`,
          `${period}-01T24:00:00Z`,
          `${period}-32T00:00:00Z`,
          `${Number(y) - 1}-${m}-15T00:00:00Z`,
          `${period}-01 00:00:00 BC`,
          'epoch',
          '',
        ];
        const read = async (p: string | null) => {
          const q = new Params();
          const known = chargeHourTextsSql(period, q);
          const rows = `(SELECT '${period}-01T00:00:00Z' AS c0, s AS c1, e AS c2, '1' AS c3, 'USD' AS c4, ${q.add(TAGS)} AS c5 FROM (
              SELECT t AS s, t AS e FROM ${known}
              UNION ALL SELECT t, ${q.add(`${period}-01T00:00:00Z`)} FROM ${known}
              UNION ALL SELECT unnest(${q.add(odd)}::VARCHAR[]), ${q.add(`${period}-02 00:00:00`)}))`;
          return db.query<Record<string, unknown>>(
            `SELECT c1, c2, charge_start::VARCHAR AS s, charge_end::VARCHAR AS e, bad_charge_start, bad_charge_end,
               _charge_start_known AS sk, _charge_end_known AS ek
             FROM (${chargesSql(f, { config, period: p, rows }, q)}) ORDER BY c1 NULLS FIRST, c2`,
            q.values,
          );
        };
        // Without a period nothing is known in advance: every text is cast and checked.
        const [checked, fast] = [await read(null), await read(period)];
        assert.equal(fast.length, 2 * Number(texts) + odd.length);
        assert.equal(checked.filter((r) => r.sk).length, 0);
        assert.equal(fast.filter((r) => r.sk).length, 2 * Number(texts), period);
        assert.equal(fast.filter((r) => r.ek).length, 2 * Number(texts) + odd.length, period);
        for (const [i, r] of fast.entries()) {
          const c = checked[i] as Record<string, unknown>;
          assert.deepEqual(
            [r.c1, r.c2, r.s, r.e, r.bad_charge_start, r.bad_charge_end],
            [c.c1, c.c2, c.s, c.e, c.bad_charge_start, c.bad_charge_end],
          );
          if (r.sk) assert.deepEqual([r.s === null, r.bad_charge_start], [false, false], String(r.c1));
        }
        // Some bounds end before they start, and are refused either way.
        assert.ok(
          fast.some((r) => r.sk && r.ek && r.bad_charge_end),
          period,
        );
      }
    });
  });

  it("knows the default currency's code as written, and checks every other spelling", async (t) => {
    const currencies = ['USD', 'usd', ' USD ', 'EUR', 'US', 'USDX', '', 'U$D'];
    const rows = currencies.map((c) => ['2025-03-01T00:00:00Z', '2025-03-01T05:00:00Z', '1.00', c, TAGS]);
    for (const defaultCurrency of ['USD', 'EUR', 'JPY']) {
      for (const r of await read(rows, '2025-03', defaultCurrency, t)) {
        const expected = (r.currency_text ?? defaultCurrency).toUpperCase();
        assert.deepEqual(
          [r.currency, r.bad_currency],
          [expected, !/^[A-Z]{3}$/.test(expected)],
          `${JSON.stringify(r.currency_text)} with ${defaultCurrency}`,
        );
      }
    }
  });
});
