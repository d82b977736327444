/** The real `focus-billing` binary in a child process: the quick start a user types. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { makeRepo, PROJECT, removeDir, SAMPLE } from './helpers.ts';

const run = promisify(execFile);
const BIN = join(PROJECT, 'bin', 'focus-billing.mjs');
let repo: string;

async function focusBilling(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: repo, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

before(async () => {
  repo = await makeRepo();
  await cp(SAMPLE, join(repo, 'sample_data'), { recursive: true });
});
after(() => removeDir(repo));

describe('focus-billing (child process)', () => {
  it('runs the quick start: ingest, ingest, periods list, generate --dry-run', async () => {
    const aws = await focusBilling('ingest', 'sample_data/aws_2025-01.csv', '--source', 'AWS');
    assert.equal(aws.code, 0, aws.stderr);
    assert.match(
      aws.stdout,
      /^Ingested sample_data\/aws_2025-01\.csv as AWS for 2025-01 → data\/2025-01\/aws\.csv\n {2}rows {6}1,212\n {2}billed {4}\$29,395\.97 USD/,
    );
    const hpc = await focusBilling('ingest', 'sample_data/hpc_2025-01.csv', '--source', 'HPC');
    assert.equal(hpc.code, 0, hpc.stderr);
    const list = await focusBilling('periods', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /2025-01\s+open\s+aws, hpc\s+1,632\s+\$183,959\.39 USD\s+\$95,944\.61 USD\s+10\s+0\s+0/);
    const gen = await focusBilling('generate', '--period', '2025-01', '--dry-run');
    assert.equal(gen.code, 0, gen.stderr);
    assert.match(gen.stdout, /^\d+ statements for 2025-01/);
    assert.match(gen.stdout, /a\.rivera@example\.edu\s+cell-imaging\s+100100-1011/);
  });

  it('prints help for every command and exits 2 on a usage error', async () => {
    const help = await focusBilling('ingest', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--replace\s+replace a different export/);
    const bad = await focusBilling('ingest', 'x.csv');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /required option '--source <name>' not specified/);
  });

  it('prints --json errors on stdout for scripts, and never a stack trace', async () => {
    const r = await focusBilling('periods', 'show', '2031-01', '--json');
    assert.equal(r.code, 2);
    assert.deepEqual(JSON.parse(r.stdout), { error: 'no data for period 2031-01', hint: 'periods with data: 2025-01', exit_code: 2 });
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
