/**
 * `pr-summary`: Markdown for a pull request comment. What data changed against the base
 * branch, the totals before and after, the PIs whose statements change most, and what still
 * needs review. The base side is exported from git into a temporary folder and reported on
 * by the same code.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { parse } from 'yaml';
import { loadPiDirectory, type PiDirectory } from '../config/pi-directory.ts';
import { type Config, sourceName } from '../config/schema.ts';
import { formatExactMoney } from '../core/currency.ts';
import { UserError } from '../core/errors.ts';
import { markdownCode, markdownText } from '../core/markdown.ts';
import { decimalText, parseDecimal, SCALE } from '../core/money.ts';
import type { Database } from '../db/duckdb.ts';
import { piKey } from '../domain/identity.ts';
import { compareText } from '../domain/order.ts';
import { isPeriod, previousPeriod } from '../domain/period.ts';
import { loadAllFlags } from '../flags/review.ts';
import type { Flag } from '../flags/schema.ts';
import { openedByHand } from '../periods/history.ts';
import { type PeriodFile, periodFileSchema, readPeriodFile } from '../repo/period-file.ts';
import { type PiIncrease, piIncreases } from '../report/increases.ts';
import { listPeriods, type PeriodReport, periodReport, type SourceTotals } from '../report/period-report.ts';

export const SUMMARY_MARKER = '<!-- openchargeback:pr-summary -->';
/** GitHub refuses comments over 65,536 characters; stay well under. */
export const MAX_COMMENT = 60_000;

interface FileChange {
  period: string;
  path: string;
  change: 'added' | 'changed' | 'removed';
}

/** What the comment says, as data: the Markdown and `--json` are both made from it. */
export async function prSummaryData(db: Database, root: string, config: Config, baseRef?: string): Promise<PrSummary> {
  const git = simpleGit(root);
  const base = baseRef ?? (await defaultBase(git));
  const mergeBase = (
    await git.raw(['merge-base', base, 'HEAD']).catch(() => {
      throw new UserError(`cannot compare with ${base}: no such ref or no common history`, {
        hint: 'pass --base <branch or commit>, e.g. --base origin/main',
      });
    })
  ).trim();
  const changes = await changedDataFiles(root, mergeBase);
  const statusChanges = await periodStatusChanges(root, mergeBase);
  const policyChanges = await changedPolicyFiles(root, mergeBase);
  const withData = await listPeriods(root);
  const policyPeriods = policyChanges.flatMap((c) => (c.period ? [c.period] : withData));
  const periods = [
    ...new Set([
      ...changes.map((c) => c.period),
      ...statusChanges.map((c) => c.period),
      ...(await pendingPeriods(root)),
      ...(await openOnly(root, policyPeriods)),
    ]),
  ].sort();
  const before = await reportsAt(db, root, config, mergeBase, periods);
  const after = new Map<string, PeriodReport>();
  for (const p of periods) if (withData.includes(p)) after.set(p, await periodReport(db, root, config, p));
  // Unusual increases compare with the calendar month before, whether or not this PR touches it.
  const previous = new Map<string, PeriodReport>(after);
  for (const p of periods) {
    const prev = previousPeriod(p);
    if (!previous.has(prev) && withData.includes(prev)) previous.set(prev, await periodReport(db, root, config, prev));
  }
  const increases = piIncreases(config, periods, previous);
  return summarize({
    base,
    changes,
    statusChanges,
    policyChanges,
    periods,
    before,
    after,
    increases,
    directory: await loadPiDirectory(root),
  });
}

interface PolicyChange {
  path: string;
  /** The period an adjustments.yaml belongs to; none for credits.yaml and config.yaml's policy (every open period). */
  period?: string;
}

/** Policy files that differ from the base: credits.yaml, any adjustments.yaml, and config.yaml's `policy` settings. */
async function changedPolicyFiles(root: string, base: string): Promise<PolicyChange[]> {
  const git = simpleGit(root);
  const [diff, untracked] = await Promise.all([
    git.raw(['diff', '--name-only', '--no-renames', base, '--', 'credits.yaml', 'periods']),
    git.raw(['ls-files', '--others', '--exclude-standard', '--', 'credits.yaml', 'periods']),
  ]);
  const out: PolicyChange[] = [];
  for (const path of new Set([...diff.split('\n'), ...untracked.split('\n')].filter(Boolean))) {
    if (path === 'credits.yaml') out.push({ path });
    const m = /^periods\/([^/]+)\/adjustments\.yaml$/.exec(path);
    if (m && isPeriod(m[1] as string)) out.push({ path, period: m[1] as string });
  }
  const was = await git.show([`${base}:config.yaml`]).catch(() => null);
  const now = await readFile(join(root, 'config.yaml'), 'utf8').catch(() => '');
  if (JSON.stringify(rawPolicy(was ?? '') ?? null) !== JSON.stringify(rawPolicy(now) ?? null)) out.push({ path: 'config.yaml (policy)' });
  return out.sort((a, b) => compareText(a.path, b.path));
}

