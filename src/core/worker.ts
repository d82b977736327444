/** Worker threads that run the module that starts them (a file both starts and serves its halves). */
import { Worker } from 'node:worker_threads';

/**
 * A worker thread running the module at `url` (its own `import.meta.url`) with `workerData`. From
 * the TypeScript sources (the tests, run with tsx), the worker registers tsx first: Node 20 does
 * not give worker threads the hooks of `--import`, and the module would fail to load, leaving
 * every caller to its one-pass fallback untested.
 */
export function moduleWorker(url: string, workerData: unknown): Worker {
  if (!url.endsWith('.ts')) return new Worker(new URL(url), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const start = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(url)}))`;
  return new Worker(start, { eval: true, workerData });
}
