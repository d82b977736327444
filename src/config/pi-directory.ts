/** `pis.yaml`, optional: PI names (and departments) by email, shown on statements. */
import { join } from 'node:path';
import { z } from 'zod';
import { readYamlFile } from '../core/yaml-file.ts';

export const PI_DIRECTORY_FILE = 'pis.yaml';

export const piDirectorySchema = z
  .array(
    z
      .object({
        email: z.string().min(3),
        name: z.string().min(1),
        department: z.string().optional(),
      })
      .strict(),
  )
  .default([]);

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
  return new Map(list.map((p) => [p.email.toLowerCase(), { name: p.name, department: p.department }]));
}
