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
