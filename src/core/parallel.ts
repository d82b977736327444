/**
 * Runs `fn` over `items` with at most `limit` calls in flight: file-system work on tens of
 * thousands of small files (linking kept pages, removing an old site) is bound by round trips to
 * libuv's thread pool, not by the disk, so a few calls at once finish several times sooner than
 * one after another, while a bounded number never exhausts file descriptors.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * `Promise.all` that waits for every promise to settle before it rejects (with the first failure
 * in the order given). Work that shares a resource with the others, such as a DuckDB query on the
 * connection that a failure is about to close, is then never left running: a query still in
 * flight when its database closed kept the process from ever exiting.
 */
export async function settleAll<T extends readonly unknown[]>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}
