/** `focus-billing init [dir]`: create a billing repository. */
import { access, mkdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CheckRepoActions, simpleGit } from 'simple-git';
import { CONFIG_FILE } from '../../config/load.ts';
import { CONFIG_TEMPLATE } from '../../config/template.ts';
import { UserError } from '../../core/errors.ts';
import { jsonSchema, SCHEMA_NAMES } from '../json-schemas.ts';
import { type Io, printJson } from '../output.ts';

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
    .option('--json', 'print what was created as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const root = resolve(dir);
      const created: string[] = [];
      const existing = await stat(root).catch(() => null);
      if (existing && !existing.isDirectory())
        throw new UserError(`${dir} is a file: a billing repository is a folder`, { hint: 'name a new or existing folder' });
      await mkdir(root, { recursive: true });
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
        await mkdir(join(root, d), { recursive: true });
        await writeIfMissing(`${d}/.gitkeep`, '');
      }
      await writeIfMissing(CONFIG_FILE, CONFIG_TEMPLATE);
      // JSON Schemas, so editors check hand edits of config.yaml and flags.yaml.
      await mkdir(join(root, 'schemas'), { recursive: true });
      for (const name of SCHEMA_NAMES) await writeIfMissing(`schemas/${name}`, jsonSchema(name));
      await writeIfMissing('.gitignore', GITIGNORE);
      const git = simpleGit(root);
      let gitInit = false;
      // Its own repository, even inside another one's work tree (a billing repo is its own history).
      if (!(await git.checkIsRepo(CheckRepoActions.IS_REPO_ROOT).catch(() => false))) {
        await git.init(['-b', 'main']);
        gitInit = true;
      }
      if (opts.json) {
        printJson(io, { root, created, git_init: gitInit });
        return;
      }
      io.out(
        created.length
          ? `Created in ${root}:\n${created.map((c) => `  ${c}`).join('\n')}`
          : `${root} is already set up; nothing to create.`,
      );
      if (gitInit) io.out('Initialised a git repository (branch main).');
      io.out(`\nNext: focus-billing ingest <export.csv> --source AWS --root ${dir}`);
    });
}
