// Notes from the billing office: periods/<period>/notes.mdx in the billing repository.
import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';

export const collections = {
  notes: defineCollection({
    loader: glob({ pattern: '*/notes.mdx', base: process.env.OCB_PERIODS_DIR ?? './periods' }),
  }),
};
