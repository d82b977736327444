/** `npm run schemas`: writes schemas/*.schema.json from the zod schemas (a test checks they are current). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jsonSchema, SCHEMA_NAMES } from '../src/cli/json-schemas.ts';

for (const name of SCHEMA_NAMES) {
  const path = join(import.meta.dirname, '..', 'schemas', name);
  await writeFile(path, jsonSchema(name));
  console.log(path);
}
