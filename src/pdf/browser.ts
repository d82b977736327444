/**
 * Finds a Chrome or Chromium to print with. In order: OCB_CHROMIUM, config `pdf.chromium`, then the
 * places browsers are installed on each platform (the list below is data, tested for every
 * platform without needing it): Playwright's own Chromium and its cache, macOS applications,
 * Windows program folders, and Linux names on the PATH and snap. When none is found, the message
 * lists every place looked.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, posix, win32 } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { UserError } from '../core/errors.ts';

export interface Candidate {
  path: string;
  /** Where the path comes from, for messages: "Playwright", "macOS applications", "PATH"… */
  from: string;
}

export interface LookupEnvironment {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  home: string;
  /** Whether a file exists (the real file system unless a test gives another). */
  exists: (path: string) => boolean;
  /** A folder's entries, or [] (for Playwright's cache, whose folder names carry a revision). */
  list: (dir: string) => string[];
  /** The Chromium this version of Playwright installs, when it knows one. */
  playwright?: () => string | undefined;
}

const LINUX_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'microsoft-edge', 'microsoft-edge-stable'];
const MAC_APPS = [
  ['Google Chrome.app', 'Google Chrome'],
  ['Chromium.app', 'Chromium'],
  ['Microsoft Edge.app', 'Microsoft Edge'],
  ['Google Chrome Canary.app', 'Google Chrome Canary'],
] as const;
const WINDOWS_APPS = [
  'Google\\Chrome\\Application\\chrome.exe',
  'Chromium\\Application\\chrome.exe',
  'Microsoft\\Edge\\Application\\msedge.exe',
];

/** Playwright's browser cache on each platform (PLAYWRIGHT_BROWSERS_PATH when set). */
function playwrightCache(e: LookupEnvironment): string {
  if (e.env.PLAYWRIGHT_BROWSERS_PATH && e.env.PLAYWRIGHT_BROWSERS_PATH !== '0') return e.env.PLAYWRIGHT_BROWSERS_PATH;
  if (e.platform === 'darwin') return posix.join(e.home, 'Library', 'Caches', 'ms-playwright');
  if (e.platform === 'win32') return win32.join(e.env.LOCALAPPDATA ?? win32.join(e.home, 'AppData', 'Local'), 'ms-playwright');
  return posix.join(e.env.XDG_CACHE_HOME ?? posix.join(e.home, '.cache'), 'ms-playwright');
}

/** Every place a browser may be, in the order they are tried. */
export function browserCandidates(e: LookupEnvironment): Candidate[] {
  const out: Candidate[] = [];
  const bundled = e.playwright?.();
  if (bundled) out.push({ path: bundled, from: 'Playwright' });
  // Any Chromium revision in Playwright's cache, newest first (another version of Playwright installed it).
  const cache = playwrightCache(e);
  const path = e.platform === 'win32' ? win32 : posix;
  const inRevision =
    e.platform === 'darwin'
      ? [
          ['chrome-mac', 'Chromium.app', 'Contents', 'MacOS', 'Chromium'],
          ['chrome-mac-arm64', 'Google Chrome for Testing.app', 'Contents', 'MacOS', 'Google Chrome for Testing'],
        ]
      : e.platform === 'win32'
        ? [
            ['chrome-win', 'chrome.exe'],
            ['chrome-win64', 'chrome.exe'],
          ]
        : [
            ['chrome-linux', 'chrome'],
            ['chrome-linux64', 'chrome'],
          ];
  const revisions = e
    .list(cache)
    .filter((d) => /^chromium-\d+$/.test(d))
    .sort((a, b) => Number(b.slice(9)) - Number(a.slice(9)));
  for (const r of revisions) for (const parts of inRevision) out.push({ path: path.join(cache, r, ...parts), from: "Playwright's cache" });

  if (e.platform === 'darwin') {
    for (const dir of ['/Applications', posix.join(e.home, 'Applications')])
      for (const [app, exe] of MAC_APPS) out.push({ path: posix.join(dir, app, 'Contents', 'MacOS', exe), from: 'macOS applications' });
  } else if (e.platform === 'win32') {
    const roots = [e.env.PROGRAMFILES, e.env['PROGRAMFILES(X86)'], e.env.LOCALAPPDATA].filter((r): r is string => Boolean(r));
    for (const root of roots) for (const app of WINDOWS_APPS) out.push({ path: win32.join(root, app), from: 'Windows program folders' });
  } else {
    const dirs = (e.env.PATH ?? '').split(delimiter).filter(Boolean);
    for (const dir of dirs) for (const name of LINUX_NAMES) out.push({ path: posix.join(dir, name), from: 'PATH' });
    for (const name of ['chromium', 'google-chrome']) out.push({ path: posix.join('/snap/bin', name), from: 'snap' });
  }
  return out;
}

