/** `focus-billing review list|approve|reject|assign`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { fundOrgsOutsidePatterns } from '../../config/patterns.ts';
import { UserError } from '../../core/errors.ts';
import { FLAG_RULES, isAttributed } from '../../domain/rules.ts';
import { now, reviewer } from '../../flags/decider.ts';
import { assignFlag, decideFlags, hasRule, loadAllFlags, parseRule, type ReviewOutcome } from '../../flags/review.ts';
import { refuseLinks } from '../../repo/links.ts';
import { type Io, money, plural, printJson, table } from '../output.ts';
import { checkPeriod, inRepository, type RootOptions, withRoot } from './common.ts';

interface DecideOptions extends RootOptions {
  note?: string;
  period?: string;
  rule?: string;
  all?: boolean;
  reviewer?: string;
}

export function registerReview(program: Command, io: Io): void {
  const review = program.command('review').description('review flagged charges: list them, approve, reject, or attribute them');

  withRoot(
    review
      .command('list')
      .description('flags with their status, rule, charge and location')
      .option('--period <YYYY-MM>', 'only this period')
      .option('--status <status>', 'pending, approved or rejected')
      .option('--rule <rule>', `only this rule (${FLAG_RULES.join(', ')})`)
      .option('--json', 'print as JSON'),
  ).action(async (opts: RootOptions & { period?: string; status?: string; rule?: string }) => {
    if (opts.status && !['pending', 'approved', 'rejected'].includes(opts.status))
      throw new UserError(`--status ${opts.status}: expected pending, approved or rejected`);
    const rule = parseRule(opts.rule);
    if (opts.period) checkPeriod(opts.period, '--period');
    await refuseLinks(resolve(opts.root)); // as commands that load the config do
    const all = await loadAllFlags(resolve(opts.root), opts.period);
    const rows = all.flatMap((p) =>
      p.flags
        .filter((f) => (!opts.status || f.status === opts.status) && (!rule || hasRule(f, rule)))
        .map((f) => ({ period: p.period, ...f })),
    );
    if (opts.json) return printJson(io, { flags: rows });
    if (rows.length === 0) return io.out('No flags match.');
    io.out(
      table(
        ['Period', 'Id', 'Status', 'Rule', 'PI', 'Amount', 'Where'],
        rows.map((f) => [
          f.period,
          f.id,
          f.status,
          f.rule,
          f.assign?.pi_email ?? f.charge.pi_email ?? '–',
          money(f.charge.amount, f.charge.currency),
          `${f.file}:${f.line}`,
        ]),
        ['l', 'l', 'l', 'l', 'l', 'r', 'l'],
      ),
    );
    // `review approve` refuses a charge with no usable attribution: say what those need instead.
    const unattributed = rows.filter((f) => f.status === 'pending' && !isAttributed(f.assign ?? f.charge)).length;
    const none = unattributed === rows.length;
    io.out(`\n${plural(rows.length, 'flag')}.${none ? '' : ' Approve with `focus-billing review approve <id…> --note "…"`.'}`);
    if (unattributed > 0) {
      const one = unattributed === 1;
      const who = none ? (one ? 'It has' : 'They have') : `${unattributed} of them ${one ? 'has' : 'have'}`;
      io.out(
        `${who} no usable PI, project or fund/org: attribute ${one ? 'it' : 'each'} with \`focus-billing review assign <id> --pi … --project … --fund-org …\`, then approve; or reject with a note.`,
      );
    }
  });

  const decideAction = (status: 'approved' | 'rejected') => async (ids: string[], opts: DecideOptions) => {
    const root = resolve(opts.root);
    if (status === 'rejected' && !opts.note?.trim())
      throw new UserError('a rejection needs a reason: pass --note "…"', { hint: 'the note is kept in flags.yaml and the git history' });
    const rule = parseRule(opts.rule);
    if (opts.period) checkPeriod(opts.period, '--period');
    if (opts.all && !opts.period)
      throw new UserError('--all needs --period', { hint: 'e.g. review approve --period 2025-01 --rule pattern_match --all' });
    if (opts.all && ids.length) throw new UserError('give ids or --all, not both');
    if (rule && !opts.all)
      throw new UserError('--rule goes with --all', { hint: 'name flags by id, or decide a whole rule with --period P --rule R --all' });
    const selection = opts.all ? { all: true as const, period: opts.period as string, rule } : { ids, period: opts.period };
    await refuseLinks(root);
    const decision = { status, reviewer: await reviewer(root, opts.reviewer), at: now(), note: opts.note };
    const outcomes = await decideFlags(root, selection, decision, { say: io.err });
    report(io, status, outcomes, opts.json);
    if (!opts.all && outcomes.some((o) => o.skipped.length > 0))
      throw new UserError('some flags were not decided (see above)', { exitCode: 1 });
  };

  // approve and reject take the same arguments; a rejection must say why.
  for (const [name, status, description] of [
    ['approve', 'approved', 'approve flagged charges: they go on statements (each flag records its own decision)'],
    ['reject', 'rejected', 'reject flagged charges: they stay off statements, shown as excluded'],
  ] as const) {
    const command = review.command(name).description(description).argument('[ids...]', 'flag ids');
    if (status === 'rejected') command.requiredOption('--note <text>', 'why (required)');
    else command.option('--note <text>', 'why');
    withRoot(
      command
        .option('--period <YYYY-MM>', 'period of the ids, or of --all')
        .option('--rule <rule>', 'with --all: only flags of this rule')
        .option('--all', 'every pending flag of --period (for approve, those without a PI are skipped and counted)')
        .option('--reviewer <email>', 'who decides (default: git user.email)')
        .option('--json', 'print the outcome as JSON'),
    ).action(decideAction(status));
  }

  withRoot(
    review
      .command('assign')
      .description('attribute a charge that lacks tags; approving it then bills it on that statement')
      .argument('<id>', 'flag id')
      .requiredOption('--pi <email>', 'PI email')
      .requiredOption('--project <id>', 'project id')
      .requiredOption('--fund-org <code>', 'fund/org')
      .option('--period <YYYY-MM>', 'period of the id')
      .option('--json', 'print the outcome as JSON'),
  ).action(async (id: string, opts: RootOptions & { pi: string; project: string; fundOrg: string; period?: string }) => {
    if (opts.period) checkPeriod(opts.period, '--period');
    const outcome = await inRepository(opts, io, ({ root, config, db }) =>
      assignFlag(
        root,
        { id, period: opts.period },
        { pi_email: opts.pi, project_id: opts.project, fund_org: opts.fundOrg },
        { say: io.err },
        (values) => fundOrgsOutsidePatterns(db, config, values),
      ),
    );
    if (opts.json) return printJson(io, outcome);
    io.out(`Assigned ${id} (${outcome.period}) to ${opts.pi}, project ${opts.project}, fund/org ${opts.fundOrg}. Approve it to bill it.`);
  });
}

function report(io: Io, status: string, outcomes: ReviewOutcome[], json?: boolean): void {
  if (json) {
    printJson(io, { status, periods: outcomes });
    return;
  }
  for (const o of outcomes) {
    io.out(`${o.period}: ${plural(o.changed.length, 'flag')} ${status}${o.skipped.length ? `, ${o.skipped.length} skipped` : ''}`);
    for (const s of o.skipped) io.err(`  skipped ${s.id}: ${s.reason}`);
  }
}
