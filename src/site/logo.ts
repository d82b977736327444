/** organization.logo: read from the repository once per build and carried in the model as a data: URI. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';

const MAX_BYTES = 512 * 1024;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export async function readLogo(root: string, config: Config): Promise<string | undefined> {
  const path = config.organization.logo;
  if (!path) return undefined;
  const bytes = await readFile(join(root, path)).catch(() => null);
  const problem = (what: string) =>
    new UserError(`organization.logo ${path}: ${what}`, {
      location: { file: 'config.yaml' },
      hint: 'point organization.logo at an SVG or PNG file committed in the billing repository, such as assets/logo.svg',
    });
  if (bytes === null) throw problem('no such file in the repository');
  if (bytes.length > MAX_BYTES) throw problem(`${bytes.length} bytes; a logo may be at most 512 KB (it is in every page and PDF)`);
  if (/\.png$/i.test(path)) {
    if (!bytes.subarray(0, 8).equals(PNG)) throw problem('not a PNG image');
    return `data:image/png;base64,${bytes.toString('base64')}`;
  }
  if (!/<svg[\s>]/.test(bytes.toString('utf8', 0, Math.min(bytes.length, 4096)))) throw problem('not an SVG image');
  return `data:image/svg+xml;base64,${bytes.toString('base64')}`;
}