const rawPolicy = (text: string) => (parseOrNull(text) as { policy?: unknown } | null)?.policy;

/** A YAML text's value, or null when it is not YAML (or multiplies itself by aliases): what a branch holds is not trusted. */
function parseOrNull(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return null;
  }
}

/** The periods that are not closed (a closed period's figures are frozen: policy changes do not reach it). */
async function openOnly(root: string, periods: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of new Set(periods)) if ((await readPeriodFile(root, p).catch(() => null))?.status !== 'closed') out.push(p);
  return out;
}

interface StatusChange {
  period: string;
  kind: 'closed' | 'reopened' | 'opened_by_hand' | 'manifest_removed';
  /** Who closed or reopened it, when, and why (as period.yaml records them). */
  by?: string;
  at?: string;
  reason?: string;
  /** A change that went around `periods reopen`: shown as a warning. */
  irregular: boolean;
}

/** A status change in words, its recorded values passed through `value` (escaped for Markdown, or not). */
function statusText(c: StatusChange, value: (s: string) => string = (s) => s): string {
  switch (c.kind) {
    case 'manifest_removed':
      return 'period.yaml removed: the closed period is open again with no reason recorded';
    case 'opened_by_hand':
      return 'set to open by hand, with no reopening recorded';
    case 'closed':
      return `closed${c.by ? ` by ${value(c.by)}` : ''}${c.at ? ` (${value(c.at)})` : ''}`;
    case 'reopened':
      return `reopened by ${value(c.by ?? '')} (${value(c.at ?? '')}): ${value(c.reason ?? '')}`;
  }
}

/** Period statuses that differ from the base: closings, reopenings, and period.yaml files edited or removed by hand. */
async function periodStatusChanges(root: string, base: string): Promise<StatusChange[]> {
  const out = await simpleGit(root).raw(['diff', '--name-status', '--no-renames', base, '--', 'periods']);
  const changes: StatusChange[] = [];
  for (const line of out.split('\n').filter(Boolean)) {
    const [status = '', path = ''] = line.split('\t');
    const m = /^periods\/([^/]+)\/period\.yaml$/.exec(path);
    if (!m || !isPeriod(m[1] as string)) continue;
    const period = m[1] as string;
    const was = await periodFileAt(root, base, path);
    const now = status === 'D' ? null : await readPeriodFile(root, period).catch(() => null);
    if (!now) {
      if (was?.status === 'closed') changes.push({ period, kind: 'manifest_removed', irregular: true });
      continue;
    }
    if (now.status === (was?.status ?? 'open')) continue;
    if (now.status === 'closed') changes.push({ period, kind: 'closed', by: now.closed_by, at: now.closed_at, irregular: false });
    else if (openedByHand(now)) changes.push({ period, kind: 'opened_by_hand', irregular: true });
    else {
      const event = now.history.at(-1);
      changes.push({ period, kind: 'reopened', by: event?.by, at: event?.at, reason: event?.reason, irregular: false });
    }
  }
  return changes;
}

async function periodFileAt(root: string, ref: string, path: string): Promise<PeriodFile | null> {
  const text = await simpleGit(root)
    .show([`${ref}:${path}`])
    .catch(() => null);
  if (text === null) return null;
  const parsed = periodFileSchema.safeParse(parseOrNull(text));
  return parsed.success ? parsed.data : null;
}

async function defaultBase(git: ReturnType<typeof simpleGit>): Promise<string> {
  for (const ref of ['origin/main', 'main', 'origin/master', 'master']) {
    // simple-git resolves a failed command that printed nothing on stderr, so test the output.
    const sha = await git.raw(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).catch(() => '');
    if (sha.trim()) return ref;
  }
  throw new UserError('no base branch found (tried origin/main, main)', { hint: 'pass --base <branch or commit>' });
}

