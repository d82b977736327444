/**
 * `validate`: the checks a billing PR must pass. Each problem is a finding (error or warning)
 * with its location; validation goes on past the first error so a reviewer sees them all.
 */
import { fundOrgsOutsidePatterns } from '../config/patterns.ts';
import { loadPiDirectory, type PiDirectory } from '../config/pi-directory.ts';
import type { Config } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { formatUnits, parseDecimal, SCALE, trimDecimal } from '../core/money.ts';
import type { Database } from '../db/duckdb.ts';
import { composed, flagId, piKey } from '../domain/identity.ts';
import { compareText } from '../domain/order.ts';
import { unbillableApprovals } from '../domain/rules.ts';
import { readFlagsFile } from '../flags/file.ts';
import type { Flag } from '../flags/schema.ts';
import { manifestOf } from '../periods/close.ts';
import { frozenChanges, frozenOf } from '../periods/freeze.ts';
import { openedByHand, removedClosedPeriods } from '../periods/history.ts';
import { loadAdjustments, loadCredits } from '../policy/load.ts';
import { layout, periodFolders, relPath } from '../repo/layout.ts';
import { lineEndingRisk } from '../repo/line-endings.ts';
import { notesProblem } from '../repo/notes.ts';
import { type PeriodFile, readPeriodFile } from '../repo/period-file.ts';
import { type PiIncrease, piIncreases } from '../report/increases.ts';
import { type FlaggedCharge, listPeriods, type PeriodReport, periodReport } from '../report/period-report.ts';
import { policyTargets } from './policy-targets.ts';
import { unreadFiles } from './unread.ts';

export interface Finding {
  level: 'error' | 'warning';
  message: string;
  file?: string;
  line?: number;
  column?: number;
  hint?: string;
}

export interface ValidationResult {
  ok: boolean;
  periods: { period: string; status: string; pending: number }[];
  /** Periods with data whose statements could not be made: the errors say why. */
  unread: string[];
  findings: Finding[];
  pi_increases: PiIncrease[];
}

const fromError = (e: unknown, level: Finding['level'] = 'error'): Finding => {
  if (e instanceof UserError) return { level, message: e.message, ...e.location, hint: e.hint };
  throw e;
};

/** An error and the problems found beside it (`more`), a finding each; those past the ones shown are counted. */
function eachFinding(e: UserError): Finding[] {
  const more = e.more;
  const unshown = (more?.count ?? 0) - (more?.shown.length ?? 0);
  const counted: Finding[] =
    unshown > 0
      ? [{ level: 'error', message: `and ${unshown.toLocaleString('en-US')} more problems like those above`, file: e.location?.file }]
      : [];
  return [fromError(e), ...(more?.shown ?? []).map((m) => fromError(m)), ...counted];
}