const realEnvironment = (env: NodeJS.ProcessEnv): LookupEnvironment => ({
  platform: process.platform,
  env,
  home: homedir(),
  exists: existsSync,
  list: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  playwright: () => {
    try {
      return chromium.executablePath() || undefined;
    } catch {
      return undefined; // playwright-core knows no browser of its own here
    }
  },
});

/** Where a browser was looked for, in a few lines (folders, not every name tried). */
function lookedIn(candidates: Candidate[]): string {
  const groups = new Map<string, Set<string>>();
  for (const c of candidates) {
    const dir = c.from === 'PATH' || c.from === 'snap' ? c.path.slice(0, c.path.lastIndexOf('/')) : c.path;
    groups.set(c.from, (groups.get(c.from) ?? new Set()).add(dir));
  }
  return [...groups].map(([from, dirs]) => `${from}: ${[...dirs].join(', ')}`).join('; ');
}

export function findChromium(
  configured?: string,
  env: NodeJS.ProcessEnv = process.env,
  lookup: LookupEnvironment = realEnvironment(env),
): { path: string; from: string } {
  const explicit = [
    [env.OCB_CHROMIUM, 'OCB_CHROMIUM'],
    [configured, 'config.yaml pdf.chromium'],
  ] as const;
  for (const [path, from] of explicit) {
    if (!path) continue;
    if (!lookup.exists(path))
      throw new UserError(`${from} is ${path}, which does not exist`, { hint: 'point it at a Chromium or Chrome executable' });
    return { path, from };
  }
  const candidates = browserCandidates(lookup);
  const found = candidates.find((c) => lookup.exists(c.path));
  if (found) return found;
  throw new UserError(
    `no Chrome or Chromium found to print PDF statements (looked in ${lookedIn(candidates) || 'no place: PATH is empty'})`,
    {
      hint: `${INSTALL_HINT}, set OCB_CHROMIUM to its path, or build with --no-pdf`,
    },
  );
}

/** How to get a browser, on any system. */
export const INSTALL_HINT =
  'install Chrome or Chromium (Debian/Ubuntu: `sudo apt-get install chromium`; macOS or Windows: Google Chrome; anywhere: `npx playwright install chromium`)';

/** The browser found, or null (for `doctor` and the demo, which carry on without PDFs). */
export function chromiumOrNull(configured?: string, env: NodeJS.ProcessEnv = process.env): { path: string; from: string } | null {
  try {
    return findChromium(configured, env);
  } catch (e) {
    if (e instanceof UserError) return null;
    throw e;
  }
}

export async function launchChromium(configured?: string): Promise<Browser> {
  const { path, from } = findChromium(configured);
  const launched = chromium.launch({
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
  // A browser found that does not start (a broken install, a path to something else) is the
  // machine's problem, said in a line: Playwright's own error is its launch log, kept as the cause.
  return launched.catch((e: unknown) => {
    const code = /exitCode=(\d+)/.exec(String((e as Error)?.message))?.[1];
    throw new UserError(`the browser at ${path} (${from}) did not start${code ? `: it exited with code ${code}` : ''}`, {
      hint: `check that it runs (${path} --version), set OCB_CHROMIUM to a working Chrome or Chromium (\`focus-billing doctor\` says which it finds), or build with --no-pdf`,
      cause: e,
    });
  });
}
