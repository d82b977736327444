/** Reading a file's bytes in order without a stream. */
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';

/**
 * Calls `fn` with each chunk of a file's bytes, in order, read into one reused 4 MB buffer: a
 * chunk is valid only during its call. About twice as fast as a read stream, whose fresh chunks
 * each fault in new memory (the 48 MB `.csv.gz` of the 1M-row month hashed in 55–70 ms this way,
 * 190–210 ms from a stream).
 */
export async function eachChunk(path: string, fn: (chunk: Buffer) => void, signal?: AbortSignal): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, buffer.length);
      if (bytesRead === 0) break;
      fn(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

/** Writes a chunk to a stream: settled once the stream no longer needs the chunk's memory. */
export function writeChunk(stream: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => stream.write(chunk, (e) => (e ? reject(e) : resolve())));
}
