/**
 * `focus-billing remove`: takes a stored export out of an open period, with the charges it held
 * for review. For an export ingested under the wrong source or into the wrong month, which
 * otherwise needed `git rm` and a hand edit of flags.yaml (validate listed the flags to take out).
 *
 * It removes only what `ingest` stored for that source and period (the data files and their
 * `.original.json` records) and that source's flags. A file git does not hold as it is now (never
 * committed, or changed since) would be lost for good, so it is refused unless `--force`. A
 * month left with no export and no flag is left as it was before it was ingested: its flags.yaml
 * (and empty folders) go too.
 */
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { type Config, sourceSlug } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { readTextHashed } from '../core/yaml-file.ts';
import { parseDataFileName } from '../domain/identity.ts';
import { dropFlagsText } from '../flags/edit.ts';
import { flagsDisplay, formatFlags, hasCrlf, parseFlags, readFlagsWithHash, withLineBreaks } from '../flags/file.ts';
import { checkPeriod, layout, relPath } from '../repo/layout.ts';
import { type LockOptions, withRepositoryLock } from '../repo/lock.ts';
import { assertOpen } from '../repo/period-file.ts';
import { ORIGINAL_SUFFIX, recordedExport } from '../repo/stored-export.ts';
import { commitWrites } from '../repo/write.ts';
import { isDataFileName } from '../report/period-report.ts';
import { commitPaths, planCommit } from './commit.ts';
import { existingDataFiles, findSource } from './ingest.ts';

export interface RemoveOptions {
  root: string;
  period: string;
  source: string;
  dryRun?: boolean;
  /** Remove files git does not hold as they are (never committed, or changed since). */
  force?: boolean;
  commit?: { branch?: string };
  lock?: LockOptions;
}

export interface RemoveReport {
  outcome: 'removed' | 'dry-run';
  period: string;
  source: string;
  /** Repository paths removed (data files and their records). */
  files: string[];
  flags: { removed: number; pending: number; decided: number };
  committed?: { branch: string; commit: string };
}

export async function removeExport(config: Config, options: RemoveOptions): Promise<RemoveReport> {
  const { root, period } = options;
  checkPeriod(period, '--period');
  const { name, slug } = await sourceToRemove(config, root, period, options.source);
  if (options.commit && options.dryRun)
    throw new UserError('--commit and --dry-run do not go together: a dry run writes nothing to commit');

  const apply = async (): Promise<RemoveReport> => {
    await assertOpen(root, period, 'remove an export from it');
    const stored = await existingDataFiles(root, period, slug);
    const records = await sourceRecords(root, period, slug);
    const display = flagsDisplay(period);
    const current = await readFlagsWithHash(root, period);
    const { text } = current;
    const flags = current.file.flags;
    const theirs = flags.filter((f) => f.source === slug);
    // Flags left without their export (a git rm, an interrupted remove) come out alone.
    if (stored.length === 0 && theirs.length === 0 && records.length === 0)
      throw new UserError(
        `no ${name} export is stored for ${period} (nothing under ${relPath('data', period, `${slug}.*`)}), and no flag of it`,
        {
          hint: `\`focus-billing periods show ${period}\` lists what the period holds`,
        },
      );
    // The records of a compressed export go with it, and so does one whose export is gone already.
    const files = [...stored, ...records];
    const shown = (f: string) => relPath('data', period, basename(f));
    const present = await presentFiles(files);
    if (!options.force) await refuseUnkept(root, present.map(shown));

    const pending = theirs.filter((f) => f.status === 'pending' && !f.assign && !f.note).length;
    const report: RemoveReport = {
      outcome: 'dry-run',
      period,
      source: name,
      files: present.map(shown),
      flags: { removed: theirs.length, pending, decided: theirs.length - pending },
    };
    if (options.dryRun) return report;
    const plan = options.commit ? await planCommit(root, { period, slug, command: 'remove' }, options.commit.branch) : undefined;
    const remaining = text === null || theirs.length === 0 ? text : withoutSource(text, display, period, slug);
    // The commit is the removal alone: other changes to flags.yaml would go into it unsaid.
    if (plan && text !== null) {
      const committed = await committedText(root, display);
      const same =
        committed === null ? flags.length === theirs.length : withoutSource(committed, `HEAD:${display}`, period, slug) === remaining;
      if (!same)
        throw new UserError(`${display} has changes that are not committed, which a commit of the removal would carry unsaid`, {
          hint: 'commit them first, or remove without committing (leave out --commit) and commit it all by hand',
        });
    }

    // flags.yaml as it was read, or nothing is removed (an editor's save meanwhile; commands wait on the lock).
    if ((await readTextHashed(layout.flagsFile(root, period), display))?.sha256 !== (current.sha256 ?? undefined))
      throw new UserError(`${display} changed while this command ran: nothing was removed`, {
        hint: 'another command or an editor changed it; run the command again',
        exitCode: 1,
      });
    // The data goes first: a crash between the two leaves flags without their data, which
    // `validate` names (with what to remove), rather than data whose held charges were dropped.
    for (const f of present) await rm(f, { force: true });
    const dataLeft = (await readdir(layout.periodDataDir(root, period)).catch(() => [] as string[])).some(isDataFileName);
    if (text !== null && !dataLeft && flags.length === theirs.length) {
      // The period's last export, and every flag was its own: the period is as it was before it was ingested.
      await rm(layout.flagsFile(root, period), { force: true });
      for (const dir of [layout.periodDir(root, period), layout.periodDataDir(root, period)]) await rmdir(dir).catch(() => {});
    } else if (text !== null && remaining !== null && remaining !== text)
      await commitWrites([{ target: layout.flagsFile(root, period), content: remaining, expect: { sha256: current.sha256, display } }]);
    else if (!dataLeft) await rmdir(layout.periodDataDir(root, period)).catch(() => {});
    report.outcome = 'removed';
    // An export never committed leaves nothing to commit once it is gone.
    const paths = [...report.files, display];
    if (plan && (await uncommitted(root, paths)).length > 0) {
      const removed = report.files.filter((f) => !f.endsWith(ORIGINAL_SUFFIX));
      const subject = `Remove ${name} ${period}: ${removed.length > 0 ? removed.join(', ') : `its flags (${theirs.length}), whose export is no longer stored`}`;
      const body = [
        ...report.files.map((f) => `Removed: ${f}`),
        `Flags removed: ${theirs.length} (${report.flags.decided} with a decision, note or assignment)`,
      ].join('\n');
      report.committed = await commitPaths(root, plan, paths, [subject, body]);
    }
    return report;
  };
  return options.dryRun
    ? apply()
    : withRepositoryLock(root, `focus-billing remove --source ${name} --period ${period}`, apply, options.lock);
}

