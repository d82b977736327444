/** `npm run schemas`: writes schemas/*.schema.json from the zod schemas (a test checks they are current). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JSON_SCHEMAS, jsonSchema } from '../src/config/json-schema.ts';

for (const name of Object.keys(JSON_SCHEMAS) as (keyof typeof JSON_SCHEMAS)[]) {
  const path = join(import.meta.dirname, '..', 'schemas', name);
  await writeFile(path, jsonSchema(name));
  console.log(path);
}
