/** `pis.yaml`, optional: PI names (and departments) by email, shown on statements. */
import { join } from 'node:path';
import { z } from 'zod';
import { readYamlFile } from '../core/yaml-file.ts';
import { piKey } from '../domain/identity.ts';
import { nameText } from './schema.ts';

export const PI_DIRECTORY_FILE = 'pis.yaml';

export const piDirectorySchema = z
  .array(
    z
      .object({
        email: z.string().min(3),
        name: nameText.min(1),
        department: nameText.optional(),
      })
      .strict(),
  )
  .default([])
  // One entry per PI, as statements key them (piKey): a second spelling of an email would
  // silently rename the PI on every statement and email.
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((p, i) => {
      const first = seen.get(piKey(p.email));
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [i, 'email'],
          message: `${p.email.trim()} is the PI of entry ${first} (${list[first]?.email.trim()}): one entry per PI`,
        });
      else seen.set(piKey(p.email), i);
    });
  });

export type PiDirectory = Map<string, { name: string; department?: string }>;

export async function loadPiDirectory(root: string): Promise<PiDirectory> {
  const list = await readYamlFile(
    join(root, PI_DIRECTORY_FILE),
    PI_DIRECTORY_FILE,
    piDirectorySchema,
    'each entry: { email, name, department? }',
    () => [],
    [],
  );
  return new Map(list.map((p) => [piKey(p.email), { name: p.name, department: p.department }]));
}
