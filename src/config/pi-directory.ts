/** `pis.yaml`, optional: PI names (and departments) by email, shown on statements. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { UserError } from '../core/errors.ts';
import { schemaError } from './load.ts';

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
  let text: string;
  try {
    text = await readFile(join(root, PI_DIRECTORY_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors[0]) {
    const pos = lineCounter.linePos(doc.errors[0].pos[0]);
    throw new UserError(`invalid YAML: ${doc.errors[0].message.split('\n')[0]}`, {
      location: { file: PI_DIRECTORY_FILE, line: pos.line, column: pos.col },
    });
  }
  const result = piDirectorySchema.safeParse(doc.toJS() ?? []);
  if (!result.success) throw schemaError(result.error, doc, lineCounter, PI_DIRECTORY_FILE);
  return new Map(result.data.map((p) => [p.email.toLowerCase(), { name: p.name, department: p.department }]));
}
