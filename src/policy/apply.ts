/**
 * Billing policy applied to a period's statements, exactly. Pure: statements and policy in,
 * statements with policy lines (and the programs' closing balances) out. Every amount is in the
 * currency's minor units, so each policy line is exact to the cent and a statement's amount due
 * is the sum of the lines it shows.
 *
 * Order, on each statement: showback (the amount due becomes zero), caps (the institution pays
 * above the cap), adjustments (as written), credit programs, then prepaid balances. A credit or
 * prepayment draws what the covered services' charges allow, never taking a statement below zero,
 * and what it does not draw carries to the next period.
 */

import type { PolicyConfig } from '../config/policy.ts';
import { UserError } from '../core/errors.ts';
import { discountPercent, formatUnits, minorToExact, parseDecimal, toMinor } from '../core/money.ts';
import { composed, piKey, statementNumber } from '../domain/identity.ts';
import { compareText } from '../domain/order.ts';
import { apportion } from '../statements/apportion.ts';
import type { Statement, StatementLine, StatementSet } from '../statements/build.ts';
import type { Adjustment, BalanceProgram, PolicyKind } from './schema.ts';

/** The source a policy line shows (configured source slugs are lower-case, so it never collides). */
export const POLICY_SOURCE = 'Policy';

const CATEGORY: Record<PolicyKind, string> = {
  showback: 'Showback',
  cap: 'Cap',
  adjustment: 'Adjustment',
  credit: 'Credit',
  prepayment: 'Prepayment',
};

export interface PolicyInput {
  period: string;
  config: PolicyConfig;
  defaultCurrency: string;
  adjustments: Adjustment[];
  credits: BalanceProgram[];
  prepayments: BalanceProgram[];
  /** Each program's balance before this period, in minor units (absent: the program's whole amount). */
  opening: Map<string, bigint>;
  minorDigits: (currency: string) => number;
}

export interface PolicyResult {
  set: StatementSet;
  /** Each program active this period: its balance after it, in minor units. */
  closing: Map<string, bigint>;
}

/** A `*` glob over a service name, case-insensitive. */
export function serviceMatcher(globs: string[] | undefined): (service: string) => boolean {
  if (!globs) return () => true;
  const res = globs.map((g) => new RegExp(`^${g.split('*').map(escapeRegex).join('.*')}$`, 'i'));
  return (service) => res.some((r) => r.test(service));
}
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function programActive(p: BalanceProgram, period: string): boolean {
  return p.start <= period && (p.end === undefined || period <= p.end);
}

function programCovers(p: BalanceProgram, s: Statement, currency: string): boolean {
  if (s.currency !== currency) return false;
  if (p.pis && !p.pis.some((e) => piKey(e) === s.pi_email)) return false;
  if (p.projects && !p.projects.some((project) => composed(project) === s.project_id)) return false;
  return true;
}

interface Work {
  s: Statement;
  digits: number;
  /** Amount due so far, minor units. */
  due: bigint;
  policy: StatementLine[];
}

/**
 * A hand-written amount in minor units, refused when it has more decimal places than its
 * currency: rounded, it would not be the amount written (and a small one would be nothing).
 */
export function writtenMinor(
  what: string,
  amount: string,
  currency: string,
  digits: number,
  location: { file: string },
  why: string,
): bigint {
  const exact = parseDecimal(amount);
  const minor = toMinor(exact, digits);
  if (minorToExact(minor, digits) === exact) return minor;
  const places = digits === 0 ? 'no decimal places' : `at most ${digits} decimal places`;
  throw new UserError(`${what}: amount "${amount}" has more decimal places than ${currency}'s ${digits}: ${why}`, {
    hint: `write it with ${places}${minor === 0n ? '' : `, such as "${formatUnits(minor, digits)}"`}`,
    location,
  });
}

/**
 * An adjustment's amount in minor units. It lands on the statement and in the journals as
 * written, so it is written to the cent (the currency's places): "0.015" would be billed as 0.02,
 * and "0.001" or "0" as nothing, the line left out without a word.
 */
