// The static site of statements, for `astro dev` and `astro check`. `focus-billing build` runs
// Astro with the same settings and the billing repository's model: see src/site/astro.ts.
import { defineConfig } from 'astro/config';
import { astroSettings } from './src/site/astro/settings.mjs';

export default defineConfig(astroSettings());
