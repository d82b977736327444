/**
 * The source guides (docs/sources/*.md) run as written, so they cannot drift from the code:
 * - every ```sh block runs, in order, in a fresh billing repository holding docs/sources/examples/,
 *   with `focus-billing` on the PATH; it must succeed, and a ```text block right after it is its
 *   exact output (standard output and error, as a terminal shows them);
 * - every ```yaml block named rates.yaml or accounts.yaml is checked by its schema, and one named
 *   config.yaml is merged into the repository's config.yaml (lists by name) and loaded;
 * - ```console and ```powershell blocks (commands on the source systems) are not run, but the
 *   sacct command is checked against the columns the converter reads and an exclusive month end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import { loadAccounts } from '../src/convert/accounts.ts';
import { SACCT_FIELDS } from '../src/convert/slurm.ts';
import { parseRates } from '../src/rates/rates.ts';
import { cli, PROJECT, SOURCE_CLI, scratch } from './helpers.ts';

const GUIDES = join(PROJECT, 'docs', 'sources');
const EXAMPLES = join(GUIDES, 'examples');

interface Block {
  lang: string;
  meta: string;
  body: string;
  line: number;
}

/** The fenced code blocks of a Markdown file, in order. */
function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] as string);
    assert.ok(i < lines.length, `a code block opened at line ${start + 1} is never closed`);
    out.push({ lang: open[1] as string, meta: (open[2] ?? '').trim(), body: `${body.join('\n')}\n`, line: start + 1 });
  }
  return out;
}

/** config.yaml with a guide's fragment merged in: lists of named items by name, other values replaced. */
function mergeConfig(config: string, fragment: string): string {
  const doc = parseDocument(config);
  const add = parseDocument(fragment).toJS() as Record<string, unknown>;
  for (const [key, value] of Object.entries(add)) {
    const current = doc.get(key, true);
    if (Array.isArray(value) && current && typeof (current as { toJSON?: unknown }).toJSON === 'function') {
      const list = (doc.toJS() as Record<string, unknown>)[key] as { name?: string }[];
      const merged = [...list];
      for (const item of value as { name?: string }[]) {
        const at = merged.findIndex((x) => x.name !== undefined && x.name === item.name);
        if (at >= 0) merged[at] = item;
        else merged.push(item);
      }
      doc.set(key, merged);
    } else doc.set(key, value);
  }
  return doc.toString();
}

async function guideRepo(t: Parameters<typeof scratch>[0]): Promise<{ root: string; env: NodeJS.ProcessEnv }> {
  const root = await scratch(t, 'ocb-guide-');
  const init = await cli('init', root);
  assert.equal(init.code, 0, init.stderr);
  await cp(EXAMPLES, root, { recursive: true });
  // `focus-billing` as the guides call it: this checkout's CLI.
  const bin = await scratch(t, 'ocb-guide-bin-');
  const shim = join(bin, 'focus-billing');
  await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" ${SOURCE_CLI.map((a) => `'${a}'`).join(' ')} "$@"\n`);
  await chmod(shim, 0o755);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, TZ: 'UTC', LC_ALL: 'C.UTF-8', NO_COLOR: '1', FORCE_COLOR: '0' };
  return { root, env };
}

const HAS_JQ = spawnSync('jq', ['--version']).status === 0;
const guides = (await readdir(GUIDES)).filter((f) => f.endsWith('.md')).sort();

describe('the source guides run as written', () => {
  it('cover Slurm, storage, local VMs and the template for a new source', () => {
    assert.deepEqual(guides, ['TEMPLATE.md', 'local-vms.md', 'slurm.md', 'storage.md']);
  });

  for (const guide of guides) {
    it(`${guide}: every command runs and prints what the guide shows, every file example is valid`, async (t) => {
      const text = await readFile(join(GUIDES, guide), 'utf8');
      const all = blocks(text);
      if (!HAS_JQ && all.some((b) => b.lang === 'sh' && /\bjq\b/.test(b.body))) {
        t.skip('its examples use jq, which is not installed (apt-get install jq)');
        return;
      }
      const { root, env } = await guideRepo(t);
      let ran = 0;
      for (const [i, b] of all.entries()) {
        const where = `${guide}:${b.line}`;
        if (b.lang === 'sh') {
          const r = spawnSync('bash', ['-eo', 'pipefail', '-c', `exec 2>&1\n${b.body}`], { cwd: root, env, encoding: 'utf8' });
          assert.equal(r.status, 0, `${where}: the commands failed:\n${b.body}\n${r.stdout}`);
          const next = all[i + 1];
          if (next?.lang === 'text') assert.equal(r.stdout, next.body, `${where}: the output differs from the guide's (line ${next.line})`);
          ran++;
        } else if (b.lang === 'yaml' && b.meta === 'rates.yaml') {
          assert.doesNotThrow(() => parseRates(b.body, where), `${where}: not a valid rates.yaml`);
        } else if (b.lang === 'yaml' && b.meta === 'accounts.yaml') {
          const file = join(root, `.guide-accounts-${b.line}.yaml`);
          await writeFile(file, b.body);
          await assert.doesNotReject(loadAccounts(file, where, true), `${where}: not a valid accounts.yaml`);
        } else if (b.lang === 'yaml' && b.meta === 'config.yaml') {
          const path = join(root, 'config.yaml');
          await writeFile(path, mergeConfig(await readFile(path, 'utf8'), b.body));
          await assert.doesNotReject(loadConfig(root), `${where}: config.yaml does not load with this fragment`);
        } else if (b.lang === 'yaml') {
          assert.fail(`${where}: a yaml block names the file it belongs in (\`\`\`yaml rates.yaml, accounts.yaml or config.yaml)`);
        } else {
          assert.ok(['text', 'console', 'powershell'].includes(b.lang), `${where}: unknown block language ${b.lang}`);
        }
      }
      assert.ok(ran > 0, `${guide} has no runnable example`);
    });
  }

  it('take sacct with the columns the converter reads and an exclusive month end, as `convert slurm --help` says', async () => {
    const text = await readFile(join(GUIDES, 'slurm.md'), 'utf8');
    const help = await cli('convert', 'slurm', '--help');
    const commands = [...blocks(text).filter((b) => b.lang === 'console'), { body: help.stdout, line: 0 }]
      .map((b) => b.body.replace(/\\\n\s*/g, ''))
      .filter((c) => c.includes('sacct '));
    assert.equal(commands.length, 2);
    for (const c of commands) {
      assert.match(c, new RegExp(`--format=${SACCT_FIELDS.join(',')}\\b`));
      assert.match(c, /--allusers --allocations --parsable2/);
      const [, start, end] = /--starttime (\S+) --endtime (\S+)/.exec(c) ?? [];
      // The first day of the month and the first day of the next: the end is exclusive.
      assert.match(start ?? '', /^\d{4}-\d{2}-01$/);
      const next = new Date(`${start}T00:00:00Z`);
      next.setUTCMonth(next.getUTCMonth() + 1);
      assert.equal(end, next.toISOString().slice(0, 10));
    }
  });

  it('use every example input, so none is left to rot', async () => {
    const text = (await Promise.all(guides.map((g) => readFile(join(GUIDES, g), 'utf8')))).join('\n');
    for (const file of await readdir(EXAMPLES)) assert.ok(text.includes(file), `docs/sources/examples/${file} is in no guide`);
  });
});
