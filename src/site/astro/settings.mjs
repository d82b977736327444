// Astro settings shared by astro.config.mjs (dev, `astro check`) and the build runner, which
// passes them inline so that a build never depends on the process's working directory.
import mdx from '@astrojs/mdx';
import { siteInput } from './site-input.mjs';

/** @param {{ modelPath?: string | null, periodsDir?: string }} input */
export function astroSettings(input = {}) {
  return {
    output: /** @type {const} */ ('static'),
    integrations: [mdx(), siteInput(input)],
    trailingSlash: /** @type {const} */ ('always'),
    build: { format: /** @type {const} */ ('directory'), inlineStylesheets: /** @type {const} */ ('never') },
    devToolbar: { enabled: false },
    vite: { logLevel: /** @type {const} */ ('warn') },
  };
}
