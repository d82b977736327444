/**
 * Issued statements stay put: a statement's date belongs to its period, so a later month's
 * commit re-prints and re-dates nothing; and a closed period is frozen for everything its
 * statements show, reopened only through `periods reopen`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { simpleGit } from 'simple-git';
import { cli, SAMPLE, scratch, scratchRepo, tags, writeCsv } from './helpers.ts';

const H = ['BillingPeriodStart', 'BilledCost', 'ListCost', 'BillingCurrency', 'ServiceName', 'Tags'];
const T = tags({ pi_email: 'ann@uni.edu', project_id: 'genomics', fund_org: '100100-1000' });

/** Commits everything as of a fixed time. */
const commitAt = (repo: string, message: string, date: string) => {
  const env = { ...process.env, GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date };
  execFileSync('git', ['-C', repo, 'add', '-A'], { env });
  execFileSync('git', ['-C', repo, 'commit', '-q', '-m', message], { env });
};

const hashes = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir).map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex'),
    ]),
  );

describe('statement dates', () => {
  it('belong to the period: a later month leaves earlier PDFs byte for byte, and prints only its own', async (t) => {
    const repo = await scratchRepo(t);
    const dir = await scratch(t);
    const jan = await writeCsv(dir, 'jan.csv', [H, ['2025-01-01', '10', '12', 'USD', 'HPC', T]]);
    assert.equal((await cli('ingest', jan, '--source', 'HPC', '--root', repo)).code, 0);
    commitAt(repo, 'January', '2025-02-03T10:00:00Z');
    const first = await cli('build', '--root', repo, '--json');
    assert.equal(first.code, 0, first.stderr);
    const janPdfs = hashes(join(repo, 'dist/periods/2025-01/pdf'));
    const page = readFileSync(
      join(repo, 'dist/periods/2025-01/statements', readdirSync(join(repo, 'dist/periods/2025-01/statements'))[0] as string, 'index.html'),
      'utf8',
    );
    assert.match(page, /Issued 2025-02-03\./, 'the date of the last commit that touched January');

    const feb = await writeCsv(dir, 'feb.csv', [H, ['2025-02-01', '20', '24', 'USD', 'HPC', T]]);
    assert.equal((await cli('ingest', feb, '--source', 'HPC', '--root', repo)).code, 0);
    commitAt(repo, 'February', '2025-03-04T10:00:00Z');
    const second = await cli('build', '--root', repo, '--json');
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(hashes(join(repo, 'dist/periods/2025-01/pdf')), janPdfs, "January's PDFs byte for byte");
    assert.deepEqual([second.json().pdfs.printed, second.json().pdfs.cached], [1, 1], "only February's statement printed");
    const febPage = readdirSync(join(repo, 'dist/periods/2025-02/statements'))[0] as string;
    assert.match(readFileSync(join(repo, 'dist/periods/2025-02/statements', febPage, 'index.html'), 'utf8'), /Issued 2025-03-04\./);
  });

  it('are not guessed in a shallow clone, whose last commit seems to change every period', async (t) => {
    const repo = await scratchRepo(t);
    const dir = await scratch(t);
    // The GL journal's entries carry the issue date with this setting: the probe below.
    await writeFile(join(repo, 'config.yaml'), `${await readFile(join(repo, 'config.yaml'), 'utf8')}\njournal:\n  date: build_date\n`);
    const jan = await writeCsv(dir, 'jan.csv', [H, ['2025-01-01', '10', '12', 'USD', 'HPC', T]]);
    assert.equal((await cli('ingest', jan, '--source', 'HPC', '--root', repo)).code, 0);
    commitAt(repo, 'January', '2025-02-03T10:00:00Z');
    const feb = await writeCsv(dir, 'feb.csv', [H, ['2025-02-01', '20', '24', 'USD', 'HPC', T]]);
    assert.equal((await cli('ingest', feb, '--source', 'HPC', '--root', repo)).code, 0);
    commitAt(repo, 'February', '2025-03-04T10:00:00Z');
    await writeFile(join(repo, 'README.md'), 'Billing\n');
    commitAt(repo, 'Readme', '2025-03-20T10:00:00Z');
    const journalDate = async (root: string, ...args: string[]) => {
      const r = await cli('journal', '--period', '2025-01', '--format', 'gl', '--json', '--root', root, ...args);
      return r.code === 0 ? (r.json().rows[0] as { date: string }).date : r;
    };
    assert.equal(await journalDate(repo), '2025-02-03', 'the full history dates January by its own last commit');
    // As actions/checkout clones by default: the last commit only, shown as adding every file.
    const shallow = join(dir, 'shallow');
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${repo}`, shallow]);
    const r = await journalDate(shallow);
    assert.equal(typeof r, 'object');
    const refused = r as { code: number; stderr: string };
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^error: the issue date of 2025-01 is not known in this shallow clone: its history stops at a commit that seems to change every period\n {2}hint: fetch the history \(git fetch --unshallow; in GitHub Actions, actions\/checkout with fetch-depth: 0\), or give the date with --date\n$/,
    );
    const detail = await cli('journal', '--period', '2025-01', '--format', 'detail', '--root', shallow);
    assert.equal(detail.code, 0, `a journal without dates needs no history: ${detail.stderr}`);
    const built = await cli('build', '--no-pdf', '--out', join(dir, 'site'), '--root', shallow);
    assert.equal(built.code, 2, built.stderr);
    assert.match(built.stderr, /the issue date of 2025-0[12] is not known in this shallow clone/);
    assert.equal(await journalDate(shallow, '--date', '2025-02-03'), '2025-02-03', '--date still serves');
    execFileSync('git', ['-C', shallow, 'fetch', '-q', '--unshallow']);
    assert.equal(await journalDate(shallow), '2025-02-03', 'once the history is fetched');
  });

  it('refuses a --date that is not on the calendar', async (t) => {
    const repo = await scratchRepo(t);
    const r = await cli('build', '--date', '2025-02-30', '--root', repo);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--date "2025-02-30": expected a calendar date as YYYY-MM-DD/);
  });
});

describe('a closed period', () => {
  /** A repository with January ingested, reviewed, closed and committed. */
  async function closed(t: Parameters<typeof scratchRepo>[0]) {
    const repo = await scratchRepo(t);
    const git = simpleGit(repo);
    assert.equal((await cli('ingest', join(SAMPLE, 'storage_2025-01.csv'), '--source', 'Storage', '--root', repo)).code, 0);
    await writeFile(join(repo, 'pis.yaml'), '- { email: a.rivera@example.edu, name: Ana Rivera }\n');
    const close = await cli('periods', 'close', '2025-01', '--root', repo);
    assert.equal(close.code, 0, close.stderr);
    await git.add('.').commit('close January');
    assert.equal((await cli('validate', '--root', repo)).code, 0);
    return { repo, git };
  }
  const invalid = async (repo: string, pattern: RegExp) => {
    const r = await cli('validate', '--root', repo);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, pattern);
  };

  it('stays as closed in a clone with Windows line endings (core.autocrlf=true), and its CRLF export byte for byte', async (t) => {
    const repo = await scratchRepo(t);
    const git = simpleGit(repo);
    assert.deepEqual(
      (await readFile(join(repo, '.gitattributes'), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#')),
      ['data/** -text', 'periods/** -text'],
      'init keeps git off the records',
    );
    const dir = await scratch(t);
    // Windows tools write CSV with CRLF; the notes here are written with LF.
    const crlf = (await readFile(await writeCsv(dir, 'jan.csv', [H, ['2025-01-01', '10', '12', 'USD', 'HPC', T]]), 'utf8')).replace(
      /\n/g,
      '\r\n',
    );
    await writeFile(join(dir, 'jan.csv'), crlf);
    assert.equal((await cli('ingest', join(dir, 'jan.csv'), '--source', 'HPC', '--root', repo)).code, 0);
    await mkdir(join(repo, 'periods/2025-01'), { recursive: true });
    await writeFile(join(repo, 'periods/2025-01/notes.mdx'), 'Rates held.\n\nThank you.\n');
    assert.equal((await cli('periods', 'close', '2025-01', '--root', repo)).code, 0);
    await git.add('.').commit('close January');
    const windowsClone = (name: string) => {
      const clone = join(dir, name);
      execFileSync('git', ['-c', 'core.autocrlf=true', 'clone', '-q', repo, clone]);
      execFileSync('git', ['-C', clone, 'config', 'core.autocrlf', 'true']);
      return clone;
    };
    const clone = windowsClone('windows');
    const v = await cli('validate', '--root', clone);
    assert.equal(v.code, 0, v.stderr);
    assert.doesNotMatch(v.stderr, /line endings/);
    assert.equal(await readFile(join(clone, 'data/2025-01/hpc.csv'), 'utf8'), crlf, 'the export as it came');
    assert.equal(await readFile(join(clone, 'periods/2025-01/notes.mdx'), 'utf8'), 'Rates held.\n\nThank you.\n');
    // Without the attributes (a repository made before them), the same clone converts the files.
    await git.rm('.gitattributes').commit('no attributes');
    const bare = windowsClone('windows-bare');
    const w = await cli('validate', '--root', bare);
    assert.equal(w.code, 1);
    assert.match(
      w.stderr,
      /warning: \.gitattributes: git here would change the line endings of files under data\/ and periods\/ \(core\.autocrlf is true\)/,
    );
    assert.match(w.stderr, /error: periods\/2025-01\/notes\.mdx: 2025-01 is closed, but its notes changed since/);
  });

  it('fails validate when a setting changes what its statements bill, naming the setting', async (t) => {
    const { repo } = await closed(t);
    const config = await readFile(join(repo, 'config.yaml'), 'utf8');
    await writeFile(join(repo, 'config.yaml'), config.replace('billing:\n', 'billing:\n  minor_units: { USD: 0 }\n'));
    await invalid(
      repo,
      /2025-01 is closed, but its statements \(amounts, attribution or numbers\) changed, with config\.yaml's billing settings since/,
    );
  });

  it("fails validate when its notes or its PIs' names change", async (t) => {
    const { repo } = await closed(t);
    await writeFile(join(repo, 'periods/2025-01/notes.mdx'), 'Rates change in February.\n');
    await invalid(repo, /periods\/2025-01\/notes\.mdx: 2025-01 is closed, but its notes were added since/);
    await rm(join(repo, 'periods/2025-01/notes.mdx'));
    await writeFile(join(repo, 'pis.yaml'), '- { email: a.rivera@example.edu, name: Ana R. Rivera }\n');
    await invalid(repo, /pis\.yaml: 2025-01 is closed, but the PI directory entries of its PIs changed since/);
  });

  it('lets settings change that leave its statements as issued (a new source)', async (t) => {
    const { repo } = await closed(t);
    const config = await readFile(join(repo, 'config.yaml'), 'utf8');
    await writeFile(
      join(repo, 'config.yaml'),
      config.replace('sources:\n', 'sources:\n  - name: Cryo-EM Microscope\n    slug: microscope\n'),
    );
    assert.equal((await cli('validate', '--root', repo)).code, 0);
  });

  it('fails validate, and shows in pr-summary, when reopened by hand or by removing period.yaml', async (t) => {
    const { repo, git } = await closed(t);
    await git.checkoutLocalBranch('reopen-by-hand');
    const path = join(repo, 'periods/2025-01/period.yaml');
    await writeFile(path, (await readFile(path, 'utf8')).replace('status: closed', 'status: open'));
    await invalid(repo, /period 2025-01 was closed, and its period\.yaml now says open with no reopening recorded/);
    const summary = await cli('pr-summary', '--base', 'main', '--root', repo);
    assert.match(summary.stdout, /\| 2025-01 \| ⚠️ set to open by hand, with no reopening recorded \|/);
    await rm(path);
    await git.add('.').commit('remove period.yaml');
    await invalid(repo, /periods\/2025-01\/period\.yaml: period\.yaml of closed period 2025-01 was removed/);
    const removed = await cli('pr-summary', '--base', 'main', '--root', repo);
    assert.match(removed.stdout, /\| 2025-01 \| ⚠️ period\.yaml removed: the closed period is open again with no reason recorded \|/);
    // The way to do it: reopen with a reason, shown as such.
    await git.checkout(['main', '--', 'periods/2025-01/period.yaml']);
    const reopen = await cli('periods', 'reopen', '2025-01', '--reason', 'late credit from AWS', '--root', repo);
    assert.equal(reopen.code, 0, reopen.stderr);
    assert.equal((await cli('validate', '--root', repo)).code, 0);
    assert.match(
      (await cli('pr-summary', '--base', 'main', '--root', repo)).stdout,
      /\| 2025-01 \| reopened by .* late credit from AWS \|/,
    );
  });

  it('cannot be closed while its statements cannot be generated', async (t) => {
    const repo = await scratchRepo(t);
    const dir = await scratch(t);
    const usd = await writeCsv(dir, 'usd.csv', [H, ['2025-01-01', '10', '10', 'USD', 'EC2', T]]);
    const eur = await writeCsv(dir, 'eur.csv', [H, ['2025-01-01', '10', '10', 'EUR', 'VM', T]]);
    assert.equal((await cli('ingest', usd, '--source', 'AWS', '--root', repo)).code, 0);
    assert.equal((await cli('ingest', eur, '--source', 'Azure', '--root', repo)).code, 0);
    const r = await cli('periods', 'close', '2025-01', '--root', repo);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /PI ann@uni\.edu, project genomics has charges in USD and EUR in 2025-01: a statement never adds two currencies/,
    );
    assert.equal(existsSync(join(repo, 'periods/2025-01/period.yaml')), false);
  });
});
