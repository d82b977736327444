/**
 * Review decisions, written into flags.yaml in place (yaml Document API): comments, order and
 * untouched flags stay as they were, so a PR diff shows exactly the decisions taken. Each
 * operation holds the repository lock from reading flags.yaml to writing it back; the CLI and
 * the web app call these same functions.
 */
import { UserError } from '../core/errors.ts';
import { readTextHashed } from '../core/yaml-file.ts';
import { type CoreAttribute, FLAG_RULES, type FlagRule, isAttributed, isFlagRule, isUnicodeText } from '../domain/rules.ts';
import { layout, periodFolders } from '../repo/layout.ts';
import { type LockOptions, withRepositoryLock } from '../repo/lock.ts';
import { assertOpen } from '../repo/period-file.ts';
import { commitWrites } from '../repo/write.ts';
import { editFlagsText, type FlagChange, type FlagNode, type Ids } from './edit.ts';
import { flagsDisplay, hasCrlf, readFlagsFile, withLineBreaks } from './file.ts';
import { assignmentSchema, type Flag, type FlagStatus } from './schema.ts';

export interface Decision {
  status: Exclude<FlagStatus, 'pending'>;
  reviewer: string;
  at: string;
  note?: string;
}

export type Assignment = Record<CoreAttribute, string>;

/** Why a flag was left as it was (shown to the reviewer; the others were changed). */
export interface SkipReason {
  id: string;
  reason: string;
}

export interface ReviewOutcome {
  period: string;
  changed: string[];
  skipped: SkipReason[];
}

export async function loadAllFlags(root: string, period?: string): Promise<{ period: string; flags: Flag[] }[]> {
  const periods = period ? [period] : await periodFolders(layout.periodsDir(root));
  const out = [];
  for (const p of periods) {
    const file = await readFlagsFile(root, p);
    if (file !== null) out.push({ period: p, flags: file.flags });
  }
  return out;
}

/** The rule named by `--rule`, checked. */
export function parseRule(rule: string | undefined): FlagRule | undefined {
  if (rule === undefined) return undefined;
  if (!isFlagRule(rule)) throw new UserError(`--rule ${JSON.stringify(rule)}: expected one of ${FLAG_RULES.join(', ')}`);
  return rule;
}

/** A flag was raised by this rule (first or also). */
export function hasRule(flag: Flag, rule: FlagRule): boolean {
  return flag.rule === rule || (flag.also?.includes(rule) ?? false);
}

/**
 * Finds which period holds each id; unknown or ambiguous ids are errors. With the period given,
 * its flags.yaml is read once, by the edit, which refuses an id it does not hold: reading it here
 * too took 2 of the 7.5 s of a decision among 100,000 flags.
 */
export async function locateIds(root: string, ids: string[], period?: string): Promise<Map<string, string[]>> {
  if (period) return new Map([[period, ids]]);
  const all = await loadAllFlags(root);
  const byPeriod = new Map<string, string[]>();
  for (const id of ids) {
    const holders = all.filter((p) => p.flags.some((f) => f.id === id));
    if (holders.length === 0) throw new UserError(`no flag with id ${id}`, { hint: 'list flags with `focus-billing review list`' });
    if (holders.length > 1)
      throw new UserError(`flag id ${id} is in ${holders.map((h) => h.period).join(' and ')}`, { hint: 'pass --period to choose' });
    const p = (holders[0] as { period: string }).period;
    byPeriod.set(p, [...(byPeriod.get(p) ?? []), id]);
  }
  return byPeriod;
}

/** Which flags to decide: ids (found in whichever period holds them), or every pending flag of a period (of one rule). */
export type Selection = { ids: string[]; period?: string } | { all: true; period: string; rule?: FlagRule };

/** The longest note a decision takes: a reason, not a document (flags.yaml and every commit keep it). */
export const MAX_NOTE_CHARACTERS = 10_000;

