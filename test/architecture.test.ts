/** The architecture check `npm run lint` runs (dependency-cruiser): it passes on src/ and fails on a cycle. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT, removeDir, tempDir } from './helpers.ts';

const depcruise = (cwd: string) =>
  spawnSync(
    process.execPath,
    [
      join(PROJECT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
      'src',
      '--config',
      join(PROJECT, '.dependency-cruiser.cjs'),
    ],
    {
      cwd,
      encoding: 'utf8',
    },
  );

describe('architecture', () => {
  it('src/ has no cycles between folders or files, and src/domain imports nothing else', () => {
    const r = depcruise(PROJECT);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
  it('the check fails when two folders import each other, and when src/domain reaches out', async (t) => {
    const dir = await tempDir();
    t.after(() => removeDir(dir));
    await copyFile(join(PROJECT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
    for (const d of ['flags', 'periods', 'domain']) await mkdir(join(dir, 'src', d), { recursive: true });
    await writeFile(join(dir, 'src/flags/review.ts'), "import { x } from '../periods/close.ts';\nexport const y = x;\n");
    await writeFile(join(dir, 'src/periods/close.ts'), "import { z } from '../flags/file.ts';\nexport const x = z;\n");
    await writeFile(join(dir, 'src/flags/file.ts'), 'export const z = 1;\n');
    await writeFile(join(dir, 'src/domain/rules.ts'), "import { z } from '../flags/file.ts';\nexport const r = z;\n");
    const r = depcruise(dir);
    assert.notEqual(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /error no-folder-cycles: src\/flags → \s+src\/periods →\s+src\/flags/);
    assert.match(r.stdout, /error domain-is-dependency-free: src\/domain\/rules\.ts → src\/flags\/file\.ts/);
  });
});

describe('start-up', () => {
  it('loads neither Playwright nor pdf-lib until PDFs are printed (they cost most of a second)', () => {
    // playwright-core and pdf-lib are CommonJS: whatever loaded them is in the require cache.
    const script = `await import(${JSON.stringify(join(PROJECT, 'src/cli/main.ts'))});
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ heavy: loaded.filter((k) => /[\\\\/](playwright-core|pdf-lib)[\\\\/]/.test(k)), count: loaded.length }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PROJECT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { heavy, count } = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    assert.ok(count > 50, `${count} CommonJS modules loaded: the check sees the CLI's dependencies`);
    assert.deepEqual(heavy, []);
  });
});