/** The `.original.json` records of a source's compressed exports in the period, whether or not the export is still there. */
async function sourceRecords(root: string, period: string, slug: string): Promise<string[]> {
  const dir = layout.periodDataDir(root, period);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => parseDataFileName(recordedExport(n) ?? '')?.slug === slug)
    .sort()
    .map((n) => join(dir, n));
}

/**
 * The source named, as config.yaml has it; or, for an export stored under a source since taken
 * out of config.yaml, its slug as the file names hold it.
 */
async function sourceToRemove(config: Config, root: string, period: string, wanted: string): Promise<{ name: string; slug: string }> {
  try {
    const source = findSource(config, wanted);
    return { name: source.name, slug: sourceSlug(source) };
  } catch (e) {
    const slug = wanted.toLowerCase();
    if ((await existingDataFiles(root, period, slug)).length > 0) return { name: slug, slug };
    throw e;
  }
}

async function presentFiles(files: string[]): Promise<string[]> {
  const present = await Promise.all(
    files.map((f) =>
      lstat(f).then(
        () => true,
        () => false,
      ),
    ),
  );
  return files.filter((_, i) => present[i]);
}

/** Refuses files that git does not hold as they are now: removing them would lose them for good. */
async function refuseUnkept(root: string, paths: string[]): Promise<void> {
  const unkept = await uncommitted(root, paths);
  if (unkept.length === 0) return;
  const many = unkept.length > 1;
  throw new UserError(
    `${unkept.join(', ')} ${many ? 'are' : 'is'} not committed as ${many ? 'they are' : 'it is'}: git keeps no copy, so removing ${many ? 'them' : 'it'} would lose ${many ? 'them' : 'it'}`,
    { hint: 'commit it first, or pass --force if you still have the export (to ingest it again under the right source or period)' },
  );
}

/**
 * A flags.yaml's text without one source's flags: those lines taken out, the rest byte for byte;
 * or, where its layout does not allow that, written anew (with its line breaks).
 */
function withoutSource(text: string, display: string, period: string, slug: string): string {
  const cut = dropFlagsText(text, (f) => f.source === slug);
  if (cut !== null) return cut;
  const file = parseFlags(text, display);
  return withLineBreaks(formatFlags({ version: file.version, period, flags: file.flags.filter((f) => f.source !== slug) }), hasCrlf(text));
}

/** A file's text as the last commit holds it; null where it holds none. */
async function committedText(root: string, path: string): Promise<string | null> {
  // `./`: the path from the billing repository's folder, which may lie inside a larger repository.
  return simpleGit(root)
    .raw(['show', `HEAD:./${path}`])
    .catch(() => null);
}

/**
 * Which of the paths (relative to the billing repository) git does not hold as they are now:
 * untracked or ignored, or different from the last commit (staged or not). All of them outside a
 * git repository, or before its first commit.
 */
async function uncommitted(root: string, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return []; // no pathspec would mean the whole tree
  const git = simpleGit(root);
  if (!(await git.checkIsRepo().catch(() => false))) return paths;
  if (!(await git.raw(['rev-parse', '--verify', '--quiet', 'HEAD']).catch(() => '')).trim()) return paths;
  const changed = await git.raw(['diff', '--relative', '--name-only', 'HEAD', '--', ...paths]);
  const untracked = await git.raw(['ls-files', '--others', '--', ...paths]);
  return [...new Set(`${changed}\n${untracked}`.split('\n').filter(Boolean))].sort();
}
