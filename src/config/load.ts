/** Reads and validates config.yaml. */
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { type Located, parseYaml, parseYamlLocated, readText } from '../core/yaml-file.ts';
import { refuseLinkAt, refuseLinks } from '../repo/links.ts';
import { type Config, configSchema } from './schema.ts';

export const CONFIG_FILE = 'config.yaml';
const HINT = 'see docs/OPERATIONS.md#configuration for every setting and its default';

/**
 * The config, and where each of its settings is in config.yaml (for checks made after loading),
 * once the repository is known to hold no links where commands read (repo/links.ts).
 */
export async function loadConfigLocated(root: string): Promise<Located<Config>> {
  const text = await readText(join(root, CONFIG_FILE), CONFIG_FILE);
  if (text === null)
    throw new UserError(`no ${CONFIG_FILE} in ${root}`, {
      hint: 'run `focus-billing init` to create a billing repository, or pass --root <dir>',
    });
  await refuseLinks(root);
  const config = parseYamlLocated(text, CONFIG_FILE, configSchema, HINT);
  if (config.data.organization.logo) await refuseLinkAt(root, config.data.organization.logo);
  return config;
}

export async function loadConfig(root: string): Promise<Config> {
  return (await loadConfigLocated(root)).data;
}

export function parseConfig(text: string, file: string): Config {
  return parseYaml(text, file, configSchema, HINT);
}