export async function validateRepository(
  db: Database,
  root: string,
  config: Config,
  options: { requireReviewed?: boolean } = {},
): Promise<ValidationResult> {
  const findings: Finding[] = [];
  const directory = await loadPiDirectory(root).catch((e) => {
    findings.push(fromError(e));
    return null;
  });
  const lineEndings = await lineEndingRisk(root);
  if (lineEndings)
    findings.push({
      level: 'warning',
      message: `git here would change the line endings of files under data/ and periods/ (${lineEndings}): exports are kept byte for byte, and closed periods are checked by their bytes`,
      file: '.gitattributes',
      hint: 'run `focus-billing init` in the repository (it adds data/** -text and periods/** -text to .gitattributes) and commit .gitattributes; files checked out converted already are restored by: git rm -r -q --cached data periods && git checkout HEAD -- data periods',
    });
  findings.push(...(await unreadFiles(root)));
  const periodDirs = await periodFolders(layout.periodsDir(root));
  const withData = await listPeriods(root);
  const periods = [...new Set([...withData, ...periodDirs])].sort();
  const reports = new Map<string, PeriodReport>();
  const summary: ValidationResult['periods'] = [];
  for (const period of periods) {
    const periodFile = await readPeriodFile(root, period).catch((e) => {
      findings.push(fromError(e));
      return null;
    });
    const notes = await notesProblem(root, period);
    // Every finding in the notes, each at its line, so that one push fixes them all.
    if (notes) findings.push(...eachFinding(notes));
    let report: PeriodReport | undefined;
    try {
      report = await periodReport(db, root, config, period, { verifyBytes: true });
      reports.set(period, report);
    } catch (e) {
      const f = fromError(e);
      // A period with review files but no data is stale, not broken data.
      findings.push(f.message.startsWith('no data for period') ? await withoutData(root, period, f) : f);
    }
    if (report) {
      findings.push(...matchFlags(period, report));
      // A closed period is held to what it issued (below): its flags.yaml is as closed, and
      // patterns changed since are not errors in it that only reopening could mend.
      if (periodFile?.status !== 'closed') findings.push(...(await checkAssignments(db, root, config, period, report)));
      for (const w of report.warnings) findings.push({ level: 'warning', message: `${period}: ${w}` });
      const pending = report.flag_counts.pending;
      if (pending > 0) {
        findings.push({
          level: options.requireReviewed ? 'error' : 'warning',
          message: `${period} has ${pending} pending flag${pending > 1 ? 's' : ''}: their charges stay off statements until decided`,
          file: relPath('periods', period, 'flags.yaml'),
          hint: `focus-billing review list --period ${period} --status pending`,
        });
      }
      // Approved, but with nothing to bill it to (a hand edit; `review approve` refuses it): held back as if pending.
      const unbillable = unbillableApprovals(report.flags);
      if (unbillable.length > 0 && options.requireReviewed && periodFile?.status !== 'closed') {
        findings.push({
          level: 'error',
          message: `${period} has ${unbillable.length} approved flag${unbillable.length > 1 ? 's' : ''} with no usable PI, project or fund/org (${unbillable
            .slice(0, 3)
            .map((f) => f.id)
            .join(', ')}${unbillable.length > 3 ? ', …' : ''}): their charges stay off statements`,
          file: relPath('periods', period, 'flags.yaml'),
          hint: 'assign each one: focus-billing review assign <id> --pi <email> --project <id> --fund-org <fund>',
        });
      }
      summary.push({ period, status: report.status, pending });
    }
    if (periodFile?.status === 'closed') {
      findings.push(...(await checkManifest(root, period, periodFile)));
      if (report && directory) findings.push(...(await checkFrozen(root, period, periodFile, config, report, directory)));
    }
    if (periodFile && openedByHand(periodFile)) {
      findings.push({
        level: 'error',
        message: `period ${period} was closed, and its period.yaml now says open with no reopening recorded`,
        file: relPath('periods', period, 'period.yaml'),
        hint: `undo the edit, then reopen it with \`focus-billing periods reopen ${period} --reason "…"\`, which records who and why`,
      });
    }
  }
  for (const removed of await removedClosedPeriods(root)) {
    findings.push({
      level: 'error',
      message: removed.message,
      file: removed.file,
      hint: `restore it (git checkout -- ${removed.file}), then reopen with \`focus-billing periods reopen ${removed.period} --reason "…"\``,
    });
  }
  // Policy that covers nothing (a typo in a PI, project or service glob), read once every
  // period's statements are known; an unreadable credits.yaml is each period's error already,
  // and with a period's statements unknown, "on no statement of any period" cannot be said.
  const credits = withData.every((p) => reports.has(p)) ? await loadCredits(root).catch(() => null) : null;
  if (credits)
    for (const t of policyTargets(config, credits, reports.values(), new Set(directory?.keys() ?? [])))
      findings.push({ level: 'warning', ...t });
  const increases = piIncreases(config, [...reports.keys()], reports);
  for (const i of increases) {
    findings.push({
      level: 'warning',
      message: `${i.pi_email}: ${i.period} total ${i.after} ${i.currency} is ${i.ratio}× ${i.previous} (${i.before})`,
      hint: 'check the charges before approving; set flag_rules.anomalies.pi_increase to tune',
    });
  }
  // A folder under periods/ with no data is stale, which its own finding says; one with data is unread.
  const unread = withData.filter((p) => !reports.has(p));
  return {
    ok: !findings.some((f) => f.level === 'error'),
    periods: summary,
    unread,
    findings: distinct(findings),
    pi_increases: increases,
  };
}

