/** Reads and validates config.yaml. */
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { type Config, configSchema } from './schema.ts';
import { parseYaml, readYamlFile } from './yaml-file.ts';

export const CONFIG_FILE = 'config.yaml';
const HINT = 'see docs/OPERATIONS.md#configuration for every setting and its default';

export async function loadConfig(root: string): Promise<Config> {
  return readYamlFile(join(root, CONFIG_FILE), CONFIG_FILE, configSchema, HINT, () => {
    throw new UserError(`no ${CONFIG_FILE} in ${root}`, {
      hint: 'run `focus-billing init` to create a billing repository, or pass --root <dir>',
    });
  });
}

export function parseConfig(text: string, file: string): Config {
  return parseYaml(text, file, configSchema, HINT);
}
