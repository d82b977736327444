/**
 * `focus-billing web` under load: importing the benchmark's 1,000,000-row month through the app
 * (POST /api/import, streamed upload, the ingest code path) against the CLI's `ingest` of the
 * same file, in turns; and the review queue with 20,000 pending flags in Chromium: how long a
 * filter, a search and "select all" take, from the input to the repainted page.
 * Targets: the import at most 1.5× the CLI's; each review step at most 200 ms.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { findChromium } from '../../src/pdf/browser.ts';
import { median } from './median.ts';
import { writeSyntheticFocus } from './synthetic-focus.ts';

const TOKEN = 'bench-token-0123456789abcdef';

async function startApp(cli: string, root: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [cli, 'web', '--root', root, '--port', '0', '--no-live-site'], {
    env: { ...process.env, OCB_WEB_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/\S+?)\?token=/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`web exited with ${code}: ${out}`)));
  });
  return { url, child };
}

/**
 * A multipart upload as a script would send it, at the speed of the disk: the file streamed into
 * the request between its part headers (Node's fetch with FormData takes twice as long).
 */
function postFile(url: URL, path: string, fields: Record<string, string>): Promise<{ status: number; body: string }> {
  const boundary = `----openchargeback${Date.now()}`;
  const head = Buffer.from(
    `${Object.entries(fields)
      .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
      .join('')}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="focus.csv"\r\nContent-Type: text/csv\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': head.length + statSync(path).size + tail.length,
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write(head);
    const file = createReadStream(path, { highWaterMark: 1 << 20 });
    file.on('error', reject);
    file.on('end', () => req.end(tail));
    file.pipe(req, { end: false });
  });
}

function freshRepo(repo: string): void {
  rmSync(repo, { recursive: true, force: true });
  for (const dir of ['data', 'periods']) mkdirSync(join(repo, dir), { recursive: true });
  writeFileSync(join(repo, 'config.yaml'), 'organization:\n  name: Bench University\n');
}

export interface WebBench {
  cli: number[];
  app: number[];
  ratio: number;
  review: { flags: number; load: number; filter: number; search: number; selectAll: number };
}

export async function webBench(work: string, cli: string, csv: string, runs: number): Promise<WebBench> {
  // The import, in turns with the CLI.
  const repo = join(work, 'web-repo');
  freshRepo(repo);
  const { url, child } = await startApp(cli, repo);
  const times = { cli: [] as number[], app: [] as number[] };
  try {
    for (let r = 0; r < runs; r++) {
      freshRepo(join(work, 'cli-repo'));
      let t = performance.now();
      const p = spawnSync(process.execPath, [cli, 'ingest', csv, '--source', 'AWS', '--root', join(work, 'cli-repo')], {
        encoding: 'utf8',
      });
      if (p.status !== 0) throw new Error(`ingest failed: ${p.stderr}`);
      times.cli.push((performance.now() - t) / 1000);
      for (const dir of ['data', 'periods']) {
        rmSync(join(repo, dir), { recursive: true, force: true });
        mkdirSync(join(repo, dir));
      }
      // The app's repository starts each round as the CLI's does, fresh: left in place, the last
      // round's plain copy (349 MB, the last upload's only name) was deleted in the timed import.
      for (const dir of ['data', 'hashes', 'reports']) rmSync(join(repo, '.cache', dir), { recursive: true, force: true });
      t = performance.now();
      const { status, body } = await postFile(new URL('/api/import', url), csv, { source: 'AWS' });
      if (status !== 200) throw new Error(`app import failed: ${body}`);
      times.app.push((performance.now() - t) / 1000);
      process.stderr.write(
        `  round ${r + 1}: CLI ingest ${times.cli[r]?.toFixed(2)} s, app import ${times.app[r]?.toFixed(2)} s (${(JSON.parse(body) as { rows: number }).rows} rows)\n`,
      );
    }
  } finally {
    child.kill('SIGTERM');
  }
  const ratio = median(times.app.map((a, i) => a / (times.cli[i] as number)));

  // The review queue: 20,000 charges without a fund/org, each held for review.
  const flagsRepo = join(work, 'review-repo');
  freshRepo(flagsRepo);
  const flagged = join(work, 'flagged-20000.csv');
  await writeSyntheticFocus(flagged, { rows: 20_000, pis: 200, unfundedEvery: 1 });
  const ingest = spawnSync(process.execPath, [cli, 'ingest', flagged, '--source', 'AWS', '--root', flagsRepo], { encoding: 'utf8' });
  if (ingest.status !== 0) throw new Error(`ingest failed: ${ingest.stderr}`);
  const app = await startApp(cli, flagsRepo);
  const browser = await chromium.launch({ executablePath: findChromium().path, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.goto(`${app.url}?token=${TOKEN}`);
    let t = performance.now();
    await page.goto(new URL('/app/review', app.url).toString());
    await page.waitForSelector('body[data-ready="true"]');
    const load = performance.now() - t;
    const count = (await page.locator('#count').textContent()) ?? '';
    // From the input to the page repainted with the new list (the search waits out its debounce).
    const step = (act: string) =>
      page.evaluate(async (what) => {
        const counted = document.getElementById('count') as HTMLElement;
        const t0 = performance.now();
        const changed = new Promise<void>((resolve) => {
          const seen = new MutationObserver(() => {
            seen.disconnect();
            resolve();
          });
          seen.observe(counted, { childList: true, characterData: true, subtree: true });
        });
        if (what === 'filter') {
          const s = document.getElementById('f-status') as HTMLSelectElement;
          s.value = s.value === 'pending' ? '' : 'pending';
          s.dispatchEvent(new Event('change'));
        } else if (what === 'search') {
          const q = document.getElementById('f-q') as HTMLInputElement;
          q.value = 'pi17@';
          q.dispatchEvent(new Event('input'));
        } else (document.getElementById('select-all') as HTMLInputElement).click();
        await changed;
        await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
        return performance.now() - t0;
      }, act);
    const filter = median([await step('filter'), await step('filter'), await step('filter')]);
    const search = await step('search');
    const clear = await page.evaluate(() => {
      const q = document.getElementById('f-q') as HTMLInputElement;
      q.value = '';
      q.dispatchEvent(new Event('input'));
    });
    void clear;
    await page.waitForTimeout(300);
    const selectAll = median([await step('select'), await step('select'), await step('select')]);
    t = performance.now();
    return {
      cli: times.cli,
      app: times.app,
      ratio,
      review: { flags: Number(/^(\d[\d,]*)/.exec(count)?.[1]?.replace(/,/g, '') ?? 0), load, filter, search, selectAll },
    };
  } finally {
    await browser.close();
    app.child.kill('SIGTERM');
  }
}
