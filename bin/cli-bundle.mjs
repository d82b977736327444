/**
 * The CLI as one prebuilt JavaScript bundle (esbuild), so a command starts in about a third of a
 * second instead of compiling its TypeScript through tsx on every run. `npm ci` builds it (the
 * `prepare` script), as do `npm test` and `npm run bench`. The bundle records the size and mtime
 * of every source file it was built from; when any differs (an edit, a checkout), the bin falls
 * back to tsx, so a stale bundle never runs.
 *
 *   node bin/cli-bundle.mjs      # (re)build build/cli/
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const MANIFEST = 'manifest.json';
const outDir = (root) => join(root, 'build', 'cli');

/** The bundle's entry module URL when it matches the sources, else null. */
export function freshBundle(root = ROOT) {
  const out = outDir(root);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(out, MANIFEST), 'utf8'));
  } catch {
    return null;
  }
  for (const file of manifest.outputs ?? []) {
    try {
      statSync(join(out, file));
    } catch {
      return null;
    }
  }
  for (const [file, [size, mtimeMs]] of Object.entries(manifest.inputs)) {
    try {
      const s = statSync(join(root, file));
      if (s.size !== size || s.mtimeMs !== mtimeMs) return null;
    } catch {
      return null;
    }
  }
  return pathToFileURL(join(out, manifest.entry)).href;
}

/** Builds build/cli/ from src/cli/main.ts; returns the number of source files in it. */
export async function buildBundle(root = ROOT) {
  const { build } = await import('esbuild');
  const out = outDir(root);
  const staging = `${out}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: 'src/cli/main.ts' },
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
  writeFileSync(join(staging, MANIFEST), `${JSON.stringify({ entry: 'main.js', outputs, inputs }, null, 2)}\n`);
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
