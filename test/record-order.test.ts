/**
 * A row's record number is its place in the file however the file is read: DuckDB reads a file
 * of more than one 4 MB piece on several threads, and keeps the rows' order only where the query
 * has no join. A test of the charge period's hours once ran as one (an IN over a relation), and
 * held rows got the lines of others, in flags.yaml and in the staff app's charge browser, when
 * a month was ingested with --period. Here every held row's line and record hold that row.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { loadConfigLocated } from '../src/config/load.ts';
import { withDatabase } from '../src/db/duckdb.ts';
import { readFlags } from '../src/flags/file.ts';
import { chargeDetail, chargePage } from '../src/web/charges.ts';
import { cli, FOCUS_HEADER, focusRow, scratch, scratchRepo, tags, writeCsv } from './helpers.ts';

describe('record numbers of a file read in pieces', () => {
  it('flags, lines and the charge browser name the rows they are about', async (t) => {
    const root = await scratchRepo(t);
    const dir = await scratch(t);
    const clean = (i: number) => tags({ pi_email: `pi${i % 7}@example.edu`, project_id: `p${i % 7}`, fund_org: '123456-1001' });
    const rows: string[][] = [];
    // Some 9 MB: three pieces for the CSV reader. Rows of different lengths, a few held for their tags.
    for (let i = 0; i < 24_000; i++) {
      const held = i % 2_011 === 17;
      const resource = `node-${i}-${'r'.repeat(i % 250)}`;
      rows.push(focusRow(1 + (i % 28), 'Usage', `${i % 90}.${i % 10}5`, resource, held ? tags({ pi_email: 'pi1@example.edu' }) : clean(i)));
    }
    const path = await writeCsv(dir, 'aws.csv', [FOCUS_HEADER, ...rows]);
    const lines = (await readFile(path, 'utf8')).split('\n');
    const r = await cli('ingest', path, '--source', 'AWS', '--period', '2025-03', '--root', root, '--json');
    assert.equal(r.code, 0, r.stderr);

    const flags = (await readFlags(root, '2025-03')).flags;
    const heldResources = rows.filter((_, i) => i % 2_011 === 17).map((row) => row[6]);
    assert.equal(flags.length, heldResources.length);
    for (const flag of flags) {
      const onLine = lines[flag.line - 1]?.split(',')[6];
      assert.equal(onLine, flag.charge.resource, `flag ${flag.id}: its line ${flag.line} holds its row`);
    }
    assert.deepEqual(
      flags.map((f) => f.line),
      rows.flatMap((_, i) => (i % 2_011 === 17 ? [i + 2] : [])),
    );

    const config = (await loadConfigLocated(root)).data;
    await withDatabase(async (db) => {
      const page = await chargePage(db, root, config, '2025-03', flags, { status: 'pending', limit: 500 });
      assert.deepEqual(
        page.rows.map((c) => [c.record, c.resource, c.flag_id]),
        flags.map((f) => [f.line - 1, f.charge.resource, f.id]),
        'each held charge, at its record, with its own flag',
      );
      const late = page.rows.at(-1);
      assert.ok(late);
      const detail = await chargeDetail(db, root, config, '2025-03', flags, { file: late.file, record: late.record });
      assert.equal(detail.columns.find((c) => c.name === 'ResourceName')?.value, late.resource);
      assert.equal(detail.flag?.id, late.flag_id);
      assert.equal(detail.line, late.record + 1);
    });
  });
});
