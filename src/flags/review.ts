/**
 * Review decisions, written into flags.yaml in place (yaml Document API): comments, order and
 * untouched flags stay as they were, so a PR diff shows exactly the decisions taken.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { UserError } from '../core/errors.ts';
import { assertOpen } from '../periods/status.ts';
import { layout, periodFolders, relPath } from '../repo/layout.ts';
import { commitWrites } from '../repo/write.ts';
import { parseFlags } from './file.ts';
import type { Flag, FlagStatus } from './schema.ts';

export interface Decision {
  status: Exclude<FlagStatus, 'pending'>;
  reviewer: string;
  at: string;
  note?: string;
}

export interface Assignment {
  pi_email: string;
  project_id: string;
  fund_org: string;
}

export interface ReviewOutcome {
  period: string;
  changed: string[];
  skipped: { id: string; reason: string }[];
}

export async function periodsWithFlags(root: string): Promise<string[]> {
  return periodFolders(layout.periodsDir(root));
}

export async function loadAllFlags(root: string, period?: string): Promise<{ period: string; flags: Flag[] }[]> {
  const periods = period ? [period] : await periodsWithFlags(root);
  const out = [];
  for (const p of periods) {
    const text = await readFile(layout.flagsFile(root, p), 'utf8').catch(() => null);
    if (text !== null) out.push({ period: p, flags: parseFlags(text, relPath('periods', p, 'flags.yaml')).flags });
  }
  return out;
}

/** Finds which period holds each id; unknown or ambiguous ids are errors. */
export async function locateIds(root: string, ids: string[], period?: string): Promise<Map<string, string[]>> {
  const all = await loadAllFlags(root, period);
  const byPeriod = new Map<string, string[]>();
  for (const id of ids) {
    const holders = all.filter((p) => p.flags.some((f) => f.id === id));
    if (holders.length === 0)
      throw new UserError(`no flag with id ${id}${period ? ` in ${period}` : ''}`, { hint: 'list flags with `focus-billing review list`' });
    if (holders.length > 1)
      throw new UserError(`flag id ${id} is in ${holders.map((h) => h.period).join(' and ')}`, { hint: 'pass --period to choose' });
    const p = (holders[0] as { period: string }).period;
    byPeriod.set(p, [...(byPeriod.get(p) ?? []), id]);
  }
  return byPeriod;
}

/**
 * Applies a change to the named flags of one period. `change` returns a reason to skip a flag,
 * or edits it. Nothing is written when nothing changed.
 */
export async function editFlags(
  root: string,
  period: string,
  ids: string[],
  change: (flag: YAMLMap, current: Flag) => string | undefined,
): Promise<ReviewOutcome> {
  await assertOpen(root, period, 'change its review decisions');
  const path = layout.flagsFile(root, period);
  const display = relPath('periods', period, 'flags.yaml');
  const text = await readFile(path, 'utf8');
  const parsed = parseFlags(text, display);
  const doc = parseDocument(text);
  const seq = doc.get('flags', true);
  if (!isSeq(seq)) throw new UserError(`${display} has no flags list`);
  const outcome: ReviewOutcome = { period, changed: [], skipped: [] };
  for (const id of ids) {
    const index = parsed.flags.findIndex((f) => f.id === id);
    const node = seq.items[index];
    if (index === -1 || !isMap(node)) throw new UserError(`no flag with id ${id} in ${display}`);
    const reason = change(node, parsed.flags[index] as Flag);
    if (reason) outcome.skipped.push({ id, reason });
    else outcome.changed.push(id);
  }
  if (outcome.changed.length > 0) await commitWrites([{ target: path, content: doc.toString({ lineWidth: 0 }) }]);
  return outcome;
}

/** Records a decision on one flag node. A charge without a PI needs an assignment to be approved. */
export function decide(node: YAMLMap, flag: Flag, decision: Decision): string | undefined {
  const attribution = flag.assign ?? flag.charge;
  if (decision.status === 'approved' && !(attribution.pi_email && attribution.project_id && attribution.fund_org)) {
    return 'no PI, project or fund/org: assign one first (review assign)';
  }
  node.set('status', decision.status);
  node.set('decided_by', decision.reviewer);
  node.set('decided_at', decision.at);
  if (decision.note !== undefined) node.set('note', decision.note);
  return undefined;
}

export function assign(node: YAMLMap, assignment: Assignment): string | undefined {
  node.set('assign', { pi_email: assignment.pi_email, project_id: assignment.project_id, fund_org: assignment.fund_org });
  return undefined;
}