/** Each finding once: a mistake in a file every period reads (credits.yaml, config.yaml) fails each period's report alike. */
function distinct(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = JSON.stringify([f.level, f.file, f.line, f.column, f.message, f.hint]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Assignments, and adjustments that give a fund/org, whose fund/org the invalid_fund_org rule
 * would flag: `review assign` refuses them, but flags.yaml and adjustments.yaml are edited by
 * hand in the pull request, and what they give is what the statement and the journal bill.
 */
async function checkAssignments(db: Database, root: string, config: Config, period: string, report: PeriodReport): Promise<Finding[]> {
  const flagsFile = relPath('periods', period, 'flags.yaml');
  const adjustmentsFile = relPath('periods', period, 'adjustments.yaml');
  // An unreadable adjustments.yaml is the period's error already (its report applies it).
  const adjustments = await loadAdjustments(root, period).catch(() => []);
  const billsCharges = (pi: string, project: string, fundOrg: string) =>
    report.statements.some(
      (s) =>
        s.pi_email === piKey(pi) &&
        s.project_id === composed(project) &&
        s.fund_org === composed(fundOrg) &&
        s.lines.some((l) => !l.policy),
    );
  const given = [
    ...report.flags.flatMap((f) =>
      f.assign
        ? [
            {
              what: `flag ${f.id} assigns`,
              fundOrg: f.assign.fund_org.trim(),
              file: flagsFile,
              hint: `assign it again: focus-billing review assign ${f.id} --period ${period} --pi … --project … --fund-org <a fund/org of the configured form>`,
            },
          ]
        : [],
    ),
    // Only where it creates the statement: one it lands on bills its charges' fund/org already.
    ...adjustments.flatMap((a) =>
      a.fund_org && !billsCharges(a.pi_email, a.project_id, a.fund_org)
        ? [
            {
              what: `adjustment ${a.id} gives`,
              fundOrg: a.fund_org.trim(),
              file: adjustmentsFile,
              hint: 'the statement it creates bills this fund/org: give one of the configured form',
            },
          ]
        : [],
    ),
  ];
  const outside = await fundOrgsOutsidePatterns(
    db,
    config,
    given.map((g) => g.fundOrg),
  );
  return given
    .filter((g) => outside.has(g.fundOrg))
    .map((g) => ({
      level: 'error' as const,
      message: `${g.what} fund_org ${JSON.stringify(g.fundOrg)}, which matches none of flag_rules.fund_org_patterns`,
      file: g.file,
      hint: g.hint,
    }));
}

/**
 * A period whose folder holds review files but no export (its exports `git rm`ed, or a `remove`
 * cut off between its two writes): the sources whose flags remain, each with what takes them out.
 */
async function withoutData(root: string, period: string, f: Finding): Promise<Finding> {
  const flags = await readFlagsFile(root, period).catch(() => null);
  const sources = [...new Set((flags?.flags ?? []).map((flag) => flag.source))].sort(compareText);
  // Named by its folder, as every finding is by its file (the app and CI annotations place them so).
  if (sources.length === 0) return { ...f, message: `has no data files under data/${period}/`, file: `periods/${period}/` };
  const count = (flags?.flags ?? []).length;
  return {
    ...f,
    message: `it holds ${count.toLocaleString('en-US')} ${count === 1 ? 'flag' : 'flags'} of ${sources.join(', ')}, but data/${period}/ holds no export`,
    file: relPath('periods', period, 'flags.yaml'),
    hint: `take them out with ${sources.map((s) => `\`focus-billing remove --period ${period} --source ${s}\``).join(' and ')}, or ingest the exports again`,
  };
}

/**
 * What a flag shows of its charge that the data does not hold (its amount, list price, currency,
 * or the PI, project, fund/org and service its tags give, as a hand edit or a change of
 * `tag_mapping` since may have made them), or null. Reviewers decide on what the flag shows;
 * statements bill what the data holds.
 */
function shownChargeProblem(f: Flag, want: FlaggedCharge): string | null {
  const units = (text: string) => {
    try {
      return parseDecimal(text);
    } catch {
      return null;
    }
  };
  const real = (v: bigint) => trimDecimal(formatUnits(v, SCALE));
  if (f.charge.currency !== want.currency) return `currency ${f.charge.currency}, but its charge in ${want.file} is in ${want.currency}`;
  if (units(f.charge.amount) !== want.cost)
    return `amount ${f.charge.amount}, but its charge in ${want.file} is ${real(want.cost)} ${want.currency}`;
  if (units(f.charge.list) !== want.list)
    return `list ${f.charge.list}, but its charge in ${want.file} lists at ${real(want.list)} ${want.currency}`;
  for (const key of ['pi_email', 'project_id', 'fund_org', 'service'] as const)
    if ((f.charge[key] ?? null) !== (want[key] ?? null))
      return `${key} ${JSON.stringify(f.charge[key] ?? null)}, but its charge in ${want.file} has ${JSON.stringify(want[key] ?? null)}`;
  return null;
}

/** flags.yaml against the data: every flagged charge has its flag, and every flag its charge. */
function matchFlags(period: string, report: PeriodReport): Finding[] {
  const out: Finding[] = [];
  const file = relPath('periods', period, 'flags.yaml');
  const expected = new Map<string, FlaggedCharge>();
  for (const g of report.flagged) for (let n = 1; n <= g.rows; n++) expected.set(flagId(g.row_hash, n), g);
  // Re-ingesting rebuilds a source's flags from its whole export: every part, in order.
  const exportOf = (source: string) =>
    report.files
      .filter((d) => d.sourceSlug === source)
      .map((d) => d.relPath)
      .join(' ');
  const seen = new Set<string>();
  for (const f of report.flags) {
    seen.add(f.id);
    const want = expected.get(f.id);
    if (!want && !exportOf(f.source)) {
      out.push({
        level: 'error',
        message: `flag ${f.id} (${f.file}:${f.line}) is of source ${f.source}, which has no export stored in ${period}`,
        file,
        hint: `take the flags out with \`focus-billing remove --period ${period} --source ${f.source}\`, or ingest that source's export again`,
      });
    } else if (!want) {
      out.push({
        level: 'error',
        message: `flag ${f.id} (${f.file}:${f.line}) matches no flagged charge in the data: the data changed, the config's rules changed, or the id was edited`,
        file,
        hint: `re-run \`focus-billing ingest ${exportOf(f.source)} --source ${f.source} --period ${period} --replace\` to rebuild the flags, keeping decisions on unchanged rows`,
      });
    } else if (want.source !== f.source) {
      out.push({ level: 'error', message: `flag ${f.id} says source ${f.source}, but its charge is in ${want.file}`, file });
    } else {
      // A closed period's flags.yaml is held to its bytes by period.yaml, and can no longer be written again.
      const shown = report.status === 'closed' ? null : shownChargeProblem(f, want);
      if (shown)
        out.push({
          level: 'error',
          message: `flag ${f.id} (${f.file}:${f.line}) shows ${shown}: reviewers would decide on what the charge is not`,
          file,
          hint: `the flag's charge was edited by hand, or config.yaml reads tags otherwise since: restore the flag from git, or re-run \`focus-billing ingest ${exportOf(f.source)} --source ${f.source} --period ${period} --replace\` to write it again (decisions are kept)`,
        });
    }
    if (f.status === 'rejected' && !f.note)
      out.push({ level: 'warning', message: `flag ${f.id} is rejected without a note saying why`, file });
  }
  const missing = [...expected].filter(([id]) => !seen.has(id));
  if (missing.length > 0) {
    const files = [...new Set(missing.map(([, m]) => m.file))];
    const sources = [...new Set(missing.map(([, m]) => m.source))];
    out.push({
      level: 'error',
      message: `${missing.length} flagged charge${missing.length > 1 ? 's have' : ' has'} no entry in flags.yaml (${files.join(', ')}); they are held back as pending`,
      file,
      hint: `re-run ingest with --replace so the flags are written: ${sources.map((s) => `\`focus-billing ingest ${exportOf(s)} --source ${s} --period ${period} --replace\``).join(', ')}`,
    });
  }
  return out;
}

const frozenHint = (period: string) =>
  `a closed period is frozen: revert the change, or reopen it with \`focus-billing periods reopen ${period} --reason "…"\``;

async function checkManifest(root: string, period: string, closed: PeriodFile): Promise<Finding[]> {
  const now = await manifestOf(root, period);
  const out: Finding[] = [];
  const was = closed.files ?? {};
  const hint = frozenHint(period);
  for (const [path, hash] of Object.entries(was)) {
    if (!(path in now.files))
      out.push({ level: 'error', message: `removed after ${period} was closed (${closed.closed_at})`, file: path, hint });
    else if (now.files[path] !== hash)
      out.push({ level: 'error', message: `changed after ${period} was closed (${closed.closed_at})`, file: path, hint });
  }
  for (const path of Object.keys(now.files))
    if (!(path in was)) out.push({ level: 'error', message: `added after ${period} was closed (${closed.closed_at})`, file: path, hint });
  if ((closed.flags_sha256 ?? null) !== now.flags_sha256) {
    out.push({
      level: 'error',
      message: `changed after ${period} was closed (${closed.closed_at})`,
      file: relPath('periods', period, 'flags.yaml'),
      hint,
    });
  }
  return out;
}

/** Everything else a closed period's statements show: the settings, notes and PI names they were issued with, and their amounts. */
async function checkFrozen(
  root: string,
  period: string,
  closed: PeriodFile,
  config: Config,
  report: PeriodReport,
  directory: PiDirectory,
): Promise<Finding[]> {
  if (!closed.frozen) {
    return [
      {
        level: 'warning',
        message: `${period} was closed before closing froze its settings, notes and PI names: only its data and flags are checked`,
        file: relPath('periods', period, 'period.yaml'),
        hint: `reopen it and close it again to freeze the rest: focus-billing periods reopen ${period} --reason "freeze settings"`,
      },
    ];
  }
  const now = await frozenOf(root, period, config, report, directory);
  return frozenChanges(closed.frozen, now).map((c) => ({
    level: 'error' as const,
    message: `${period} is closed, but ${c.what} since (${closed.closed_at}): its issued statements would change`,
    file: c.file === 'notes.mdx' ? relPath('periods', period, 'notes.mdx') : c.file || undefined,
    hint: c.what.startsWith('its statements')
      ? `${frozenHint(period)}; a correction (to credits.yaml or a charge) lands as an adjustment in an open period instead: periods/<open period>/adjustments.yaml`
      : frozenHint(period),
  }));
}
