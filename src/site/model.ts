/**
 * The site model: everything the Astro pages and the PDFs show, computed once from the report
 * model, with amounts already formatted. Pages are templates over it; they do no arithmetic.
 */
import { createHash } from 'node:crypto';
import type { PiDirectory } from '../config/pi-directory.ts';
import { type Config, sourceName } from '../config/schema.ts';
import { markdownHtml, type STATEMENT_FIELDS } from '../config/templates.ts';
import { formatExactMoney, formatMoney, minorDigits } from '../core/currency.ts';
import { UserError } from '../core/errors.ts';
import { alignDecimals, discountPercent, formatUnits, parseDecimal, readableDecimal, trimDecimal } from '../core/money.ts';
import { piKey, piPagePath, piSlug, type StatementPaths, statementPaths } from '../domain/identity.ts';
import { compareText } from '../domain/order.ts';
import type { DetailRow } from '../report/details.ts';
import type { PeriodReport } from '../report/period-report.ts';
import { apportion } from '../statements/apportion.ts';
import { heldBackTotal, reconciliationTerms, type Statement, statementKey } from '../statements/build.ts';

export type Audience = 'admin' | 'pi';

export interface Money {
  value: string;
  text: string;
}

export interface DetailView {
  date: string;
  resource: string;
  source: string;
  service: string;
  category: string;
  list: Money;
  discount: Money;
  amount: Money;
  charges: number;
  other_count?: number;
}

export interface StatementView extends Omit<Statement, 'list' | 'discount' | 'prepaid' | 'amount_due' | 'lines'> {
  pi_name: string;
  pi_department?: string;
  pi_slug: string;
  period: string;
  period_label: string;
  /** The statement's date (YYYY-MM-DD): its period's issue date, not the build's. */
  date: string;
  paths: StatementPaths;
  list: Money;
  discount: Money;
  /** What the PI's prepayments paid (positive), or null where none did: amount due = list − discount − prepaid. */
  prepaid: Money | null;
  amount_due: Money;
  lines: (Omit<Statement['lines'][number], 'list' | 'discount' | 'amount'> & {
    list: Money;
    discount: Money;
    amount: Money;
    discount_percent: string | null;
    /** A credit or prepayment line: the program's balance after it. */
    remaining: Money | null;
  })[];
  credits: Money;
  /** Subtotals of the charge lines (Usage, Purchase) and of the others (credits, adjustments, tax). */
  charges_subtotal: { list: Money; discount: Money; amount: Money };
  /** Every line from the exports (not policy lines): what the charge details add up to. */
  export_total: { list: Money; discount: Money; amount: Money };
  other_subtotal: { amount: Money; lines: number };
  /** statements.intro and statements.footer, filled and rendered (HTML from Markdown, HTML in it escaped). */
  intro_html: string | null;
  footer_html: string | null;
  details: DetailView[];
  /** sha256 of everything the statement shows: its PDF is reprinted only when this changes. */
  content_hash: string;
}

export interface CurrencyTotals {
  currency: string;
  list: Money;
  discount: Money;
  discount_percent: string | null;
  /** What prepayments paid (positive), or null where none did. */
  prepaid: Money | null;
  amount_due: Money;
  statements: number;
}

/** One PI (one person, whatever the spelling of the email) in one period: every statement, totals per currency. */
export interface PiPeriodView<S = StatementView> {
  /** The PI key (lower-cased email): what pages, emails and the delivery log are keyed by. */
  email: string;
  name: string;
  slug: string;
  piPage: string;
  totals: CurrencyTotals[];
  statements: S[];
}

/**
 * A reconciliation's amounts as the period page shows them: exact (every digit past the cent is
 * the point), thousands grouped, and padded with figure spaces so that a right-aligned column of
 * tabular figures lines up their points. `billed` is the statements' total amount due as billed.
 */
export interface ReconciliationDisplay {
  input: string;
  statements: string;
  excluded_pending: string;
  excluded_rejected: string;
  rounding_residue: string;
  policy?: string;
  amount_due?: string;
  billed?: string;
}

const FIGURE_SPACE = '\u2007';
const PUNCTUATION_SPACE = '\u2008';

