/**
 * Statements from aggregated charges and review decisions. Pure and exact: a line (PI × project
 * × fund/org × service × category) is rounded to the currency's minor unit half away from zero;
 * a statement's totals are the sums of its rounded lines; and for each currency
 * input = statements + excluded + rounding residue, exactly.
 */
import { UserError } from '../core/errors.ts';
import { discountPercent, formatUnits, minorToExact, parseDecimal, SCALE, toMinor } from '../core/money.ts';
import { composed, flagId, piKey, statementNumber } from '../domain/identity.ts';
import { compareText } from '../domain/order.ts';
import { isAttributed } from '../domain/rules.ts';
import type { Flag } from '../flags/schema.ts';
import { apportion } from './apportion.ts';

/** One group of identical-attribution charges from DuckDB (amounts as exact decimal strings). */
export interface ChargeGroup {
  source: string;
  currency: string;
  pi_email: string | null;
  project_id: string | null;
  fund_org: string | null;
  service: string | null;
  category: string;
  /** GL account from the charge's tags, when it has one. */
  account_code?: string | null;
  /** Set for flagged rows: the identity hash shared by `rows` identical rows. */
  row_hash: string | null;
  rows: number;
  cost: string;
  list: string;
}

export interface StatementLine {
  source: string;
  /** The line's amount split by GL account from the charges' tags (null: none); sums to `amount`. */
  accounts: { account_code: string | null; amount: string }[];
  service: string;
  category: string;
  list: string;
  discount: string;
  amount: string;
  charges: number;
  /** Set on a line billing policy added (src/policy/apply.ts): which rule, and a program's balance after it. */
  policy?: { kind: 'showback' | 'cap' | 'adjustment' | 'credit' | 'prepayment'; id: string; remaining?: string };
}

export interface Statement {
  number: string;
  pi_email: string;
  project_id: string;
  fund_org: string;
  currency: string;
  /** The list price of what the statement bills: its charges and adjustments (a prepayment is neither). */
  list: string;
  /** What subsidies, negotiated rates, caps, credits and showback took off the list price. */
  discount: string;
  discount_percent: string | null;
  /** What the PI's prepayments paid of it (0 without): amount_due = list − discount − prepaid. */
  prepaid: string;
  amount_due: string;
  charges: number;
  lines: StatementLine[];
}

export interface Reconciliation {
  currency: string;
  input: string;
  statements: string;
  excluded: string;
  excluded_pending: string;
  excluded_rejected: string;
  rounding_residue: string;
  /** Charges (input rows) in the currency: rows = statement_rows + pending_rows + rejected_rows. */
  rows: number;
  /** The charges the statements bill (the sum of their `charges`). */
  statement_rows: number;
  excluded_rows: number;
  pending_rows: number;
  rejected_rows: number;
  /** Billing policy lines (credits, caps, adjustments…), when the period has any: amount_due = statements + policy. */
  policy?: string;
  amount_due?: string;
}

/** What a reconciliation shows, in the order it is read: the terms of input = statements + excluded + residue, then the policy's. */
export const RECONCILIATION_TERMS = [
  'input',
  'statements',
  'excluded_pending',
  'excluded_rejected',
  'rounding_residue',
  'policy',
  'amount_due',
] as const;
export type ReconciliationTerm = (typeof RECONCILIATION_TERMS)[number];

/** The terms a reconciliation has (the policy's only where the period has policy lines), each with its exact amount. */
export function reconciliationTerms(r: Reconciliation): [ReconciliationTerm, string][] {
  return RECONCILIATION_TERMS.flatMap((t) => (r[t] === undefined ? [] : [[t, r[t]] as [ReconciliationTerm, string]]));
}

/** How many charges a reconciliation term counts: input, statements and excluded have a number; residue and policy lines none. */
export function chargesOf(r: Reconciliation, term: ReconciliationTerm): number | undefined {
  const counts: Partial<Record<ReconciliationTerm, number>> = {
    input: r.rows,
    statements: r.statement_rows,
    excluded_pending: r.pending_rows,
    excluded_rejected: r.rejected_rows,
  };
  return counts[term];
}

