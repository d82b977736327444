/** `focus-billing init [dir]`: create a billing repository. */
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CheckRepoActions, simpleGit } from 'simple-git';
import { CONFIG_FILE } from '../../config/load.ts';
import { CONFIG_TEMPLATE } from '../../config/template.ts';
import { UserError } from '../../core/errors.ts';
import { makeDir } from '../../core/make-dir.ts';
import { dataInLfs } from '../../ingest/ingest.ts';
import { writeExactAttributes } from '../../repo/line-endings.ts';
import { jsonSchema, SCHEMA_NAMES } from '../json-schemas.ts';
import { type Io, printJson, shellWord } from '../output.ts';

const GITIGNORE = `node_modules/
dist/
dist-pi/
out/
.astro/
*.tmp
.cache/
`;

export function registerInit(program: Command, io: Io): void {
  program
    .command('init')
    .description('create a billing repository: config.yaml with commented defaults, data/, periods/, .gitignore, and git init')
    .argument('[dir]', 'folder to set up (created if missing)', '.')
    .option(
      '--lfs',
      'keep data/ in Git LFS (writes .gitattributes; for months whose files exceed what git hosts take); also in an existing repository',
    )
    .option('--json', 'print what was created as JSON')
    .action(async (dir: string, opts: { json?: boolean; lfs?: boolean }) => {
      const root = resolve(dir);
      const created: string[] = [];
      const existing = await stat(root).catch(() => null);
      if (existing && !existing.isDirectory())
        throw new UserError(`${dir} is a file: a billing repository is a folder`, { hint: 'name a new or existing folder' });
      await makeDir(root);
      const writeIfMissing = async (rel: string, content: string) => {
        const path = join(root, rel);
        if (
          await access(path).then(
            () => true,
            () => false,
          )
        )
          return;
        await writeFile(path, content);
        created.push(rel);
      };
      for (const d of ['data', 'periods']) {
        await makeDir(join(root, d));
        await writeIfMissing(`${d}/.gitkeep`, '');
      }
      await writeIfMissing(CONFIG_FILE, CONFIG_TEMPLATE);
      // JSON Schemas, so editors check hand edits of config.yaml and flags.yaml.
      await makeDir(join(root, 'schemas'));
      for (const name of SCHEMA_NAMES) await writeIfMissing(`schemas/${name}`, jsonSchema(name));
      await writeIfMissing('.gitignore', GITIGNORE);
      const git = simpleGit(root);
      let gitInit = false;
      // Its own repository, even inside another one's work tree (a billing repo is its own history).
      if (!(await git.checkIsRepo(CheckRepoActions.IS_REPO_ROOT).catch(() => false))) {
        await git.init(['-b', 'main']);
        gitInit = true;
      }
      // Exports and closed periods are kept byte for byte: no line-ending conversion (Windows' core.autocrlf).
      if ((await writeExactAttributes(root)).created) created.push('.gitattributes');
      let lfs: { gitattributes: boolean; installed: boolean } | null = null;
      if (opts.lfs) lfs = await enableLfs(root, created);
      if (opts.json) {
        printJson(io, { root, created, git_init: gitInit, ...(lfs ? { lfs } : {}) });
        return;
      }
      // An existing .gitattributes that --lfs added its line to is changed, not created: say so.
      const updated = lfs?.gitattributes && !created.includes('.gitattributes') ? ['.gitattributes (data/ in Git LFS)'] : [];
      const list = (title: string, paths: string[]) => (paths.length ? [`${title} in ${root}:`, ...paths.map((p) => `  ${p}`)] : []);
      const done = [...list('Created', created), ...list('Updated', updated)];
      io.out(done.length ? done.join('\n') : `${root} is already set up; nothing to create.`);
      if (gitInit)
        io.out(
          'Initialised a git repository (branch main). Set up config.yaml, then commit it all (git add -A && git commit -m "Billing repository"): the app and ingest --commit open their branches from it.',
        );
      if (lfs)
        io.out(
          lfs.installed
            ? 'data/ is kept in Git LFS (.gitattributes; git lfs install --local done). Commit .gitattributes before ingesting.'
            : 'data/ is marked for Git LFS in .gitattributes, but git-lfs is not installed here: install it (apt-get install git-lfs), then run git lfs install.',
        );
      io.out(`\nNext: focus-billing ingest <export.csv> --source AWS --root ${shellWord(dir)}`);
    });
}

/** The line of .gitattributes that keeps data/ in Git LFS. */
export const LFS_ATTRIBUTES = 'data/** filter=lfs diff=lfs merge=lfs -text';

/** Adds the LFS line to .gitattributes (kept as it is otherwise) and, where git-lfs is installed, its hooks. */
async function enableLfs(root: string, created: string[]): Promise<{ gitattributes: boolean; installed: boolean }> {
  const path = join(root, '.gitattributes');
  const text = await readFile(path, 'utf8').catch(() => null);
  let changed = false;
  if (!(await dataInLfs(root))) {
    await writeFile(
      path,
      `${text ?? ''}${text && !text.endsWith('\n') ? '\n' : ''}# Exports too large for a git host, in Git LFS (focus-billing init --lfs)\n${LFS_ATTRIBUTES}\n`,
    );
    if (text === null) created.push('.gitattributes');
    changed = true;
  }
  const installed = await simpleGit(root)
    .raw(['lfs', 'install', '--local'])
    .then(
      () => true,
      () => false,
    );
  return { gitattributes: changed, installed };
}
