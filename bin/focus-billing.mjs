#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so a fresh clone works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
// For the benchmark: peak memory of this process, in kB.
if (process.env.OCB_REPORT_MAXRSS) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(process.env.OCB_REPORT_MAXRSS, String(process.resourceUsage().maxRSS));
}