export interface StatementSet {
  period: string;
  statements: Statement[];
  reconciliation: Reconciliation[];
  /** Each source's charges held off the statements (pending or rejected in review), exact, by currency. */
  held_back: HeldBack[];
  warnings: string[];
}

/** What one source's charges in one currency kept off the statements: held for review, or rejected in it (exact). */
export interface HeldBack {
  source: string;
  currency: string;
  pending: string;
  rejected: string;
}

/** All that review keeps of a source off the statements: pending and rejected (exact). */
export const heldBackTotal = (h: HeldBack): string => formatUnits(parseDecimal(h.pending) + parseDecimal(h.rejected), SCALE);

export interface BuildInput {
  period: string;
  groups: ChargeGroup[];
  flags: Flag[];
  minorDigits: (currency: string) => number;
}

const NON_USAGE_ORDER = ['Usage', 'Purchase', 'Adjustment', 'Credit', 'Tax'];

interface Acc {
  cost: bigint;
  list: bigint;
  rows: number;
}

export interface Attribution {
  pi_email: string | null;
  project_id: string | null;
  fund_org: string | null;
}

/** What review decisions make of a group: billed parts (with their attribution) and held-back parts. */
export interface ResolvedPart {
  attribution: Attribution;
  cost: bigint;
  list: bigint;
  rows: number;
  outcome: 'billed' | 'pending' | 'rejected';
  /** Why a charge is held back besides its flag, for warnings. */
  problem?: 'unknown_flag' | 'unattributed';
}

/**
 * Applies review decisions to a group. Unflagged groups are billed as they are, when their
 * attribution is usable (with the flag rules turned off, a charge without a PI would otherwise be
 * billed to nobody: it is held back instead). Identical flagged rows share a hash and have equal
 * amounts; each has its own flag id and decision.
 */
export function resolveGroup(g: ChargeGroup, decisions: Map<string, Flag>): ResolvedPart[] {
  const cost = parseDecimal(g.cost);
  const list = parseDecimal(g.list);
  if (g.row_hash === null) {
    if (isAttributed(g)) return [{ attribution: g, cost, list, rows: g.rows, outcome: 'billed' }];
    return [{ attribution: g, cost, list, rows: g.rows, outcome: 'pending', problem: 'unattributed' }];
  }
  const each = cost / BigInt(g.rows);
  const eachList = list / BigInt(g.rows);
  const parts: ResolvedPart[] = [];
  for (let n = 1; n <= g.rows; n++) {
    const flag = decisions.get(flagId(g.row_hash, n));
    const attribution = flag?.assign ?? g;
    if (flag?.status === 'approved' && isAttributed(attribution)) {
      parts.push({ attribution, cost: each, list: eachList, rows: 1, outcome: 'billed' });
      continue;
    }
    const problem = !flag ? 'unknown_flag' : flag.status === 'approved' ? 'unattributed' : undefined;
    parts.push({
      attribution,
      cost: each,
      list: eachList,
      rows: 1,
      outcome: flag?.status === 'rejected' ? 'rejected' : 'pending',
      problem,
    });
  }
  return parts;
}

