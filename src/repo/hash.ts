/** Content hashes of files, and byte comparisons, read in chunks. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { eachChunk } from '../core/file-chunks.ts';

/** The sha256 of a file's bytes (read without a stream: see eachChunk). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await eachChunk(path, (chunk) => hash.update(chunk));
  return hash.digest('hex');
}

export function sha256Text(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Byte equality, streaming both files (sizes first). */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  if (sa.size !== sb.size) return false;
  const ra = createReadStream(a, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]();
  const rb = createReadStream(b, { highWaterMark: 1 << 20 });
  let pending: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of rb as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        if (pending.length === 0) {
          const next = await ra.next();
          if (next.done) return false;
          pending = next.value as Buffer;
        }
        const n = Math.min(pending.length, chunk.length - offset);
        if (!pending.subarray(0, n).equals(chunk.subarray(offset, offset + n))) return false;
        pending = pending.subarray(n);
        offset += n;
      }
    }
    return true;
  } finally {
    await ra.return?.();
  }
}
