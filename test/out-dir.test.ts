/**
 * Swapping a built site into `--out`: the new site replaces the old in two renames, kept
 * periods' folders move over from the old site, and the old site is removed (a large one by a
 * process of its own, after `build` returns), never anything beside it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSiteMarker, SITE_MARKER, type SiteMarker, swapInto } from '../src/site/out-dir.ts';
import { scratch } from './helpers.ts';

const marker = (pages: number, periods: Record<string, string> = {}): SiteMarker => ({
  audience: 'admin',
  pages: String(pages),
  pdf: false,
  periods,
});

/** A site folder holding `files` (path → text) and the marker of a site of `pages` pages. */
async function site(dir: string, pages: number, files: Record<string, string>): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  await writeFile(join(dir, SITE_MARKER), `${JSON.stringify({ generator: 'openchargeback', ...marker(pages) })}\n`);
  return dir;
}

const trash = (root: string) => join(root, '.cache', 'trash');
const trashEntries = async (root: string) => (await readdir(trash(root)).catch(() => [] as string[])).sort();

describe('swapping a site into --out', () => {
  it('replaces a small old site and removes it before returning, leaving its neighbours alone', async (t) => {
    const root = await scratch(t);
    const out = await site(join(root, 'dist'), 3, { 'index.html': 'old', 'periods/2025-01/index.html': 'old january' });
    await writeFile(join(root, 'dist-notes.txt'), 'mine');
    const staging = await site(join(root, 'dist.staging'), 2, { 'index.html': 'new' });
    await swapInto(root, staging, out, marker(2, { '2025-02': 'k2' }));
    assert.equal(await readFile(join(out, 'index.html'), 'utf8'), 'new');
    assert.equal(existsSync(join(out, 'periods', '2025-01')), false, 'the old site is gone from --out');
    assert.equal(existsSync(staging), false, 'the staging folder became --out');
    assert.deepEqual(await trashEntries(root), [], 'removed before swapInto returned');
    assert.equal(await readFile(join(root, 'dist-notes.txt'), 'utf8'), 'mine');
    assert.deepEqual((await readSiteMarker(out))?.periods, { '2025-02': 'k2' });
  });

  it('moves kept periods over from the old site, and a large old site is removed after it returns', async (t) => {
    const root = await scratch(t);
    const out = await site(join(root, 'dist'), 60_000, {
      'index.html': 'old',
      'periods/2025-01/index.html': 'kept january',
      'periods/2025-01/p/a.html': 'kept page',
      'periods/2025-02/index.html': 'stale february',
    });
    const staging = await site(join(root, 'dist.staging'), 3, { 'index.html': 'new', 'periods/2025-02/index.html': 'new february' });
    await swapInto(root, staging, out, marker(3), ['periods/2025-01']);
    // The new site is in place at once: kept January moved over, February rebuilt.
    assert.equal(await readFile(join(out, 'index.html'), 'utf8'), 'new');
    assert.equal(await readFile(join(out, 'periods', '2025-01', 'p', 'a.html'), 'utf8'), 'kept page');
    assert.equal(await readFile(join(out, 'periods', '2025-02', 'index.html'), 'utf8'), 'new february');
    // The old site waits in .cache/trash (git ignores .cache) until its own process removes it.
    const waited = await trashEntries(root);
    for (let i = 0; i < 200 && (await trashEntries(root)).length > 0; i++) await sleep(100);
    assert.deepEqual(await trashEntries(root), [], `the old site (${waited.join(', ') || 'already gone'}) was removed within 20 s`);
    assert.equal(await readFile(join(out, 'periods', '2025-01', 'index.html'), 'utf8'), 'kept january');
  });

  it('puts moved folders back, and leaves --out as it was, when a kept folder cannot be moved', async (t) => {
    const root = await scratch(t);
    const out = await site(join(root, 'dist'), 3, { 'index.html': 'old', 'periods/2025-01/index.html': 'january' });
    const staging = await site(join(root, 'dist.staging'), 3, { 'index.html': 'new' });
    await assert.rejects(swapInto(root, staging, out, marker(3), ['periods/2025-01', 'periods/2025-02']), /ENOENT/);
    assert.equal(await readFile(join(out, 'index.html'), 'utf8'), 'old');
    assert.equal(await readFile(join(out, 'periods', '2025-01', 'index.html'), 'utf8'), 'january');
    assert.equal(existsSync(join(staging, 'periods', '2025-01')), false);
  });
});