function reconciliationDisplay(
  r: PeriodReport['reconciliation'][number],
  digits: number,
  billed: string | undefined,
): ReconciliationDisplay {
  const terms = reconciliationTerms(r);
  const texts = terms.map(([, v]) => readableDecimal(v, digits));
  // The billed total is aligned with them: it sits in the same column, below.
  const aligned = alignDecimals(billed === undefined ? texts : [...texts, billed], FIGURE_SPACE, PUNCTUATION_SPACE);
  const display = Object.fromEntries(terms.map(([term], i) => [term, aligned[i] as string]));
  return { ...display, ...(billed === undefined ? {} : { billed: aligned[terms.length] }) } as ReconciliationDisplay;
}

/** `S`: a statement as the builder holds it, or as the pages read it from the model file (model-file.ts). */
export interface PeriodView<S = StatementView> {
  period: string;
  label: string;
  status: string;
  /** The date on the period's statements (YYYY-MM-DD). */
  issued: string;
  totals: CurrencyTotals[];
  by_source: { source: string; currency: string; list: Money; amount: Money }[];
  sources: { source: string; file: string; currency: string; rows: number; list: Money; billed: Money }[];
  /** Each source's charges kept off the statements, pending or rejected in review (exact), where it has any. */
  held_back: { source: string; currency: string; amount: Money }[];
  flag_counts: PeriodReport['flag_counts'];
  reconciliation: (PeriodReport['reconciliation'][number] & { display: ReconciliationDisplay })[];
  warnings: string[];
  pis: PiPeriodView<S>[];
  statements: S[];
}

export interface SiteModel<S = StatementView> {
  organization: Config['organization'];
  logo?: { src: string; alt: string };
  accent?: string;
  footer?: string;
  paper: 'Letter' | 'A4';
  audience: Audience;
  periods: PeriodView<S>[];
  /** Periods with a notes.mdx from the billing office. */
  notes: string[];
  /** The periods whose pages to render (the others' pages are reused from an earlier build); absent: all. */
  render?: string[];
}

/** A policy line (credit, cap, adjustment…) in words: its kind, its program, and what remains of it. */
export function policyLineText(l: StatementView['lines'][number]): string {
  return `${l.category}: ${l.service}${l.remaining ? ` (${l.remaining.text} remains)` : ''}`;
}

