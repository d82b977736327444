/**
 * Journal entries from the statements, never from the raw charges: every format's total is
 * the statements' total, to the cent. Pure: statements and config in, rows out.
 *
 * - detail: one row per statement line (PI × project × source × service × charge category)
 * - summary: one row per statement (PI × project × fund/org)
 * - gl: double entry; a debit per fund/org, source and account, and a balancing credit per
 *   source to that source's recharge fund/org. Each currency balances on its own.
 */
import type { Config } from '../config/schema.ts';
import { sourceName, sourceSlug } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { formatUnits, parseDecimal } from '../core/money.ts';
import { fill } from '../core/template.ts';
import { compareText } from '../domain/order.ts';
import type { Statement } from '../statements/build.ts';

export const JOURNAL_FORMATS = ['detail', 'summary', 'gl'] as const;
export type JournalFormat = (typeof JOURNAL_FORMATS)[number];

export interface Journal {
  format: JournalFormat;
  columns: string[];
  /** The CSV header of each column, when the ledger names them its own way (journal.columns). */
  headers?: string[];
  numeric: Set<string>;
  rows: Record<string, string | number | null>[];
  totals: { currency: string; amount: string; debit?: string; credit?: string }[];
}

export interface JournalInput {
  period: string;
  statements: Statement[];
  config: Config;
  digitsOf: (currency: string) => number;
  /** YYYY-MM-DD of the build, for `journal.date: build_date`. */
  buildDate: string;
}

const DETAIL_COLUMNS = [
  'period',
  'pi_email',
  'project_id',
  'fund_org',
  'source',
  'service',
  'category',
  'currency',
  'amount',
  'charge_count',
];
const SUMMARY_COLUMNS = [
  'period',
  'statement',
  'pi_email',
  'project_id',
  'fund_org',
  'currency',
  'list',
  'discount',
  'prepaid',
  'amount',
  'charge_count',
];
export const GL_FIELDS = [
  'date',
  'period',
  'fund_org',
  'account',
  'debit',
  'credit',
  'amount',
  'currency',
  'description',
  'reference',
  'source',
  'type',
  'line',
];
const NUMERIC = new Set(['amount', 'list', 'discount', 'prepaid', 'debit', 'credit', 'charge_count', 'line']);

export function buildJournal(format: JournalFormat, input: JournalInput): Journal {
  if (format === 'detail') return detail(input);
  if (format === 'summary') return summary(input);
  return generalLedger(input);
}

/** A detail or summary journal: rows with an `amount` and a `currency`, totalled per currency. */
function amountJournal(
  format: JournalFormat,
  columns: string[],
  rows: Record<string, string | number>[],
  digitsOf: (c: string) => number,
): Journal {
  const sums = new Map<string, bigint>();
  for (const r of rows) {
    const currency = r.currency as string;
    sums.set(currency, (sums.get(currency) ?? 0n) + parseDecimal(r.amount as string, digitsOf(currency)));
  }
  const totals = [...sums]
    .sort(([a], [b]) => compareText(a, b))
    .map(([currency, v]) => ({ currency, amount: formatUnits(v, digitsOf(currency)) }));
  return { format, columns, numeric: NUMERIC, rows, totals };
}

function detail({ period, statements, config, digitsOf }: JournalInput): Journal {
  const rows = statements.flatMap((s) =>
    s.lines.map((l) => ({
      period,
      pi_email: s.pi_email,
      project_id: s.project_id,
      fund_org: s.fund_org,
      source: sourceName(config, l.source),
      service: l.service,
      category: l.category,
      currency: s.currency,
      amount: l.amount,
      charge_count: l.charges,
    })),
  );
  return amountJournal('detail', DETAIL_COLUMNS, rows, digitsOf);
}

function summary({ period, statements, digitsOf }: JournalInput): Journal {
  const rows = statements.map((s) => ({
    period,
    statement: s.number,
    pi_email: s.pi_email,
    project_id: s.project_id,
    fund_org: s.fund_org,
    currency: s.currency,
    list: s.list,
    discount: s.discount,
    prepaid: s.prepaid,
    amount: s.amount_due,
    charge_count: s.charges,
  }));
  return amountJournal('summary', SUMMARY_COLUMNS, rows, digitsOf);
}