function adjustmentAmount(a: Adjustment, currency: string, digits: number, period: string): bigint {
  const location = { file: `periods/${period}/adjustments.yaml` };
  const minor = writtenMinor(`adjustment ${a.id}`, a.amount, currency, digits, location, 'an adjustment is billed as written');
  if (minor === 0n)
    throw new UserError(`adjustment ${a.id}: amount "${a.amount}" changes nothing`, {
      hint: 'write the amount to add (negative for a credit), or remove the adjustment',
      location,
    });
  return minor;
}

export function applyPolicy(base: StatementSet, input: PolicyInput): PolicyResult {
  const work = base.statements.map((s) => {
    const digits = input.minorDigits(s.currency);
    return { s, digits, due: parseDecimal(s.amount_due, digits), policy: [] as StatementLine[] };
  });
  const add = (w: Work, kind: PolicyKind, id: string, description: string, amount: bigint, remaining?: bigint) => {
    if (amount === 0n) return;
    const text = formatUnits(amount, w.digits);
    // What the institution pays (showback, caps, credits) counts as a subsidy: no list price, so the
    // statement's discount grows by it. An adjustment or a prepayment is neither: list = amount on
    // the line; the statement counts a prepayment apart (finish).
    const list = kind === 'adjustment' || kind === 'prepayment' ? amount : 0n;
    w.policy.push({
      source: POLICY_SOURCE,
      accounts: [{ account_code: null, amount: text }],
      service: description,
      category: CATEGORY[kind],
      list: formatUnits(list, w.digits),
      discount: formatUnits(list - amount, w.digits),
      amount: text,
      charges: 0,
      policy: { kind, id, ...(remaining === undefined ? {} : { remaining: formatUnits(remaining, w.digits) }) },
    });
    w.due += amount;
  };
  // What caps and programs already pay of each charge line, in minor units: a cap or program
  // that covers some services works on what the PI still owes of them, so two that cover one
  // service never both pay the same part of it. What one pays of a statement is spread over the
  // lines it covers in proportion to what each still owes, exactly (apportioned).
  const paid = new Map<StatementLine, bigint>();
  const owed = (w: Work, l: StatementLine) => parseDecimal(l.amount, w.digits) - (paid.get(l) ?? 0n);
  const owedOn = (w: Work, lines: StatementLine[]) => lines.reduce((t, l) => t + owed(w, l), 0n);
  // Over the lines still owing: a refund line is not paid a negative part (which would leave it
  // owing more than its amount for the next cap or program).
  const spread = (w: Work, lines: StatementLine[], amount: bigint) => {
    const weights = lines.map((l) => max0(owed(w, l)));
    const of = weights.reduce((a, b) => a + b, 0n);
    if (amount === 0n || of === 0n) return;
    const shares = apportion(
      weights.map((weight) => (minorToExact(amount, w.digits) * weight) / of),
      amount,
      w.digits,
    );
    lines.forEach((l, k) => {
      paid.set(l, (paid.get(l) ?? 0n) + (shares[k] as bigint));
    });
  };

  // Showback: the cost is shown, nothing is due.
  const showback = new Set(input.config.showback.map(composed));
  for (const w of work) if (showback.has(w.s.project_id)) add(w, 'showback', 'showback', 'Showback: cost shown, not charged', -w.due);
  const charged = (w: Work) => !showback.has(w.s.project_id);

  // Caps: per PI (or project), in the cap's currency, the matching charges above the cap are the institution's;
  // in the order config.yaml lists them, each on what the PI still owes of its services (GPU above
  // 500, then all HPC above 800: the PI pays at most 500 of GPU and 800 of HPC).
  // A cap's amount is in one currency (500.00 USD is not 500 yen): it covers statements in it only.
  for (const cap of input.config.caps) {
    const match = serviceMatcher(cap.services);
    const currency = cap.currency ?? input.defaultCurrency;
    const groups = new Map<string, Work[]>();
    for (const w of work.filter((w) => charged(w) && w.s.currency === currency)) {
      const key = JSON.stringify([w.s.pi_email, cap.per === 'project' ? w.s.project_id : '']);
      const group = groups.get(key);
      if (group) group.push(w);
      else groups.set(key, [w]);
    }
    for (const ws of groups.values()) {
      const digits = (ws[0] as Work).digits;
      const lines = ws.map((w) => w.s.lines.filter((l) => match(l.service)));
      const amounts = ws.map((w, i) => owedOn(w, lines[i] as StatementLine[]));
      const total = amounts.reduce((a, b) => a + b, 0n);
      const above = writtenMinor(`cap ${cap.id}`, cap.above, currency, digits, { file: 'config.yaml' }, 'a cap is applied to the cent');
      const excess = total - above;
      if (excess <= 0n || total <= 0n) continue;
      // Over the statements still owing: what the institution pays never adds to a statement (a
      // refund-only statement keeps its refund). The excess is at most their sum, so no part is
      // more than its statement owes.
      const weights = amounts.map(max0);
      const owing = weights.reduce((a, b) => a + b, 0n);
      const parts = apportion(
        weights.map((weight) => (minorToExact(excess, digits) * weight) / owing),
        excess,
        digits,
      );
      // A cap in another currency than the usual names it (one in the usual currency reads as issued).
      const amount = currency === input.defaultCurrency ? cap.above : `${cap.above} ${currency}`;
      const description = cap.description ?? `Cap: the institution pays ${cap.services.join(', ')} above ${amount} a month`;
      ws.forEach((w, i) => {
        const part = parts[i] as bigint;
        add(w, 'cap', cap.id, description, -part);
        spread(w, lines[i] as StatementLine[], part);
      });
    }
  }

  // Adjustments, as written, each on its statement (created when the PI × project has none).
  for (const a of input.adjustments) {
    if (showback.has(composed(a.project_id)))
      throw new UserError(
        `adjustment ${a.id}: project ${a.project_id} is showback (policy.showback): nothing is charged to it, so nothing can be adjusted`,
        {
          hint: 'remove the adjustment, or take the project out of policy.showback to charge it',
          location: { file: `periods/${input.period}/adjustments.yaml` },
        },
      );
    const pi = piKey(a.pi_email);
    // An adjustment in a currency lands on a statement in it: -100.00 EUR is never -100.00 USD.
    const candidates = work.filter(
      (w) =>
        w.s.pi_email === pi &&
        w.s.project_id === composed(a.project_id) &&
        (!a.fund_org || w.s.fund_org === composed(a.fund_org)) &&
        (!a.currency || w.s.currency === a.currency),
    );
    if (candidates.length > 1)
      throw new UserError(
        `adjustment ${a.id}: ${a.pi_email}, project ${a.project_id} has ${candidates.length} statements in ${input.period} (${candidates.map((c) => `${c.s.fund_org} in ${c.s.currency}`).join(', ')})`,
        {
          hint: 'add fund_org, or currency, to the adjustment to say which one it lands on',
          location: { file: `periods/${input.period}/adjustments.yaml` },
        },
      );
    let w = candidates[0];
    if (!w) {
      if (!a.fund_org)
        throw new UserError(
          `adjustment ${a.id}: ${a.pi_email}, project ${a.project_id} has no statement${a.currency ? ` in ${a.currency}` : ''} in ${input.period} to land on`,
          {
            hint: 'add fund_org (and currency, if not the default) to the adjustment: it then creates the statement',
            location: { file: `periods/${input.period}/adjustments.yaml` },
          },
        );
      w = newStatement(input, pi, composed(a.project_id), composed(a.fund_org), a.currency ?? input.defaultCurrency);
      work.push(w);
    }
    add(w, 'adjustment', a.id, a.description, adjustmentAmount(a, w.s.currency, w.digits, input.period));
  }

  // Credit programs, then prepaid balances: each draws what the covered charges allow, in statement order.
  const closing = new Map<string, bigint>();
  const draw = (kind: 'credit' | 'prepayment', programs: BalanceProgram[]) => {
    for (const p of programs.filter((x) => programActive(x, input.period))) {
      const currency = p.currency ?? input.defaultCurrency;
      const digits = input.minorDigits(currency);
      let balance = input.opening.get(p.id) ?? toMinor(parseDecimal(p.amount), digits);
      const match = serviceMatcher(p.services);
      const covered = work.filter((w) => charged(w) && programCovers(p, w.s, currency)).sort((a, b) => order(a.s, b.s));
      for (const w of covered) {
        const lines = w.s.lines.filter((l) => match(l.service));
        const allowed = min(owedOn(w, lines), w.due);
        const take = min(balance, allowed > 0n ? allowed : 0n);
        if (take <= 0n) continue;
        balance -= take;
        add(w, kind, p.id, p.description, -take, balance);
        spread(w, lines, take);
      }
      closing.set(p.id, balance);
    }
  };
  draw('credit', input.credits);
  draw('prepayment', input.prepayments);

  const statements = work.map(finish).sort(order);
  const reconciliation = base.reconciliation.map((r) => {
    const digits = input.minorDigits(r.currency);
    const policy = statements
      .filter((s) => s.currency === r.currency)
      .flatMap((s) => s.lines.filter((l) => l.policy))
      .reduce((t, l) => t + parseDecimal(l.amount, digits), 0n);
    return { ...r, policy: formatUnits(policy, digits), amount_due: formatUnits(parseDecimal(r.statements, digits) + policy, digits) };
  });
  for (const s of statements)
    if (!reconciliation.some((r) => r.currency === s.currency)) {
      const digits = input.minorDigits(s.currency);
      const zero = formatUnits(0n, digits);
      reconciliation.push({
        currency: s.currency,
        input: '0',
        statements: zero,
        excluded: '0',
        excluded_pending: '0',
        excluded_rejected: '0',
        rounding_residue: '0',
        rows: 0,
        statement_rows: 0,
        excluded_rows: 0,
        pending_rows: 0,
        rejected_rows: 0,
        policy: s.amount_due,
        amount_due: s.amount_due,
      });
    }
  return { set: { ...base, statements, reconciliation }, closing };
}