export function periodLabel(period: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return new Intl.DateTimeFormat('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 1));
}

export interface ModelInput {
  config: Config;
  directory: PiDirectory;
  audience: Audience;
  linkSecret?: string;
  /** Each period's report, the charge details of its statements, and its issue date. */
  reports: { report: PeriodReport; details: DetailRow[]; issued: string }[];
  notes: string[];
  /** organization.logo read from the repository, as a data: URI (pages and PDFs then need no other file). */
  logo?: string;
}

/** The statement's own words from config.yaml, filled with its fields. */
function statementTexts(config: Config, s: Statement, piName: string, period: string, label: string) {
  const fields = {
    pi_name: piName,
    pi_email: s.pi_email,
    period,
    period_label: label,
    project_id: s.project_id,
    fund_org: s.fund_org,
    statement_number: s.number,
    amount_due: formatMoney(s.amount_due, s.currency, 'en-US', minorDigits(s.currency, config.billing.minor_units)),
    organization: config.organization.name,
    contact_name: config.organization.contact_name ?? config.organization.name,
    contact_email: config.organization.contact_email ?? '',
  } satisfies Record<(typeof STATEMENT_FIELDS)[number], string>;
  const { intro, footer } = config.statements;
  return {
    intro_html: intro ? markdownHtml(intro, fields) : null,
    footer_html: footer ? markdownHtml(footer, fields) : null,
  };
}

export function buildSiteModel(input: ModelInput): SiteModel {
  const { config } = input;
  const digitsOf = (c: string) => minorDigits(c, config.billing.minor_units);
  const money = (value: string, currency: string): Money => ({ value, text: formatMoney(value, currency, 'en-US', digitsOf(currency)) });
  const exactMoney = (value: string, currency: string): Money => ({
    value: trimDecimal(value),
    text: formatExactMoney(parseDecimal(value), currency, config.billing.minor_units),
  });
  const nameOf = (slug: string) => sourceName(config, slug);
  const periods = input.reports
    .map(({ report, details, issued }) => {
      const label = periodLabel(report.period);
      const detailsByKey = new Map<string, DetailRow[]>();
      for (const d of details) {
        const list = detailsByKey.get(d.key);
        if (list) list.push(d);
        else detailsByKey.set(d.key, [d]);
      }
      const statements = report.statements.map((s) =>
        statementView(s, report.period, label, issued, detailsByKey.get(statementKey(s)) ?? []),
      );
      return periodView(report, label, issued, statements);
    })
    .sort((a, b) => compareText(b.period, a.period));
  const model: SiteModel = {
    organization: config.organization,
    ...(input.logo ? { logo: { src: input.logo, alt: config.organization.logo_alt ?? `${config.organization.name} logo` } } : {}),
    ...(config.organization.accent_color ? { accent: config.organization.accent_color } : {}),
    footer: config.statements.footer,
    paper: config.statements.paper,
    audience: input.audience,
    periods,
    notes: input.notes,
  };
  assertDistinctIdentities(model);
  return model;

  function statementView(s: Statement, period: string, label: string, issued: string, details: DetailRow[]): StatementView {
    const person = input.directory.get(s.pi_email.toLowerCase());
    const d = digitsOf(s.currency);
    const lines = s.lines.map((l) => ({
      ...l,
      source: nameOf(l.source),
      list: money(l.list, s.currency),
      discount: money(l.discount, s.currency),
      amount: money(l.amount, s.currency),
      discount_percent: l.category === 'Usage' || l.category === 'Purchase' ? discountPercentOf(l.list, l.discount, d) : null,
      remaining: l.policy?.remaining === undefined ? null : money(l.policy.remaining, s.currency),
    }));
    const credits = s.lines.filter((l) => l.category === 'Credit').reduce((t, l) => t + parseDecimal(l.amount, d), 0n);
    const isCharge = (c: string) => c === 'Usage' || c === 'Purchase';
    const sumOf = (ls: Statement['lines'], f: 'list' | 'amount') => ls.reduce((t, l) => t + parseDecimal(l[f], d), 0n);
    const chargeLines = s.lines.filter((l) => isCharge(l.category));
    const otherLines = s.lines.filter((l) => !isCharge(l.category));
    const exportLines = s.lines.filter((l) => !l.policy);
    const detailViews = detailView(s, details, d);
    const view: Omit<StatementView, 'content_hash'> = {
      ...s,
      pi_name: person?.name ?? s.pi_email,
      pi_department: person?.department,
      pi_slug: piSlug(s.pi_email),
      period,
      period_label: label,
      date: issued,
      paths: statementPaths(period, s.pi_email, s.project_id, s.number, input.linkSecret),
      list: money(s.list, s.currency),
      discount: money(s.discount, s.currency),
      prepaid: parseDecimal(s.prepaid, d) === 0n ? null : money(s.prepaid, s.currency),
      amount_due: money(s.amount_due, s.currency),
      lines,
      credits: money(formatUnits(credits, d), s.currency),
      charges_subtotal: {
        list: money(formatUnits(sumOf(chargeLines, 'list'), d), s.currency),
        discount: money(formatUnits(sumOf(chargeLines, 'list') - sumOf(chargeLines, 'amount'), d), s.currency),
        amount: money(formatUnits(sumOf(chargeLines, 'amount'), d), s.currency),
      },
      other_subtotal: { amount: money(formatUnits(sumOf(otherLines, 'amount'), d), s.currency), lines: otherLines.length },
      export_total: {
        list: money(formatUnits(sumOf(exportLines, 'list'), d), s.currency),
        discount: money(formatUnits(sumOf(exportLines, 'list') - sumOf(exportLines, 'amount'), d), s.currency),
        amount: money(formatUnits(sumOf(exportLines, 'amount'), d), s.currency),
      },
      details: detailViews,
      ...statementTexts(config, s, person?.name ?? s.pi_email, period, label),
    };
    // Everything the statement shows (its date included, which belongs to its period): a later
    // month's commit leaves it, and its PDF, as they were.
    const content_hash = createHash('sha256')
      .update(JSON.stringify([view, config.organization, config.statements, input.logo ?? null]))
      .digest('hex');
    return { ...view, content_hash };
  }

  /** Details per statement line, apportioned so they sum to the line's rounded amounts. */
  function detailView(s: Statement, details: DetailRow[], d: number): DetailView[] {
    const out: DetailView[] = [];
    for (const line of s.lines) {
      // In one order whatever order DuckDB gave them in: largest-remainder rounding gives a
      // tied cent to the first, so the order decides which row shows it.
      const rows = details
        .filter((r) => r.source === line.source && r.service === line.service && r.category === line.category)
        .sort(detailOrder);
      if (rows.length === 0) continue;
      const amounts = apportion(
        rows.map((r) => r.exactCost),
        parseDecimal(line.amount, d),
        d,
      );
      const lists = apportion(
        rows.map((r) => r.exactList),
        parseDecimal(line.list, d),
        d,
      );
      rows.forEach((r, i) => {
        const amount = amounts[i] as bigint;
        const list = lists[i] as bigint;
        const view: DetailView = {
          date: r.date ?? '',
          // Counted in charges, as the statement's total and the reconciliation count them (other_count is resource-days).
          resource: r.other_count ? `${r.charges.toLocaleString('en-US')} smaller charge${r.charges === 1 ? '' : 's'}` : (r.resource ?? ''),
          source: nameOf(r.source),
          service: r.service,
          category: r.category,
          list: money(formatUnits(list, d), s.currency),
          discount: money(formatUnits(list - amount, d), s.currency),
          amount: money(formatUnits(amount, d), s.currency),
          charges: r.charges,
        };
        if (r.other_count) view.other_count = r.other_count; // set, not spread in (see periodDetails)
        out.push(view);
      });
    }
    return out.sort(
      (a, b) => (a.other_count ? 1 : 0) - (b.other_count ? 1 : 0) || compareText(a.date, b.date) || compareText(a.resource, b.resource),
    );
  }

  /** Per-currency totals of some statements: list, discount, prepaid, amount due, count. */
  function totalsOf(statements: StatementView[]): CurrencyTotals[] {
    const totals = new Map<string, { list: bigint; discount: bigint; prepaid: bigint; due: bigint; n: number }>();
    for (const s of statements) {
      const d = digitsOf(s.currency);
      const t = totals.get(s.currency) ?? { list: 0n, discount: 0n, prepaid: 0n, due: 0n, n: 0 };
      t.list += parseDecimal(s.list.value, d);
      t.discount += parseDecimal(s.discount.value, d);
      t.prepaid += s.prepaid ? parseDecimal(s.prepaid.value, d) : 0n;
      t.due += parseDecimal(s.amount_due.value, d);
      t.n++;
      totals.set(s.currency, t);
    }
    return [...totals]
      .sort(([a], [b]) => compareText(a, b))
      .map(([currency, t]) => {
        const d = digitsOf(currency);
        const [list, discount] = [formatUnits(t.list, d), formatUnits(t.discount, d)];
        return {
          currency,
          list: money(list, currency),
          discount: money(discount, currency),
          discount_percent: discountPercentOf(list, discount, d),
          prepaid: t.prepaid === 0n ? null : money(formatUnits(t.prepaid, d), currency),
          amount_due: money(formatUnits(t.due, d), currency),
          statements: t.n,
        };
      });
  }

  function periodView(report: PeriodReport, label: string, issued: string, statements: StatementView[]): PeriodView {
    const totals = totalsOf(statements);
    const bySource = new Map<string, { source: string; currency: string; list: bigint; amount: bigint }>();
    const pis = new Map<string, StatementView[]>();
    for (const s of statements) {
      const d = digitsOf(s.currency);
      for (const l of s.lines) {
        const id = JSON.stringify([l.source, s.currency]);
        const b = bySource.get(id) ?? { source: l.source, currency: s.currency, list: 0n, amount: 0n };
        // A prepayment is no price (its line lists at its amount): the statements' list leaves it out.
        if (l.policy?.kind !== 'prepayment') b.list += parseDecimal(l.list.value, d);
        b.amount += parseDecimal(l.amount.value, d);
        bySource.set(id, b);
      }
      const key = piKey(s.pi_email);
      pis.set(key, [...(pis.get(key) ?? []), s]);
    }
    return {
      period: report.period,
      label,
      status: report.status,
      issued,
      totals,
      by_source: [...bySource.values()]
        .sort((a, b) => compareText(a.source, b.source) || compareText(a.currency, b.currency))
        .map((b) => ({
          source: b.source,
          currency: b.currency,
          list: money(formatUnits(b.list, digitsOf(b.currency)), b.currency),
          amount: money(formatUnits(b.amount, digitsOf(b.currency)), b.currency),
        })),
      // By source and currency, then file: the parts of one export sit together.
      sources: [...report.sources]
        .sort((a, b) => compareText(a.source, b.source) || compareText(a.currency, b.currency) || compareText(a.file, b.file))
        .map((s) => ({
          ...s,
          source: nameOf(s.source),
          list: exactMoney(s.list, s.currency),
          billed: exactMoney(s.billed, s.currency),
        })),
      held_back: report.held_back.map((h) => ({
        source: nameOf(h.source),
        currency: h.currency,
        amount: exactMoney(heldBackTotal(h), h.currency),
      })),
      flag_counts: report.flag_counts,
      reconciliation: report.reconciliation.map((r) => ({
        ...r,
        display: reconciliationDisplay(r, digitsOf(r.currency), totals.find((t) => t.currency === r.currency)?.amount_due.text),
      })),
      warnings: report.warnings,
      pis: [...pis]
        .map(([key, own]) => ({
          email: key,
          name: (own[0] as StatementView).pi_name,
          slug: piSlug(key),
          piPage: piPagePath(report.period, key, input.linkSecret),
          totals: totalsOf(own),
          statements: own,
        }))
        .sort((a, b) => compareText(a.name, b.name) || compareText(a.email, b.email)),
      statements,
    };
  }
}

/**
 * What PIs and reviewers hold on to must name one thing each: a statement number, page or PDF,
 * a PI's page. Two statements sharing one (a hash collision, however unlikely) would put one PI's
 * statement in another's PDF, so the build refuses instead of overwriting.
 */
export function assertDistinctIdentities(model: SiteModel): void {
  const seen = new Map<string, string>();
  const claim = (kind: string, id: string, owner: string) => {
    const key = `${kind}\u0000${id}`;
    const before = seen.get(key);
    if (before !== undefined && before !== owner)
      throw new UserError(
        `two statements share the ${kind} ${id} (${before}; ${owner}): refusing to build rather than overwrite one with the other`,
        {
          hint: 'this is a hash collision; please report it with the two PIs and projects named here',
          exitCode: 1,
        },
      );
    seen.set(key, owner);
  };
  for (const p of model.periods) {
    for (const s of p.statements) {
      const owner = `${s.pi_email}, ${s.project_id}, ${s.fund_org}, ${s.currency}`;
      claim('statement number', s.number, owner);
      claim('page', s.paths.page, owner);
      claim('PDF', s.paths.pdf, owner);
    }
    for (const pi of p.pis) {
      claim("PI's page", pi.piPage, pi.email);
      claim('PI file name', pi.slug, pi.email); // .eml files and PDF names
    }
  }
}

function discountPercentOf(list: string, discount: string, d: number): string | null {
  const l = parseDecimal(list, d);
  const disc = parseDecimal(discount, d);
  if (l <= 0n) return null;
  // Reuse the statement rule: never 100% while something is due.
  return discountPercent(disc, l);
}

const cmp = <T extends string | bigint | number>(x: T, y: T) => (x < y ? -1 : x > y ? 1 : 0);

/**
 * A total order of a statement line's details: listed before the line's sum of the rest, then by
 * day, resource, amount, list amount and count (rows equal in all of these show the same).
 */
function detailOrder(a: DetailRow, b: DetailRow): number {
  return (
    cmp(a.other_count ? 1 : 0, b.other_count ? 1 : 0) ||
    cmp(a.date ?? '', b.date ?? '') ||
    cmp(a.resource ?? '', b.resource ?? '') ||
    cmp(a.exactCost, b.exactCost) ||
    cmp(a.exactList, b.exactList) ||
    cmp(a.charges, b.charges)
  );
}
