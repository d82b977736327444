/**
 * A built site in Chromium, served over HTTP as a web server serves it: how long a reader waits
 * for the dashboard's charts (which cover every period), the latest period's page, its charge
 * browser (its data loaded and the first page of rows shown, then a search and a sort) and a PI's
 * page with every period. Each is timed in the page (performance.now() from navigation) or, for
 * a search and a sort, from the input to the rows shown; the median of `runs` fresh pages.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { findChromium } from '../../src/pdf/browser.ts';
import { serveDir } from '../lib/serve-dir.ts';
import { median } from './median.ts';

export interface BrowserFigures {
  /** What was measured, e.g. 'dashboard (37 periods)', and its median in milliseconds. */
  steps: { label: string; ms: number }[];
  /** Bytes of the dashboard's HTML (its chart data is embedded) and of the period's charge data. */
  dashboardBytes: number;
  chargeDataBytes: number;
  charges: number;
}

/** `site` is a built admin site's folder; `period` the one whose pages are opened; `pi` a PI page's path under the site. */
export async function browserBench(site: string, period: string, pi: string, runs = 5): Promise<BrowserFigures> {
  // The browser first: without one, no server is left running.
  const browser = await chromium.launch({ executablePath: findChromium().path, args: ['--no-sandbox', '--disable-gpu'] });
  const { server, base } = await serveDir(site).catch(async (e) => {
    await browser.close();
    throw e;
  });
  const times = new Map<string, number[]>();
  const record = (label: string, ms: number) => times.set(label, [...(times.get(label) ?? []), ms]);
  let charges = 0;
  let periods = 0;
  try {
    for (let run = 0; run < runs; run++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      // The dashboard: every chart drawn (chart.js sizes its canvas as it draws).
      await page.goto(new URL('', base).toString());
      await page.waitForFunction(() => [...document.querySelectorAll('canvas')].every((c) => c.style.width !== ''));
      periods = await page.evaluate(() => JSON.parse(document.getElementById('dashboard-data')?.textContent ?? '{}').periods?.length ?? 0);
      record('dashboard, its charts drawn', await now(page));

      await page.goto(new URL(`periods/${period}/`, base).toString());
      await page.waitForLoadState('load');
      record(`period ${period}: its page loaded`, await now(page));

      // The charge browser: its data fetched and the first page of rows shown.
      await page.goto(new URL(`periods/${period}/charges/`, base).toString());
      await page.waitForFunction(() => / of [\d,]+ rows/.test(document.getElementById('charge-status')?.textContent ?? ''));
      record(`period ${period}: charge browser, rows shown`, await now(page));
      const shown = await page.evaluate(() => document.getElementById('charge-status')?.textContent ?? '');
      charges = Number(/\(([\d,]+) charges?\)/.exec(shown)?.[1]?.replace(/,/g, '') ?? 0);
      // A search for one resource, from the input to its rows shown (the page waits 120 ms for
      // more typing first); then the whole list sorted by amount, its layout included.
      const resource = ((await page.locator('#charge-table tbody tr td').nth(5).textContent()) ?? '').trim();
      record(
        `period ${period}: charge browser, a search (after 120 ms for typing)`,
        await page.evaluate(
          (text) =>
            new Promise<number>((done) => {
              const status = document.getElementById('charge-status') as HTMLElement;
              const input = document.querySelector('input[name=q]') as HTMLInputElement;
              const t0 = performance.now();
              new MutationObserver((_, observer) => {
                observer.disconnect();
                done(performance.now() - t0);
              }).observe(status, { childList: true, characterData: true, subtree: true });
              input.value = text;
              input.dispatchEvent(new Event('input', { bubbles: true }));
            }),
          resource,
        ),
      );
      record(
        `period ${period}: charge browser, sorted by amount`,
        await page.evaluate(() => {
          const t0 = performance.now();
          (document.querySelector('#charge-table button.sort[data-key=amount]') as HTMLButtonElement).click();
          void document.body.offsetHeight; // its layout, as the reader sees it
          return performance.now() - t0;
        }),
      );

      await page.goto(new URL(pi, base).toString());
      await page.waitForLoadState('load');
      record('a PI page, every period', await now(page));
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  return {
    steps: [...times].map(([label, ms]) => ({
      label: label.replace('dashboard', `dashboard (${periods} period${periods === 1 ? '' : 's'})`),
      ms: median(ms),
    })),
    dashboardBytes: statSync(join(site, 'index.html')).size,
    chargeDataBytes: statSync(join(site, 'periods', period, 'charges.json')).size,
    charges,
  };
}

/** Milliseconds since the page's navigation began. */
const now = (page: Page) => page.evaluate(() => performance.now());
