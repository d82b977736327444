/** JSON Schemas for editors (YAML language server), generated from the zod schemas. */
import { z } from 'zod';
import { piDirectorySchema } from '../config/pi-directory.ts';
import { configSchema } from '../config/schema.ts';
import { accountsFileSchema } from '../convert/accounts.ts';
import { flagsFileSchema } from '../flags/schema.ts';
import { adjustmentsFileSchema, creditsFileSchema } from '../policy/schema.ts';
import { ratesFileSchema } from '../rates/schema.ts';
import { periodFileSchema } from '../repo/period-file.ts';

export const JSON_SCHEMAS = {
  'config.schema.json': { title: 'OpenChargeback config.yaml', schema: configSchema },
  'flags.schema.json': { title: 'OpenChargeback periods/<period>/flags.yaml', schema: flagsFileSchema },
  'period.schema.json': { title: 'OpenChargeback periods/<period>/period.yaml', schema: periodFileSchema },
  'pis.schema.json': { title: 'OpenChargeback pis.yaml (PI directory)', schema: piDirectorySchema },
  'rates.schema.json': { title: 'OpenChargeback rates.yaml (prices of your own services)', schema: ratesFileSchema },
  'credits.schema.json': { title: 'OpenChargeback credits.yaml (credit programs and prepaid balances)', schema: creditsFileSchema },
  'adjustments.schema.json': { title: 'OpenChargeback periods/<period>/adjustments.yaml', schema: adjustmentsFileSchema },
  'accounts.schema.json': { title: 'OpenChargeback accounts.yaml (owners of Slurm accounts, paths and VMs)', schema: accountsFileSchema },
} as const;

export type SchemaName = keyof typeof JSON_SCHEMAS;
export const SCHEMA_NAMES = Object.keys(JSON_SCHEMAS) as SchemaName[];

export function jsonSchema(name: SchemaName): string {
  const { title, schema } = JSON_SCHEMAS[name];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...json, title }, null, 2).replace(UNSEEN, (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`)}\n`;
}

/**
 * Characters a pattern names that show as nothing or reorder text (the email pattern's Unicode
 * spaces, zero-width and bidirectional characters, C1 controls): written as \u escapes, which mean
 * the same in JSON, so that the committed schema shows them and GitHub does not warn of hidden text.
 */
const UNSEEN = /[\u0080-\u00a0\u00ad\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]/g;
