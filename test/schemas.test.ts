import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jsonSchema, SCHEMA_NAMES } from '../src/cli/json-schemas.ts';
import { PROJECT } from './helpers.ts';

describe('JSON Schemas for editors', () => {
  for (const name of SCHEMA_NAMES) {
    it(`schemas/${name} is generated from the current zod schema (npm run schemas)`, async () => {
      assert.equal(await readFile(join(PROJECT, 'schemas', name), 'utf8'), jsonSchema(name));
    });
  }
  it('describes what a flag may hold', () => {
    const flags = JSON.parse(jsonSchema('flags.schema.json'));
    const item = flags.properties.flags.items;
    assert.deepEqual(item.properties.status.enum, ['pending', 'approved', 'rejected']);
    assert.equal(item.additionalProperties, false);
    assert.ok(item.required.includes('id') && item.required.includes('line'));
  });
});
