#!/usr/bin/env node
// The `focus-billing` command: the CLI compiled at `npm ci` (bin/cli-bundle.mjs). There is one
// way to run it; a missing or out-of-date build is refused with the command that makes it.
import { relative, resolve } from 'node:path';
import { compiledCli } from './cli-bundle.mjs';

const cli = compiledCli();
if (cli.problem) {
  const project = relative(process.cwd(), resolve(import.meta.dirname, '..')) || '.';
  process.stderr.write(`error: ${cli.problem}\n  hint: run \`npm run build:cli\` in ${project} (npm ci does it too)\n`);
  process.exit(1);
}
if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true);
await import(cli.url);
