// The static site of statements. `focus-billing build` runs it with the report model in
// OCB_SITE_MODEL; see src/site/build.ts.
import mdx from '@astrojs/mdx';
import { defineConfig } from 'astro/config';

export default defineConfig({
  output: 'static',
  integrations: [mdx()],
  trailingSlash: 'always',
  build: { format: 'directory', inlineStylesheets: 'never' },
  devToolbar: { enabled: false },
  vite: { logLevel: 'warn' },
});