/** Approves or rejects the selected flags; a rejection needs a note. */
export async function decideFlags(
  root: string,
  selection: Selection,
  decision: Decision,
  lock: LockOptions = {},
): Promise<ReviewOutcome[]> {
  if (decision.status === 'rejected' && !decision.note?.trim())
    throw new UserError('a rejection needs a reason: pass --note "…"', { hint: 'the note is kept in flags.yaml and the git history' });
  if (decision.note !== undefined && decision.note.length > MAX_NOTE_CHARACTERS)
    throw new UserError(
      `the note is ${decision.note.length.toLocaleString('en-US')} characters long: at most ${MAX_NOTE_CHARACTERS.toLocaleString('en-US')}`,
      {
        hint: 'a note gives the reason in a few lines (it is kept in flags.yaml and each commit); link to a longer document',
      },
    );
  // Written to flags.yaml and the commit message as UTF-8, half a surrogate pair would become U+FFFD without a word.
  if (decision.note !== undefined && !isUnicodeText(decision.note))
    throw new UserError('the note is not Unicode text: it holds half of a surrogate pair', {
      hint: 'write the note again; flags.yaml and the git history keep it as UTF-8',
    });
  return withRepositoryLock(
    root,
    `focus-billing review ${decision.status === 'approved' ? 'approve' : 'reject'}`,
    async () => {
      let targets: Map<string, Ids>;
      if ('all' in selection) {
        // Chosen from the flags the edit reads: reading flags.yaml here too took 2 of the 10 s of deciding 100,000.
        const rule = selection.rule;
        const pending = (flags: Flag[]) => flags.filter((f) => f.status === 'pending' && (!rule || hasRule(f, rule))).map((f) => f.id);
        targets = new Map([[selection.period, pending]]);
      } else {
        if (selection.ids.length === 0) throw new UserError('name the flags to decide: review approve <id…>, or --period P --all');
        targets = await locateIds(root, selection.ids, selection.period);
      }
      const outcomes: ReviewOutcome[] = [];
      for (const [period, ids] of targets) outcomes.push(await editFlags(root, period, ids, (node, flag) => decide(node, flag, decision)));
      return outcomes;
    },
    lock,
  );
}

/** The fund/orgs among `values` that fit none of the config's patterns (config/patterns.ts: fundOrgsOutsidePatterns). */
export type FundOrgCheck = (values: readonly string[]) => Promise<Set<string>>;

/**
 * Attributes a charge that lacks (usable) tags; approving it then bills it on that statement.
 * With `outsidePatterns`, a fund/org that the invalid_fund_org rule would flag is refused too:
 * an assignment is what the statement and the journal then bill.
 */
export async function assignFlag(
  root: string,
  target: { id: string; period?: string },
  assignment: Assignment,
  lock: LockOptions = {},
  outsidePatterns?: FundOrgCheck,
): Promise<ReviewOutcome> {
  const checked = assignmentSchema.safeParse(assignment);
  if (!checked.success)
    throw new UserError(`cannot assign: ${checked.error.issues.map((i) => i.message).join('; ')}`, {
      hint: 'give the PI email, project id and fund/org the charge is billed to',
    });
  const fundOrg = checked.data.fund_org.trim();
  if (outsidePatterns && (await outsidePatterns([fundOrg])).size > 0)
    throw new UserError(`cannot assign: fund_org ${JSON.stringify(fundOrg)} matches none of flag_rules.fund_org_patterns`, {
      hint: 'give a fund/org of a form config.yaml lists there, or add its form to flag_rules.fund_org_patterns',
    });
  return withRepositoryLock(
    root,
    'focus-billing review assign',
    async () => {
      const [[period, ids] = ['', []]] = [...(await locateIds(root, [target.id], target.period))];
      return editFlags(root, period, ids, (node) => assign(node, checked.data));
    },
    lock,
  );
}

/**
 * Applies a change to the named flags of one period. `change` returns a reason to skip a flag,
 * or edits it. Nothing is written when nothing changed, or when flags.yaml changed meanwhile.
 */
export async function editFlags(root: string, period: string, ids: Ids, change: FlagChange): Promise<ReviewOutcome> {
  await assertOpen(root, period, 'change its review decisions');
  const path = layout.flagsFile(root, period);
  const display = flagsDisplay(period);
  const read = await readTextHashed(path, display);
  if (read === null) throw new UserError(`${display} does not exist`, { hint: 'ingest the period first' });
  // A file saved with Windows line breaks keeps them: edited with \n, written back with \r\n throughout.
  const crlf = hasCrlf(read.text);
  const edit = editFlagsText(crlf ? read.text.replace(/\r\n/g, '\n') : read.text, display, ids, change);
  const content = withLineBreaks(edit.text, crlf);
  if (edit.changed.length > 0) await commitWrites([{ target: path, content, expect: { sha256: read.sha256, display } }]);
  return { period, changed: edit.changed, skipped: edit.skipped };
}

/** Records a decision on one flag node. A charge without a usable PI, project and fund/org needs an assignment to be approved. */
export function decide(node: FlagNode, flag: Flag, decision: Decision): string | undefined {
  if (decision.status === 'approved' && !isAttributed(flag.assign ?? flag.charge)) {
    return 'no usable PI, project or fund/org: assign one first (review assign)';
  }
  node.set('status', decision.status);
  node.set('decided_by', decision.reviewer);
  node.set('decided_at', decision.at);
  if (decision.note !== undefined) node.set('note', decision.note);
  return undefined;
}

export function assign(node: FlagNode, assignment: Assignment): string | undefined {
  node.set('assign', {
    pi_email: assignment.pi_email.trim(),
    project_id: assignment.project_id.trim(),
    fund_org: assignment.fund_org.trim(),
  });
  return undefined;
}