function newStatement(input: PolicyInput, pi: string, project: string, fundOrg: string, currency: string): Work {
  const digits = input.minorDigits(currency);
  const zero = formatUnits(0n, digits);
  return {
    s: {
      number: statementNumber(input.period, { pi, project_id: project, fund_org: fundOrg, currency }),
      pi_email: pi,
      project_id: project,
      fund_org: fundOrg,
      currency,
      list: zero,
      discount: zero,
      discount_percent: null,
      prepaid: zero,
      amount_due: zero,
      charges: 0,
      lines: [],
    },
    digits,
    due: 0n,
    policy: [],
  };
}

/**
 * The statement with its policy lines after its charge lines, and its totals the sums of all
 * lines. A prepayment is money the PI paid before, not a price: it is counted apart (prepaid),
 * so the list price and the discount's share of it are those of what was billed.
 */
function finish(w: Work): Statement {
  if (w.policy.length === 0) return w.s;
  const lines = [...w.s.lines, ...w.policy];
  const sum = (f: 'list' | 'amount', ls: StatementLine[]) => ls.reduce((t, l) => t + parseDecimal(l[f], w.digits), 0n);
  const prepayments = lines.filter((l) => l.policy?.kind === 'prepayment');
  const prepaid = -sum('amount', prepayments);
  const list = sum('list', lines) + prepaid;
  const amount = sum('amount', lines);
  return {
    ...w.s,
    lines,
    list: formatUnits(list, w.digits),
    discount: formatUnits(list - amount - prepaid, w.digits),
    discount_percent: discountPercent(list - amount - prepaid, list),
    prepaid: formatUnits(prepaid, w.digits),
    amount_due: formatUnits(amount, w.digits),
  };
}

function order(a: Statement, b: Statement): number {
  return (
    compareText(a.pi_email, b.pi_email) ||
    compareText(a.project_id, b.project_id) ||
    compareText(a.fund_org, b.fund_org) ||
    compareText(a.currency, b.currency)
  );
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max0 = (a: bigint) => (a > 0n ? a : 0n);
