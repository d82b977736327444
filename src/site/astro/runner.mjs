// Builds the site with Astro in a process of its own (forked by src/site/astro.ts), in a root of
// its own that links the project's sources and packages (Astro resolves its intermediate bundle
// from there); whatever Astro keeps in memory goes away with the process. Input: one JSON argument;
// output: one IPC message, { pages } or { error, stack }.
import { build } from 'astro';
import { astroSettings } from './settings.mjs';

const input = JSON.parse(process.argv[2] ?? '{}');
// Started before the model file is written: the pages are bundled, then the builder is asked for
// the file and answers once it is written. A builder that goes away takes this process with it.
const modelWritten = () =>
  new Promise((resolve) => {
    const answer = (m) => {
      if (m?.model !== 'written') return;
      process.off('message', answer);
      resolve();
    };
    process.on('message', answer);
    process.send?.({ waiting: 'model' });
  });
const orphaned = () => process.exit(1);
process.on('disconnect', orphaned);
let pages = 0;
try {
  const settings = astroSettings({ modelPath: input.modelPath, periodsDir: input.periodsDir });
  await build({
    ...settings,
    configFile: false,
    root: input.root,
    outDir: input.outDir,
    base: input.base,
    cacheDir: input.cacheDir,
    logLevel: 'error',
    // The root links the project's sources: keep their paths under it, as Astro expects.
    vite: { ...settings.vite, resolve: { preserveSymlinks: true } },
    integrations: [
      ...settings.integrations,
      {
        name: 'openchargeback-page-count',
        hooks: {
          // After the pages are bundled, before any is rendered (or the model read).
          'astro:build:ssr': () => modelWritten(),
          'astro:build:done': ({ pages: built }) => {
            pages = built.length;
          },
        },
      },
    ],
  });
  process.send?.({ pages });
} catch (e) {
  // Astro and Vite say where a source (a notes.mdx) is wrong: e.loc, or id and loc from Rollup.
  const loc = e?.loc ?? null;
  const file = loc?.file ?? e?.id ?? null;
  process.send?.({
    error: String(e?.message ?? e),
    stack: String(e?.stack ?? ''),
    loc: file ? { file, line: loc?.line, column: loc?.column } : null,
  });
  process.exitCode = 1;
}
// The answer sent, the channel is let go (a listener would keep this process alive).
process.off('disconnect', orphaned);
