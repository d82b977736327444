// Notes from the billing office: periods/<period>/notes.mdx in the billing repository being built.
import { defineCollection } from 'astro:content';
import { periodsDir } from 'virtual:openchargeback/site-input';
import { glob } from 'astro/loaders';

export const collections = {
  notes: defineCollection({
    loader: glob({ pattern: '*/notes.mdx', base: periodsDir }),
  }),
};
