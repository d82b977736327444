/**
 * The process around the CLI: runs `main`, sets the exit code, and stops quietly when a reader
 * closes the pipe (`focus-billing periods list | head -1`). `bin/focus-billing.mjs` runs the
 * compiled copy of this file (build/cli/bin.js); tests run it from the sources through tsx.
 */
import { writeFileSync } from 'node:fs';
import { main } from './main.ts';

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv);
// For the benchmark: peak memory of this process, in kB.
if (process.env.OCB_REPORT_MAXRSS) writeFileSync(process.env.OCB_REPORT_MAXRSS, String(process.resourceUsage().maxRSS));
