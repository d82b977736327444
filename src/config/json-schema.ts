/** JSON Schemas for editors (YAML language server), generated from the zod schemas. */
import { z } from 'zod';
import { flagsFileSchema } from '../flags/schema.ts';
import { configSchema } from './schema.ts';

export const JSON_SCHEMAS = {
  'config.schema.json': { title: 'OpenChargeback config.yaml', schema: configSchema },
  'flags.schema.json': { title: 'OpenChargeback periods/<period>/flags.yaml', schema: flagsFileSchema },
} as const;

export function jsonSchema(name: keyof typeof JSON_SCHEMAS): string {
  const { title, schema } = JSON_SCHEMAS[name];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...json, title }, null, 2)}\n`;
}
