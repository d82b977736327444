/**
 * Incremental builds: a period's pages are rendered again only when something they show changed,
 * and pages reused from .cache/site/ are byte for byte what a cold build renders.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { it } from 'node:test';
import { cli, FOCUS_HEADER, scratchRepo, tags, writeCsv } from './helpers.ts';

const HEADER = FOCUS_HEADER;
const row = (period: string, cost: string, pi: string, project: string) => [
  `${period}-01`,
  `${period}-02`,
  'Usage',
  cost,
  cost,
  'Compute',
  `vm-${pi}`,
  tags({ pi_email: pi, project_id: project, fund_org: '123456-0001' }),
];

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name.endsWith('.html'))
      out.set(relative(dir, join(e.parentPath, e.name)), readFileSync(join(e.parentPath, e.name), 'utf8'));
  return out;
}

it('renders only the periods that changed, and reused pages equal a cold build', async (t) => {
  const root = await scratchRepo(t);
  const ingest = async (period: string, rows: string[][]) => {
    const file = await writeCsv(root, `aws-${period}.csv`, [HEADER, ...rows]);
    const r = await cli('ingest', file, '--source', 'AWS', '--root', root, '--replace');
    assert.equal(r.code, 0, r.stderr);
  };
  const build = async (out = 'dist') => {
    const r = await cli('build', '--no-pdf', '--out', join(root, out), '--date', '2025-05-01', '--json', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    return r.json();
  };
  await ingest('2025-01', [row('2025-01', '10.00', 'a@x.edu', 'p1'), row('2025-01', '5.00', 'b@x.edu', 'p2')]);
  await ingest('2025-02', [row('2025-02', '20.00', 'a@x.edu', 'p1')]);

  assert.deepEqual((await build()).rendered_periods, ['2025-01', '2025-02']);
  assert.deepEqual((await build()).rendered_periods, [], 'nothing changed: every page reused');

  // A new month renders that month alone; the earlier months' pages come from the cache.
  await ingest('2025-03', [row('2025-03', '30.00', 'b@x.edu', 'p2')]);
  assert.deepEqual((await build()).rendered_periods, ['2025-03']);

  // A change to January renders January and the months after it (their PI pages list earlier periods).
  await ingest('2025-01', [row('2025-01', '11.00', 'a@x.edu', 'p1'), row('2025-01', '5.00', 'b@x.edu', 'p2')]);
  assert.deepEqual((await build()).rendered_periods, ['2025-01', '2025-02', '2025-03']);

  // Notes are shown on the period's PI and statement pages: only their period renders again.
  await mkdir(join(root, 'periods', '2025-02'), { recursive: true });
  await writeFile(join(root, 'periods', '2025-02', 'notes.mdx'), 'A note for February.\n');
  assert.deepEqual((await build()).rendered_periods, ['2025-02']);

  // The incremental site equals a cold one, page for page.
  const warm = files(join(root, 'dist'));
  await rm(join(root, '.cache', 'site'), { recursive: true, force: true });
  const cold = await build('dist-cold');
  assert.deepEqual(cold.rendered_periods, ['2025-01', '2025-02', '2025-03']);
  const fresh = files(join(root, 'dist-cold'));
  assert.deepEqual([...warm.keys()].sort(), [...fresh.keys()].sort());
  for (const [path, html] of fresh) assert.ok(warm.get(path) === html, `${path} differs from a cold build's`);
  assert.match(warm.get('periods/2025-02/pi/a-0d6a66/index.html') ?? '', /A note for February/);
});

it('carries credit balances through reused periods, and a change to an earlier month moves the later ones', async (t) => {
  const root = await scratchRepo(t);
  await writeFile(
    join(root, 'credits.yaml'),
    'credits:\n  - id: start-up\n    description: Start-up credit\n    amount: "100.00"\n    pis: [a@x.edu]\n    start: 2025-01\n',
  );
  const ingest = async (period: string, cost: string) => {
    const file = await writeCsv(root, `aws-${period}.csv`, [HEADER, row(period, cost, 'a@x.edu', 'p1')]);
    const r = await cli('ingest', file, '--source', 'AWS', '--root', root, '--replace');
    assert.equal(r.code, 0, r.stderr);
  };
  const build = async (out = 'dist') => {
    const r = await cli('build', '--no-pdf', '--out', join(root, out), '--date', '2025-05-01', '--json', '--root', root);
    assert.equal(r.code, 0, r.stderr);
    const json = r.json() as { rendered_periods: string[]; totals: { period: string; amount_due: string }[] };
    return { rendered: json.rendered_periods, due: Object.fromEntries(json.totals.map((x) => [x.period, x.amount_due])) };
  };
  await ingest('2025-01', '60.00');
  await ingest('2025-02', '30.00');
  assert.deepEqual(await build(), { rendered: ['2025-01', '2025-02'], due: { '2025-01': '$0.00', '2025-02': '$0.00' } });

  // March opens with what January and February left of the credit (10.00), though neither is read again.
  await ingest('2025-03', '50.00');
  assert.deepEqual(await build(), { rendered: ['2025-03'], due: { '2025-01': '$0.00', '2025-02': '$0.00', '2025-03': '$40.00' } });
  const march = files(join(root, 'dist'));
  const page = [...march].find(([path]) => path.startsWith('periods/2025-03/statements/'))?.[1] ?? '';
  assert.match(page, /\$40\.00/);

  // January uses more of the credit: February and March, whose balances it carries, are built again.
  await ingest('2025-01', '70.00');
  assert.deepEqual(await build(), {
    rendered: ['2025-01', '2025-02', '2025-03'],
    due: { '2025-01': '$0.00', '2025-02': '$0.00', '2025-03': '$50.00' },
  });

  // A folder of its own (no earlier site to carry periods from): every period linked from the cache, the same pages.
  assert.deepEqual((await build('dist-2')).rendered, []);
  const [a, b] = [files(join(root, 'dist')), files(join(root, 'dist-2'))];
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [path, html] of a) assert.ok(b.get(path) === html, `${path} differs`);
});
