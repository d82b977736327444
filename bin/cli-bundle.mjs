/**
 * The CLI compiled to JavaScript once (esbuild), at `npm ci` (the `prepare` script): commands
 * start in about a third of a second, and every run executes the same compiled code. The build
 * records the size and modification time of each source file it was compiled from, so that a
 * copy older than the sources is refused with the command that rebuilds it, never run silently.
 *
 *   node bin/cli-bundle.mjs      # (re)build build/cli/   (npm run build:cli)
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const MANIFEST = 'manifest.json';
const outDir = (root) => join(root, 'build', 'cli');

/**
 * The compiled CLI's entry: `{ url }` when it matches the sources, else `{ problem }` saying what
 * is missing or which source changed since it was built.
 */
export function compiledCli(root = ROOT) {
  const out = outDir(root);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(out, MANIFEST), 'utf8'));
  } catch {
    return { problem: `the compiled CLI is missing (${relative(process.cwd(), out) || out}/)` };
  }
  for (const file of manifest.outputs ?? []) {
    try {
      statSync(join(out, file));
    } catch {
      return { problem: `the compiled CLI is incomplete (${file} is missing)` };
    }
  }
  for (const [file, [size, mtimeMs]] of Object.entries(manifest.inputs)) {
    let s;
    try {
      s = statSync(join(root, file));
    } catch {
      return { problem: `the compiled CLI was built from ${file}, which is gone` };
    }
    if (s.size !== size || s.mtimeMs !== mtimeMs) return { problem: `${file} changed after the CLI was compiled` };
  }
  return { url: pathToFileURL(join(out, manifest.entry)).href };
}

/** Builds build/cli/ from src/cli/bin.ts; returns the number of source files in it. */
export async function buildBundle(root = ROOT) {
  const { build } = await import('esbuild');
  const out = outDir(root);
  const staging = `${out}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { bin: 'src/cli/bin.ts' },
    bundle: true,
    splitting: true, // commands load Astro, Playwright and nodemailer lazily; keep them lazy
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    packages: 'external',
    outdir: staging,
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    const s = statSync(join(root, file));
    inputs[relative(root, join(root, file))] = [s.size, s.mtimeMs];
  }
  const outputs = Object.keys(result.metafile.outputs).map((file) => relative(staging, join(root, file)));
  writeFileSync(join(staging, MANIFEST), `${JSON.stringify({ entry: 'bin.js', outputs, inputs }, null, 2)}\n`);
  rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
  return Object.keys(inputs).length;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const started = performance.now();
  const n = await buildBundle();
  process.stderr.write(
    `cli-bundle: ${n} source files → ${relative(ROOT, outDir(ROOT))}/ in ${Math.round(performance.now() - started)} ms\n`,
  );
}