export function buildStatements(input: BuildInput): StatementSet {
  const warnings: string[] = [];
  const decisions = new Map(input.flags.map((f) => [f.id, f]));
  const lines = new Map<string, LineAcc>();
  const recon = new Map<
    string,
    { input: bigint; pending: bigint; rejected: bigint; rows: number; pendingRows: number; rejectedRows: number }
  >();
  const held = new Map<string, { source: string; currency: string; pending: bigint; rejected: bigint }>();
  let unknownFlags = 0;
  let unattributed = 0;

  const add = (g: ChargeGroup, attribution: Attribution, cost: bigint, list: bigint, rows: number) => {
    // A PI is one person whatever the spelling of the email: statements are keyed by the PI key.
    const pi = piKey(attribution.pi_email as string);
    const [project, fund] = [composed(attribution.project_id), composed(attribution.fund_org)];
    const service = g.service ?? '(no service name)';
    // The statement's key (statementKey's parts) and the line's own parts, in one text.
    const id = JSON.stringify([pi, project, fund, g.currency, g.source, service, g.category]);
    let line = lines.get(id);
    if (!line) {
      const key = {
        pi_email: pi,
        project_id: project,
        fund_org: fund,
        currency: g.currency,
      } as StatementKey;
      line = {
        key,
        statement: statementKey(key),
        source: g.source,
        service,
        category: g.category,
        acc: { cost: 0n, list: 0n, rows: 0 },
        accounts: new Map(),
      };
      lines.set(id, line);
    }
    const account = g.account_code ?? '';
    line.accounts.set(account, (line.accounts.get(account) ?? 0n) + cost);
    line.acc.cost += cost;
    line.acc.list += list;
    line.acc.rows += rows;
  };

  for (const g of input.groups) {
    const r = recon.get(g.currency) ?? { input: 0n, pending: 0n, rejected: 0n, rows: 0, pendingRows: 0, rejectedRows: 0 };
    recon.set(g.currency, r);
    r.rows += g.rows;
    for (const part of resolveGroup(g, decisions)) {
      r.input += part.cost;
      if (part.outcome === 'billed') {
        add(g, part.attribution, part.cost, part.list, part.rows);
        continue;
      }
      if (part.problem === 'unknown_flag') unknownFlags += part.rows;
      if (part.problem === 'unattributed') unattributed += part.rows;
      const id = JSON.stringify([g.source, g.currency]);
      const h = held.get(id) ?? { source: g.source, currency: g.currency, pending: 0n, rejected: 0n };
      held.set(id, h);
      if (part.outcome === 'rejected') {
        r.rejected += part.cost;
        r.rejectedRows += part.rows;
        h.rejected += part.cost;
      } else {
        r.pending += part.cost;
        r.pendingRows += part.rows;
        h.pending += part.cost;
      }
    }
  }
  if (unknownFlags > 0) {
    warnings.push(
      `${unknownFlags} flagged charge${unknownFlags > 1 ? 's are' : ' is'} missing from flags.yaml and held back as pending; re-run ingest for that source or run \`focus-billing validate\``,
    );
  }
  if (unattributed > 0) {
    warnings.push(
      `${unattributed} charge${unattributed > 1 ? 's have' : ' has'} no usable PI, project or fund/org and stay${unattributed > 1 ? '' : 's'} held back; assign one with \`review assign\``,
    );
  }

  const statements = groupStatements(input, [...lines.values()]);
  warnings.push(...lookAlikes(statements));
  const reconciliation = [...recon]
    .sort(([a], [b]) => compareText(a, b))
    .map(([currency, r]) => {
      const digits = input.minorDigits(currency);
      const stmts = statements.filter((s) => s.currency === currency);
      const statementsMinor = stmts.reduce((t, s) => t + parseDecimal(s.amount_due, digits), 0n);
      const excluded = r.pending + r.rejected;
      const residue = r.input - minorToExact(statementsMinor, digits) - excluded;
      // Nothing lost, in charges as in money: every input row is on a statement or held back.
      const statementRows = stmts.reduce((n, s) => n + s.charges, 0);
      const excludedRows = r.pendingRows + r.rejectedRows;
      if (statementRows + excludedRows !== r.rows)
        warnings.push(
          `${currency}: ${r.rows.toLocaleString('en-US')} charges read, but the statements bill ${statementRows.toLocaleString('en-US')} and review holds back ${excludedRows.toLocaleString('en-US')}: this is a bug in focus-billing, do not send these statements; please report it`,
        );
      return {
        currency,
        input: formatUnits(r.input, SCALE),
        statements: formatUnits(statementsMinor, digits),
        excluded: formatUnits(excluded, SCALE),
        excluded_pending: formatUnits(r.pending, SCALE),
        excluded_rejected: formatUnits(r.rejected, SCALE),
        rounding_residue: formatUnits(residue, SCALE),
        rows: r.rows,
        statement_rows: statementRows,
        excluded_rows: excludedRows,
        pending_rows: r.pendingRows,
        rejected_rows: r.rejectedRows,
      };
    });
  const heldBack = [...held.values()]
    .sort((a, b) => compareText(a.source, b.source) || compareText(a.currency, b.currency))
    .map((h) => ({ ...h, pending: formatUnits(h.pending, SCALE), rejected: formatUnits(h.rejected, SCALE) }));
  return { period: input.period, statements, reconciliation, held_back: heldBack, warnings };
}

