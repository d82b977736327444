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
