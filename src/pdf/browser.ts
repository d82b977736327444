/**
 * Finds a Chromium to print with, in this order: OCB_CHROMIUM, config `pdf.chromium`,
 * Playwright's own installed Chromium, then the system's chromium, chromium-browser, google-chrome.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { UserError } from '../core/errors.ts';

const SYSTEM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

export function findChromium(configured?: string, env: NodeJS.ProcessEnv = process.env): { path: string; from: string } {
  const explicit = [
    [env.OCB_CHROMIUM, 'OCB_CHROMIUM'],
    [configured, 'config.yaml pdf.chromium'],
  ] as const;
  for (const [path, from] of explicit) {
    if (!path) continue;
    if (!existsSync(path))
      throw new UserError(`${from} is ${path}, which does not exist`, { hint: 'point it at a Chromium or Chrome executable' });
    return { path, from };
  }
  try {
    const bundled = chromium.executablePath();
    if (bundled && existsSync(bundled)) return { path: bundled, from: 'Playwright' };
  } catch {
    // playwright-core knows no browser of its own here
  }
  for (const dir of (env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/usr/local/bin', '/snap/bin'])) {
    for (const name of SYSTEM_NAMES) {
      const path = join(dir, name);
      if (dir && existsSync(path)) return { path, from: 'the system' };
    }
  }
  throw new UserError('no Chromium found to print PDF statements', {
    hint: 'install one (Debian/Ubuntu: `sudo apt-get install chromium`; elsewhere `npx playwright install chromium`), set OCB_CHROMIUM to its path, or build with --no-pdf',
  });
}

export async function launchChromium(configured?: string): Promise<Browser> {
  const { path } = findChromium(configured);
  return chromium.launch({
    executablePath: path,
    headless: true,
    // No sandbox when running as root (CI containers); no background traffic on closed networks.
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}
