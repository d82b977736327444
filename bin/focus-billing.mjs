#!/usr/bin/env node
// The `focus-billing` command. Runs the prebuilt bundle when it matches the sources (see
// cli-bundle.mjs), else the TypeScript itself through tsx: a fresh clone works either way.
import { freshBundle } from './cli-bundle.mjs';

async function loadMain() {
  const bundle = process.env.OCB_NO_BUNDLE ? null : freshBundle();
  if (bundle) {
    try {
      if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true);
      return (await import(bundle)).main;
    } catch {
      // A damaged bundle (say, a chunk deleted by hand): the sources still run.
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return (await import('../src/cli/main.ts')).main;
}

// A reader that stops early (`focus-billing periods list | head -1`) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const main = await loadMain();
process.exitCode = await main(process.argv);
// For the benchmark: peak memory of this process, in kB.
if (process.env.OCB_REPORT_MAXRSS) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(process.env.OCB_REPORT_MAXRSS, String(process.resourceUsage().maxRSS));
}