/**
 * Names that differ only in letter case or in spaces: most likely one name written two ways
 * (`Atlas` on some resources, `atlas` or `at  las` on others). A page shows a run of spaces as
 * one, so two such statements, or two lines of one, read alike. Names are kept as written, since
 * a system may tell them apart: this is said, not changed.
 *
 * - a PI's projects and fund/orgs, each billed on a statement of its own;
 * - a statement's services from one source, each a line of its own.
 */
function lookAlikes(statements: Statement[]): string[] {
  const out: string[] = [];
  for (const field of ['project_id', 'fund_org'] as const) {
    const [plural, one] = field === 'project_id' ? ['projects', 'project'] : ['fund/orgs', 'fund/org'];
    for (const { owner, spellings } of twins(statements.map((s) => ({ owner: s.pi_email, name: s[field] }))))
      out.push(
        `PI ${owner} has ${plural} ${listed(spellings)}, which differ only in ${differenceOf(spellings)}: one ${one} tagged two ways is billed on separate statements; if so, correct the tags where the charges come from`,
      );
  }
  for (const s of statements) {
    const lines = s.lines.filter((l) => !l.policy).map((l) => ({ owner: l.source, name: l.service }));
    for (const { owner, spellings } of twins(lines))
      out.push(
        `statement ${s.number} (PI ${s.pi_email}, project ${s.project_id}) has services ${listed(spellings)} from ${owner}, which differ only in ${differenceOf(spellings)}: one service written two ways in the export is shown as two lines that read alike`,
      );
  }
  return out;
}

/** The same name in letter case and spaces apart. */
const folded = (name: string) => name.toLowerCase().replace(/\s+/g, ' ');