/** Data files that differ from the base: committed, changed in the work tree, or new and not yet added. */
async function changedDataFiles(root: string, base: string): Promise<FileChange[]> {
  const git = simpleGit(root);
  const [diff, untracked] = await Promise.all([
    git.raw(['diff', '--name-status', '--no-renames', base, '--', 'data']),
    git.raw(['ls-files', '--others', '--exclude-standard', '--', 'data']),
  ]);
  const changes = diff
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [status = '', path = ''] = line.split('\t');
      return { path, change: status === 'A' ? 'added' : status === 'D' ? 'removed' : 'changed' } as const;
    });
  for (const path of untracked.split('\n').filter(Boolean)) changes.push({ path, change: 'added' });
  return changes
    .map((c) => ({ ...c, period: c.path.split('/')[1] ?? '' }))
    .filter((c) => isPeriod(c.period) && !c.path.endsWith('/.gitkeep'))
    .sort((a, b) => compareText(a.path, b.path));
}

/** Periods whose flags are still pending, even if this PR did not touch their data. */
async function pendingPeriods(root: string): Promise<string[]> {
  return (await loadAllFlags(root)).filter((p) => p.flags.some((f) => f.status === 'pending')).map((p) => p.period);
}

/** Reports of the given periods as they were at `ref` (those that had data then). */
async function reportsAt(db: Database, root: string, config: Config, ref: string, periods: string[]): Promise<Map<string, PeriodReport>> {
  const dir = await mkdtemp(join(tmpdir(), 'ocb-base-'));
  const out = new Map<string, PeriodReport>();
  try {
    // With credit programs, a period's balances come from every period before it: export them all.
    const credits = (await simpleGit(root).raw(['ls-tree', '--name-only', ref, '--', 'credits.yaml'])).trim() !== '';
    const listed = await simpleGit(root).raw([
      'ls-tree',
      '--name-only',
      ref,
      '--',
      ...(credits ? ['credits.yaml', 'data', 'periods'] : periods.flatMap((p) => [`data/${p}`, `periods/${p}`])),
    ]);
    const paths = listed.split('\n').filter(Boolean);
    if (paths.length > 0) await exportTree(root, ref, paths, dir);
    const had = await listPeriods(dir);
    for (const p of periods) if (had.includes(p)) out.set(p, await periodReport(db, dir, config, p));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

/** `git archive <ref> -- paths | tar -x -C dir`: the files streamed to disk, never held in memory. */
function exportTree(root: string, ref: string, paths: string[], dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const git = spawn('git', ['-C', root, 'archive', '--format=tar', ref, '--', ...paths], { stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    git.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    git.stdout.pipe(tar.stdin);
    let pending = 2;
    const done = (code: number | null) => {
      if (code !== 0) return reject(new Error(`exporting ${ref} failed: ${stderr.trim()}`));
      if (--pending === 0) resolve();
    };
    git.on('error', reject).on('close', done);
    tar.on('error', reject).on('close', done);
  });
}

interface SummaryInput {
  directory: PiDirectory;
  base: string;
  changes: FileChange[];
  statusChanges: StatusChange[];
  policyChanges: PolicyChange[];
  periods: string[];
  before: Map<string, PeriodReport>;
  after: Map<string, PeriodReport>;
  increases: PiIncrease[];
}

/** Exact amounts (units of 10^-SCALE) by period and key. */
type Amounts = Map<string, bigint>;

export interface PrSummary {
  base: string;
  periods: string[];
  files: (FileChange & { rows: number | null })[];
  /** Billed per period, source and currency, from the data: before and after (null where it had none). */
  totals: { period: string; source: string; currency: string; before: bigint | null; after: bigint | null }[];
  on_statements: { period: string; currency: string; statements: bigint; excluded: bigint }[];
  /** PIs whose amount due changed, largest change first. */
  pis: { period: string; pi_email: string; currency: string; before: bigint | null; after: bigint | null; change: bigint }[];
  policy_changes: PolicyChange[];
  /** What the policy does to each PI of the periods it reaches: the sum of their policy lines, and the amount due. */
  policy: { period: string; pi_email: string; currency: string; kinds: string[]; policy: bigint; amount_due: bigint }[];
  status_changes: StatusChange[];
  increases: PiIncrease[];
  pending: { period: string; flag: Flag }[];
  directory: PiDirectory;
}

const joinKey = (...parts: string[]) => parts.join('\u0000');
const add = (m: Amounts, k: string, v: bigint) => m.set(k, (m.get(k) ?? 0n) + v);

function summarize(input: SummaryInput): PrSummary {
  const files = input.changes.map((c) => {
    // A removed file's rows are those it held.
    const rows = (c.change === 'removed' ? input.before : input.after)
      .get(c.period)
      ?.sources.filter((s) => s.file === c.path)
      .reduce((n, s) => n + s.rows, 0);
    return { ...c, rows: rows ?? null };
  });
  const totals: PrSummary['totals'] = [];
  const onStatements: PrSummary['on_statements'] = [];
  const pis: PrSummary['pis'] = [];
  for (const p of input.periods) {
    // Summed per source: an export in parts has a row per file.
    const billed = (sources: SourceTotals[]) => {
      const m: Amounts = new Map();
      for (const s of sources) add(m, joinKey(s.source, s.currency), parseDecimal(s.billed));
      return m;
    };
    const b = billed(input.before.get(p)?.sources ?? []);
    const a = billed(input.after.get(p)?.sources ?? []);
    for (const k of [...new Set([...b.keys(), ...a.keys()])].sort()) {
      const [source = '', currency = ''] = k.split('\u0000');
      totals.push({ period: p, source, currency, before: b.get(k) ?? null, after: a.get(k) ?? null });
    }
    for (const r of input.after.get(p)?.reconciliation ?? [])
      onStatements.push({ period: p, currency: r.currency, statements: parseDecimal(r.statements), excluded: parseDecimal(r.excluded) });
    const due = (r?: PeriodReport) => {
      const m: Amounts = new Map();
      for (const s of r?.statements ?? []) add(m, joinKey(s.pi_email, s.currency), parseDecimal(s.amount_due));
      return m;
    };
    const db = due(input.before.get(p));
    const da = due(input.after.get(p));
    for (const k of new Set([...db.keys(), ...da.keys()])) {
      const change = (da.get(k) ?? 0n) - (db.get(k) ?? 0n);
      // A statement that comes or goes is a change even at 0.00 (a showback project's).
      if (change === 0n && db.has(k) === da.has(k)) continue;
      const [pi_email = '', currency = ''] = k.split('\u0000');
      pis.push({ period: p, pi_email, currency, before: db.get(k) ?? null, after: da.get(k) ?? null, change });
    }
  }
  const size = (v: bigint) => (v < 0n ? -v : v);
  pis.sort((x, y) => (size(y.change) > size(x.change) ? 1 : size(y.change) < size(x.change) ? -1 : 0));
  const policy: PrSummary['policy'] = [];
  const affected = new Set(input.policyChanges.flatMap((c) => (c.period ? [c.period] : input.periods)));
  for (const p of input.periods.filter((x) => input.policyChanges.length > 0 && affected.has(x))) {
    const byPi = new Map<string, { currency: string; policy: bigint; due: bigint; kinds: Set<string> }>();
    for (const s of input.after.get(p)?.statements ?? []) {
      const policyLines = s.lines.filter((l) => l.policy);
      if (!policyLines.length) continue;
      const k = joinKey(s.pi_email, s.currency);
      const e = byPi.get(k) ?? { currency: s.currency, policy: 0n, due: 0n, kinds: new Set<string>() };
      for (const l of policyLines) {
        e.policy += parseDecimal(l.amount);
        e.kinds.add(l.category);
      }
      e.due += parseDecimal(s.amount_due);
      byPi.set(k, e);
    }
    for (const [k, e] of [...byPi].sort(([x], [y]) => compareText(x, y)))
      policy.push({
        period: p,
        pi_email: k.split('\u0000')[0] as string,
        currency: e.currency,
        kinds: [...e.kinds].sort(),
        policy: e.policy,
        amount_due: e.due,
      });
  }
  const pending = input.periods.flatMap((p) =>
    (input.after.get(p)?.flags ?? []).filter((f) => f.status === 'pending').map((flag) => ({ period: p, flag })),
  );
  return {
    base: input.base,
    periods: input.periods,
    files,
    totals,
    on_statements: onStatements,
    pis,
    policy_changes: input.policyChanges,
    policy,
    status_changes: input.statusChanges,
    increases: input.increases,
    pending,
    directory: input.directory,
  };
}

/** The summary for scripts (`pr-summary --json`): exact decimals as text, names from pis.yaml. */
export function summaryJson(config: Config, s: PrSummary) {
  const exact = (v: bigint | null) => (v === null ? null : decimalText(v, SCALE));
  const name = (email: string) => s.directory.get(piKey(email))?.name ?? null;
  return {
    base: s.base,
    periods: s.periods,
    data_files: s.files,
    totals: s.totals.map((t) => ({
      ...t,
      source_name: sourceName(config, t.source),
      before: exact(t.before),
      after: exact(t.after),
      change: exact((t.after ?? 0n) - (t.before ?? 0n)),
    })),
    on_statements: s.on_statements.map((o) => ({ ...o, statements: exact(o.statements), excluded: exact(o.excluded) })),
    pis: s.pis.map((p) => ({ ...p, pi_name: name(p.pi_email), before: exact(p.before), after: exact(p.after), change: exact(p.change) })),
    policy_changes: s.policy_changes,
    policy: s.policy.map((p) => ({ ...p, pi_name: name(p.pi_email), policy: exact(p.policy), amount_due: exact(p.amount_due) })),
    period_status: s.status_changes.map((c) => ({ period: c.period, change: statusText(c), irregular: c.irregular })),
    increases: s.increases,
    pending_flags: s.pending.map(({ period, flag: f }) => ({
      period,
      id: f.id,
      rules: [f.rule, ...(f.also ?? [])],
      pi_email: f.assign?.pi_email ?? f.charge.pi_email ?? null,
      amount: f.charge.amount,
      currency: f.charge.currency,
      file: f.file,
      line: f.line,
    })),
  };
}

/** The comment's Markdown, cut to fit GitHub's limit. */
export function renderMarkdown(config: Config, input: PrSummary): string {
  const money = (value: bigint, currency: string) => formatExactMoney(value, currency, config.billing.minor_units);
  const delta = (value: bigint, currency: string) =>
    value === 0n ? '–' : `${value > 0n ? '+' : '−'}${money(value < 0n ? -value : value, currency)}`;
  const cell = markdownCell;
  const who = (email: string) => {
    const name = input.directory.get(piKey(email))?.name;
    return cell(name ? `${name} (${email})` : email);
  };
  const sections: Section[] = [];
  const head = `${SUMMARY_MARKER}\n## Billing data summary\n\nCompared with ${markdownCode(input.base)}: ${input.files.length} data file${input.files.length === 1 ? '' : 's'} changed${
    input.periods.length ? ` in ${input.periods.join(', ')}` : ''
  }.`;
  if (input.files.length > 0) {
    sections.push(
      table(
        '### Data files',
        ['Period', 'File', 'Change', 'Rows'],
        input.files.map((c) => [c.period, codeCell(c.path), c.change, c.rows === null ? '–' : c.rows.toLocaleString('en-US')]),
      ),
    );
  }
  // Totals per period and source, from the data (input), before and after.
  const totalsRows: string[][] = [];
  for (const p of input.periods) {
    for (const t of input.totals.filter((x) => x.period === p))
      totalsRows.push([
        p,
        sourceName(config, t.source),
        t.before === null ? '–' : money(t.before, t.currency),
        t.after === null ? '–' : money(t.after, t.currency),
        delta((t.after ?? 0n) - (t.before ?? 0n), t.currency),
      ]);
    for (const r of input.on_statements.filter((x) => x.period === p))
      totalsRows.push([
        p,
        `**on statements** (${r.currency})`,
        '',
        `**${money(r.statements, r.currency)}**`,
        `excluded ${money(r.excluded, r.currency)}`,
      ]);
  }
  if (totalsRows.length)
    sections.push(table('### Totals billed, by source', ['Period', 'Source', 'Before', 'After', 'Change'], totalsRows));
  if (input.pis.length)
    sections.push(
      table(
        '### Statements by PI, largest changes first',
        ['Period', 'PI', 'Before', 'After', 'Change'],
        input.pis.map((r) => [
          r.period,
          who(r.pi_email),
          r.before === null ? '–' : money(r.before, r.currency),
          r.after === null ? '–' : money(r.after, r.currency),
          delta(r.change, r.currency),
        ]),
      ),
    );
  if (input.policy_changes.length) {
    sections.push({
      ...table(
        '### Billing policy',
        ['Period', 'PI', 'Policy', 'Policy lines', 'Amount due'],
        input.policy.map((e) => [
          e.period,
          who(e.pi_email),
          e.kinds.join(', '),
          delta(e.policy, e.currency),
          money(e.amount_due, e.currency),
        ]),
      ),
      text: `Changed: ${input.policy_changes.map((c) => markdownCode(c.path)).join(', ')}. Closed periods keep their issued figures.`,
    });
  }
  if (input.status_changes.length) {
    sections.push(
      table(
        '### Period status',
        ['Period', 'Change'],
        input.status_changes.map((c) => [c.period, `${c.irregular ? '⚠️ ' : ''}${statusText(c, markdownCell)}`]),
      ),
    );
  }
  if (input.increases.length) {
    sections.push(
      table(
        '### Unusual increases',
        ['Period', 'PI', 'Previous period', 'This period', 'Ratio'],
        input.increases.map((i) => [i.period, cell(i.pi_email), `${i.before} ${i.currency}`, `${i.after} ${i.currency}`, `${i.ratio}×`]),
      ),
    );
  }
  // Pending review.
  const pending = input.pending;
  if (pending.length) {
    sections.push({
      ...table(
        `### Pending review: ${pending.length} flag${pending.length === 1 ? '' : 's'}`,
        ['Period', 'Id', 'Rule', 'PI', 'Amount', 'Where'],
        pending.map(({ period: p, flag: f }) => [
          p,
          codeCell(f.id),
          [f.rule, ...(f.also ?? [])].join(', '),
          (f.assign?.pi_email ?? f.charge.pi_email) ? who((f.assign?.pi_email ?? f.charge.pi_email) as string) : '(none)',
          money(parseDecimal(f.charge.amount), f.charge.currency),
          codeCell(`${f.file}:${f.line}`),
        ]),
      ),
      text: 'These charges stay off statements until decided. To decide, edit `status:` in `periods/<period>/flags.yaml` in this PR, or run:\n\n```sh\nnpx focus-billing review approve <id> --note "why"\nnpx focus-billing review reject <id> --note "why"\nnpx focus-billing review assign <id> --pi <email> --project <id> --fund-org <code>   # for charges without a PI\n```',
    });
  } else {
    sections.push({ title: '### Review', text: 'No flags pending: every held charge has a decision.' });
  }
  return fit(head, sections);
}

interface Section {
  title: string;
  headers?: string[];
  rows?: string[][];
  text?: string;
  /** Rows shown; the rest are counted. */
  limit?: number;
}

/**
 * A value in a Markdown table cell, shown as written: line breaks flattened, Markdown characters
 * escaped (pipes too, which would end the cell), so that a tag in the data adds no link, image or
 * emphasis, and `@` followed by a zero-width space so that it never mentions (notifies) anyone.
 */
export function markdownCell(s: string): string {
  return markdownText(s.replace(/[\r\n]+/g, ' ')).replace(/\\@/g, '@\u200b');
}

/** A value as code in a table cell: no escapes are read in code, so only the pipes, which GitHub reads first. */
function codeCell(s: string): string {
  return markdownCode(s.replace(/[\r\n]+/g, ' ')).replace(/\|/g, '\\|');
}

function table(title: string, headers: string[], rows: string[][]): Section {
  return { title, headers, rows };
}

function renderSection(s: Section): string {
  const parts = [s.title];
  if (s.headers && s.rows) {
    const shown = s.rows.slice(0, s.limit ?? s.rows.length);
    parts.push(
      `| ${s.headers.join(' | ')} |\n|${s.headers.map(() => '---').join('|')}|\n${shown.map((r) => `| ${r.join(' | ')} |`).join('\n')}`,
    );
    if (shown.length < s.rows.length)
      parts.push(`_… and ${s.rows.length - shown.length} more rows not shown (a PR comment's size is limited)._`);
  }
  if (s.text) parts.push(s.text);
  return parts.join('\n\n');
}

/** Keeps the comment under GitHub's limit by halving the longest tables, saying how many rows were left out. */
export function fit(head: string, sections: Section[], limit = MAX_COMMENT): string {
  const render = () => `${[head, ...sections.map(renderSection)].join('\n\n')}\n`;
  let text = render();
  while (text.length > limit) {
    const longest = sections
      .filter((s) => (s.limit ?? s.rows?.length ?? 0) > 1)
      .sort((a, b) => renderSection(b).length - renderSection(a).length)[0];
    if (!longest) break;
    longest.limit = Math.floor((longest.limit ?? longest.rows?.length ?? 0) / 2);
    text = render();
  }
  return text;
}