function generalLedger({ period, statements, config, digitsOf, buildDate }: JournalInput): Journal {
  const j = config.journal;
  // Each configured column: a field, a field under its own header, or a constant.
  const layout = j.columns.map((c, i) =>
    typeof c === 'string'
      ? { key: c, header: c, field: c }
      : 'field' in c
        ? { key: c.field, header: c.header ?? c.field, field: c.field }
        : { key: `constant_${i + 1}`, header: c.header, value: c.value },
  );
  const unknown = layout.flatMap((c) =>
    'field' in c && c.field !== undefined && !GL_FIELDS.includes(c.field) && !fundOrgGroups(config).includes(c.field) ? [c.field] : [],
  );
  if (unknown.length) {
    throw new UserError(`journal.columns: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, {
      hint: `fields: ${[...GL_FIELDS, ...fundOrgGroups(config)].join(', ')}`,
    });
  }
  const source = (slug: string) => config.sources.find((s) => sourceSlug(s) === slug);
  // Debits: per currency, fund/org, source and account.
  const debits = new Map<string, { currency: string; fund_org: string; source: string; account: string; amount: bigint }>();
  // Policy lines: the PI's fund/org and the policy's own fund/org, each side of one amount.
  const policy = new Map<string, { currency: string; fund_org: string; kind: string; account: string; amount: bigint }>();
  const showback = new Set(config.policy.showback);
  for (const s of statements) {
    if (showback.has(s.project_id)) continue; // shown, not charged: the journal debits nothing
    const d = digitsOf(s.currency);
    for (const l of s.lines) {
      if (l.policy) {
        const to = config.policy.accounts[l.policy.kind as keyof typeof config.policy.accounts];
        if (!to)
          throw new UserError(
            `no account for ${l.policy.kind} lines (${l.policy.id} on statement ${s.number}): the GL journal could not balance them`,
            {
              hint: `set policy.accounts.${l.policy.kind}: { fund_org: …, account: … } in config.yaml`,
              exitCode: 2,
            },
          );
        const amount = parseDecimal(l.amount, d);
        for (const [fundOrg, signed] of [
          [s.fund_org, amount],
          [to.fund_org, -amount],
        ] as const) {
          const key = JSON.stringify([s.currency, l.policy.kind, fundOrg, to.account]);
          const e = policy.get(key) ?? { currency: s.currency, fund_org: fundOrg, kind: l.policy.kind, account: to.account, amount: 0n };
          e.amount += signed;
          policy.set(key, e);
        }
        continue;
      }
      for (const part of l.accounts) {
        const account = part.account_code ?? source(l.source)?.gl_account ?? j.default_account;
        const key = JSON.stringify([s.currency, s.fund_org, l.source, account]);
        const e = debits.get(key) ?? { currency: s.currency, fund_org: s.fund_org, source: l.source, account, amount: 0n };
        e.amount += parseDecimal(part.amount, d);
        debits.set(key, e);
      }
    }
  }
  // Balancing credits: per currency and source, to its recharge fund/org.
  const credits = new Map<string, { currency: string; source: string; amount: bigint }>();
  for (const e of debits.values()) {
    const key = JSON.stringify([e.currency, e.source]);
    const c = credits.get(key) ?? { currency: e.currency, source: e.source, amount: 0n };
    c.amount += e.amount;
    credits.set(key, c);
  }
  const missing = [...new Set([...credits.values()].map((c) => c.source))].filter((slug) => !source(slug)?.recharge_fund_org);
  if (missing.length) {
    const indexes = missing.map((slug) => `sources[${config.sources.findIndex((s) => sourceSlug(s) === slug)}].recharge_fund_org`);
    throw new UserError(
      `no recharge fund/org for ${missing.map((m) => sourceName(config, m)).join(', ')}: a GL journal without its balancing credit would not balance`,
      { hint: `set ${indexes.join(', ')} in config.yaml`, exitCode: 2 },
    );
  }
  const date = j.date === 'build_date' ? buildDate : periodEnd(period);
  const rows: Record<string, string | number | null>[] = [];
  const push = (
    type: 'debit' | 'credit',
    currency: string,
    fundOrg: string,
    slug: string,
    account: string,
    signed: bigint,
    label?: string,
  ) => {
    const d = digitsOf(currency);
    // A negative debit (credits exceeding charges) is written as a credit, and vice versa.
    const debit = type === 'debit' ? signed : -signed;
    const name = label ?? sourceName(config, slug);
    const fields = { source: name, period, fund_org: fundOrg, account, currency, date };
    rows.push({
      ...fields,
      ...splitFundOrg(config, fundOrg),
      type,
      debit: debit > 0n ? formatUnits(debit, d) : '',
      credit: debit < 0n ? formatUnits(-debit, d) : '',
      amount: formatUnits(debit, d),
      description: cutText(fill(j.description, fields), j.description_max),
      reference: `${period.replace('-', '')}-${slug.toUpperCase()}`.slice(0, 30),
      line: rows.length + 1,
    });
  };
  const sortKey = (e: { currency: string; source: string }) => `${e.currency}\u0000${e.source}`;
  for (const e of [...debits.values()].sort(
    (a, b) => compareText(sortKey(a), sortKey(b)) || compareText(a.fund_org, b.fund_org) || compareText(a.account, b.account),
  )) {
    if (e.amount !== 0n) push('debit', e.currency, e.fund_org, e.source, e.account, e.amount);
  }
  for (const c of [...credits.values()].sort((a, b) => compareText(sortKey(a), sortKey(b)))) {
    const src = source(c.source);
    const account = j.recharge_account ?? src?.gl_account ?? j.default_account;
    if (c.amount !== 0n) push('credit', c.currency, src?.recharge_fund_org as string, c.source, account, c.amount);
  }
  for (const e of [...policy.values()].sort(
    (a, b) => compareText(a.currency, b.currency) || compareText(a.kind, b.kind) || compareText(a.fund_org, b.fund_org),
  )) {
    const label = e.kind.charAt(0).toUpperCase() + e.kind.slice(1);
    if (e.amount !== 0n)
      push(e.amount > 0n ? 'debit' : 'credit', e.currency, e.fund_org, e.kind, e.account, e.amount > 0n ? e.amount : -e.amount, label);
  }
  // A GL of two currencies without a currency column would be read as one: 5.00 EUR posted as 5.00 USD.
  const currencies = [...new Set(rows.map((r) => r.currency as string))].sort();
  if (currencies.length > 1 && !layout.some((c) => 'field' in c && c.field === 'currency'))
    throw new UserError(
      `the GL journal for ${period} holds amounts in ${currencies.join(' and ')}, and journal.columns has no currency column: its rows would read as one currency`,
      { hint: 'add a column for it to journal.columns in config.yaml, e.g. - { field: currency, header: Currency }', exitCode: 2 },
    );
  const totals = currencies.map((currency) => {
    const d = digitsOf(currency);
    const sum = (f: 'debit' | 'credit') =>
      rows.filter((r) => r.currency === currency && r[f]).reduce((t, r) => t + parseDecimal(r[f] as string, d), 0n);
    const debit = sum('debit');
    const credit = sum('credit');
    if (debit !== credit) throw new Error(`GL journal for ${currency} does not balance: ${debit} ≠ ${credit}`);
    const billed = statements.filter((s) => s.currency === currency).reduce((t, s) => t + parseDecimal(s.amount_due, d), 0n);
    return { currency, amount: formatUnits(billed, d), debit: formatUnits(debit, d), credit: formatUnits(credit, d) };
  });
  for (const c of layout) if ('value' in c) for (const r of rows) r[c.key] = c.value as string;
  return { format: 'gl', columns: layout.map((c) => c.key), headers: layout.map((c) => c.header), numeric: NUMERIC, rows, totals };
}

function periodEnd(period: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

function fundOrgGroups(config: Config): string[] {
  const p = config.journal.fund_org_pattern;
  return p ? [...p.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1] as string) : [];
}

/** The named groups of `journal.fund_org_pattern` for a fund/org; one that does not match is an error. */
function splitFundOrg(config: Config, fundOrg: string): Record<string, string> {
  const p = config.journal.fund_org_pattern;
  if (!p) return {};
  const m = new RegExp(p).exec(fundOrg);
  if (!m?.groups) {
    throw new UserError(`fund/org ${JSON.stringify(fundOrg)} does not match journal.fund_org_pattern ${p}`, {
      hint: 'fix the fund/org (review assign) or the pattern; the ledger could not import this line',
    });
  }
  return Object.fromEntries(Object.entries(m.groups).map(([k, v]) => [k, v ?? '']));
}

/** At most `max` characters as people count them (whole emoji and accented letters, never half of one). */
export function cutText(text: string, max: number): string {
  const graphemes = [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(text)].map((g) => g.segment);
  return graphemes.length <= max ? text : graphemes.slice(0, max).join('');
}
