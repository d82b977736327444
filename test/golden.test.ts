/**
 * A golden build: the small billing repository in test/fixtures/golden (one statement of each
 * kind: fully subsidised, credits, flagged and excluded, another currency) is built, and its
 * statements JSON and statement pages are compared with test/fixtures/golden/expected/. The
 * amounts there were checked by hand (see the comments below). After a deliberate change to what
 * statements show, regenerate with `UPDATE_GOLDEN=1 npm test` and review the diff.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleGit } from 'simple-git';
import { cli, PROJECT, removeDir, tempDir } from './helpers.ts';

const FIXTURE = join(PROJECT, 'test', 'fixtures', 'golden');
const EXPECTED = join(FIXTURE, 'expected');
const update = Boolean(process.env.UPDATE_GOLDEN);

let repo: string;
let statements: { number: string; pi_email: string; project_id: string; amount_due: string; list: string; currency: string }[];

async function golden(name: string, actual: string): Promise<void> {
  const path = join(EXPECTED, name);
  if (update) {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, actual);
  }
  assert.equal(
    actual,
    await readFile(path, 'utf8'),
    `${name} differs from test/fixtures/golden/expected (UPDATE_GOLDEN=1 to accept a deliberate change)`,
  );
}

/** The statement article of a built page, one attribute per line being Astro's own, as printed. */
const article = (html: string) => {
  const start = html.indexOf('<article class="statement"');
  return `${html.slice(start, html.indexOf('</article>', start) + '</article>'.length).replace(/></g, '>\n<')}\n`;
};

describe('golden build', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
    repo = join(dir, 'golden');
    await cp(FIXTURE, repo, { recursive: true, filter: (src) => !src.startsWith(EXPECTED) });
    const git = simpleGit(repo);
    await git.init(['-b', 'main']);
    await git.addConfig('user.email', 'billing@golden.edu').addConfig('user.name', 'Billing');
    await git.add('.').commit('golden');
  });
  after(() => removeDir(dir));

  it('is a valid repository: every flag matches its charge, nothing pending but one excluded charge', async () => {
    const r = await cli('validate', '--root', repo, '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(r.json().periods, [{ period: '2025-03', status: 'open', pending: 1 }]);
  });

  it('gives the statements and reconciliation expected, to the cent', async () => {
    const r = await cli('generate', '--period', '2025-03', '--dry-run', '--json', '--root', repo);
    assert.equal(r.code, 0, r.stderr);
    statements = r.json().statements;
    // Checked by hand: web-portal 40.005 + 7.25 (assigned) → EC2 47.26, S3 12.50, credit −25.00 = 34.76;
    // ml-lab 99.99 (GPU, approved); lattice-qcd 100% subsidised, list 312.00 + 88.40; EUR 17.6543 → 17.65.
    assert.deepEqual(
      statements.map((s) => [s.pi_email, s.project_id, s.currency, s.list, s.amount_due]),
      [
        ['credits@golden.edu', 'ml-lab', 'USD', '120.00', '99.99'],
        ['credits@golden.edu', 'web-portal', 'USD', '44.75', '34.76'],
        ['euro@golden.edu', 'eu-project', 'EUR', '20.00', '17.65'],
        ['subsidised@golden.edu', 'lattice-qcd', 'USD', '400.40', '0.00'],
      ],
    );
    // Excluded: 3.33 rejected + 1.11 pending; the input 139.185 rounds to the statements' 134.75 plus 4.44.
    const usd = r.json().reconciliation.find((c: { currency: string }) => c.currency === 'USD');
    assert.deepEqual(
      [usd.input, usd.statements, usd.excluded_rejected, usd.excluded_pending, usd.rounding_residue],
      ['139.185000000000000000', '134.75', '3.330000000000000000', '1.110000000000000000', '-0.005000000000000000'],
    );
    await golden('statements.json', `${JSON.stringify(r.json(), null, 2)}\n`);
  });

  it('builds statement pages as expected', async () => {
    const r = await cli('build', '--no-pdf', '--date', '2025-04-01', '--root', repo);
    assert.equal(r.code, 0, r.stderr);
    for (const s of statements) {
      const html = await readFile(join(repo, 'dist/periods/2025-03/statements', s.number, 'index.html'), 'utf8');
      await golden(`statements/${s.number}.html`, article(html));
    }
  });
});