/** `"a" and "b"`, or `"a", "b" and "c"`. */
const listed = (spellings: string[]) => {
  const quoted = spellings.map((v) => JSON.stringify(v));
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}` : (quoted[0] ?? '');
};

/** Each owner's names that fold to one, where it has two or more spellings (sorted). */
function twins(names: { owner: string; name: string }[]): { owner: string; spellings: string[] }[] {
  const seen = new Map<string, { owner: string; spellings: Set<string> }>();
  for (const { owner, name } of names) {
    const key = JSON.stringify([owner, folded(name)]);
    const found = seen.get(key) ?? { owner, spellings: new Set<string>() };
    seen.set(key, found);
    found.spellings.add(name);
  }
  return [...seen.values()].filter((t) => t.spellings.size > 1).map((t) => ({ owner: t.owner, spellings: [...t.spellings].sort() }));
}

/** What tells look-alike spellings apart: letter case, spaces, or both. */
function differenceOf(spellings: string[]): string {
  const same = (f: (v: string) => string) => new Set(spellings.map(f)).size === 1;
  if (same((v) => v.toLowerCase())) return 'letter case';
  if (same((v) => v.replace(/\s+/g, ' '))) return 'spaces';
  return 'letter case and spaces';
}

/** The key of the statement a charge lands on: PI (by PI key), project, fund/org, currency. */
export function statementKey(a: { pi_email: string | null; project_id: string | null; fund_org: string | null; currency: string }): string {
  return JSON.stringify([a.pi_email === null ? null : piKey(a.pi_email), composed(a.project_id), composed(a.fund_org), a.currency]);
}

interface StatementKey {
  pi_email: string;
  project_id: string;
  fund_org: string;
  currency: string;
}

interface LineAcc {
  key: StatementKey;
  /** statementKey(key), made once per line. */
  statement: string;
  source: string;
  service: string;
  category: string;
  acc: Acc;
  /** Exact amount per account code from tags ('' for none). */
  accounts: Map<string, bigint>;
}

function groupStatements(input: BuildInput, lines: LineAcc[]): Statement[] {
  const byStatement = new Map<string, { key: StatementKey; lines: typeof lines }>();
  const currencyOf = new Map<string, string>();
  for (const line of lines) {
    const piProject = JSON.stringify([line.key.pi_email, line.key.project_id]);
    const other = currencyOf.get(piProject);
    if (other && other !== line.key.currency) {
      throw new UserError(
        `PI ${line.key.pi_email}, project ${line.key.project_id} has charges in ${other} and ${line.key.currency} in ${input.period}: a statement never adds two currencies`,
        {
          hint: 'bill the project in one currency (convert one source before export), or give the other currency its own project id',
          exitCode: 1,
        },
      );
    }
    currencyOf.set(piProject, line.key.currency);
    const s = byStatement.get(line.statement) ?? { key: line.key, lines: [] };
    s.lines.push(line);
    byStatement.set(line.statement, s);
  }
  const statements = [...byStatement.values()].map(({ key, lines: ls }) => {
    const digits = input.minorDigits(key.currency);
    let listTotal = 0n;
    let amountTotal = 0n;
    let charges = 0;
    const out = ls
      .map((l) => {
        const amount = toMinor(l.acc.cost, digits);
        const list = toMinor(l.acc.list, digits);
        listTotal += list;
        amountTotal += amount;
        charges += l.acc.rows;
        return { l, amount, list };
      })
      .sort(
        (a, b) =>
          categoryRank(a.l.category) - categoryRank(b.l.category) ||
          compareText(a.l.source, b.l.source) ||
          compareText(a.l.service, b.l.service),
      )
      .map(({ l, amount, list }) => {
        const shown = formatUnits(amount, digits);
        return {
          source: l.source,
          accounts: splitByAccount(l.accounts, amount, shown, digits),
          service: l.service,
          category: l.category,
          list: formatUnits(list, digits),
          discount: formatUnits(list - amount, digits),
          amount: shown,
          charges: l.acc.rows,
        };
      });
    return {
      number: statementNumber(input.period, {
        pi: key.pi_email,
        project_id: key.project_id,
        fund_org: key.fund_org,
        currency: key.currency,
      }),
      pi_email: key.pi_email,
      project_id: key.project_id,
      fund_org: key.fund_org,
      currency: key.currency,
      list: formatUnits(listTotal, digits),
      discount: formatUnits(listTotal - amountTotal, digits),
      discount_percent: discountPercent(listTotal - amountTotal, listTotal),
      prepaid: formatUnits(0n, digits),
      amount_due: formatUnits(amountTotal, digits),
      charges,
      lines: out,
    };
  });
  return statements.sort(
    (a, b) =>
      compareText(a.pi_email, b.pi_email) ||
      compareText(a.project_id, b.project_id) ||
      compareText(a.fund_org, b.fund_org) ||
      compareText(a.currency, b.currency),
  );
}

function categoryRank(category: string): number {
  const i = NON_USAGE_ORDER.indexOf(category);
  return i === -1 ? NON_USAGE_ORDER.length : i;
}

/** A rounded line amount (`shown`: as formatted) split over its accounts so that the parts sum to it exactly. */
function splitByAccount(accounts: Map<string, bigint>, amount: bigint, shown: string, digits: number): StatementLine['accounts'] {
  if (accounts.size === 1) {
    const [code] = accounts.keys(); // one account takes the whole amount, as apportioning one part gives
    return [{ account_code: code || null, amount: shown }];
  }
  const entries = [...accounts].sort(([a], [b]) => compareText(a, b));
  const parts = apportion(
    entries.map(([, v]) => v),
    amount,
    digits,
  );
  return entries.map(([code], i) => ({ account_code: code || null, amount: formatUnits(parts[i] as bigint, digits) }));
}
