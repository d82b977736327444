/**
 * Uploads, streamed to temporary files (never held in memory) under the repository's
 * .cache/web/uploads/, with a size limit: a request over it is answered 413 and leaves nothing.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { makeDir } from '../core/make-dir.ts';

export interface UploadedFile {
  /** Where it is on disk. */
  path: string;
  /** Its name as the browser gave it (a base name, without folders). */
  name: string;
  bytes: number;
}

export interface Upload {
  dir: string;
  files: UploadedFile[];
  fields: Record<string, string>;
  /** Removes the temporary files. */
  discard: () => Promise<void>;
}

/** An HTTP error with its status, for the server to answer. */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 421 | 423,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The most bytes of a kept name: file systems take 255, and the converter's output adds `.focus.csv`. */
const NAME_BYTES = 200;
/** Characters kept of the end of a name cut short (`_2025-12`, a date or a month the app reads from it). */
const TAIL_CHARACTERS = 24;

/**
 * A file name safe to keep: its base name, without control characters or separators, and at
 * most NAME_BYTES bytes of UTF-8 (200 accented letters are 400), cut in the middle, before its
 * extension (`.csv.gz` stays, which says how to read it).
 */
export function safeName(name: string): string {
  const base = basename(name.replace(/\\/g, '/'))
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f/:*?"<>|]/g, '_');
  const kept = Buffer.byteLength(base) <= NAME_BYTES ? base : shortened(base);
  return kept && kept !== '.' && kept !== '..' ? kept : 'upload';
}

function shortened(name: string): string {
  const ext = /(\.[A-Za-z0-9]{1,8}){1,2}$/.exec(name)?.[0] ?? '';
  // By code points, so a character of several bytes (or a surrogate pair) is never cut in two;
  // the stem's start and end are kept (a source's name, a month: aws-…_2025-12), its middle cut.
  const stem = Array.from(name.slice(0, name.length - ext.length));
  const tail = stem.slice(-TAIL_CHARACTERS);
  const head = stem.slice(0, stem.length - tail.length);
  let bytes = Buffer.byteLength(`…${tail.join('')}${ext}`);
  let end = 0;
  while (end < head.length && bytes + Buffer.byteLength(head[end] as string) <= NAME_BYTES)
    bytes += Buffer.byteLength(head[end++] as string);
  return `${head.slice(0, end).join('')}…${tail.join('')}${ext}`;
}

/** Bytes of an upload held between the network and the disk. */
const UPLOAD_BUFFER = 4 << 20;

export async function receiveUpload(request: IncomingMessage, root: string, maxBytes: number): Promise<Upload> {
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes + 64 * 1024)
    throw new HttpError(
      413,
      `the upload is ${declared.toLocaleString('en-US')} bytes, over the limit of ${maxBytes.toLocaleString('en-US')}`,
      'web.max_upload_mb in config.yaml sets the limit',
    );
  const parent = join(root, '.cache', 'web', 'uploads');
  await makeDir(parent);
  const dir = await mkdtemp(join(parent, 'u-'));
  const discard = () => rm(dir, { recursive: true, force: true });
  const files: UploadedFile[] = [];
  const fields: Record<string, string> = {};
  let parser: busboy.Busboy;
  try {
    // Buffers of megabytes, not the streams' 16 KB: with those, each chunk from the network
    // waited for the disk to take the last one, and neither ran while the other did.
    parser = busboy({
      headers: request.headers,
      highWaterMark: UPLOAD_BUFFER,
      fileHwm: UPLOAD_BUFFER,
      limits: { fileSize: maxBytes, files: 50, fields: 50, fieldSize: 64 * 1024 },
      // Browsers send a file's name as UTF-8 (busboy reads it as Latin-1 unless told: données.csv became donnÃ©es.csv).
      defParamCharset: 'utf8',
    });
  } catch (e) {
    await discard();
    throw new HttpError(400, `not a file upload: ${(e as Error).message}`, 'send multipart/form-data with a "file" part');
  }
  const writes: Promise<void>[] = [];
  let tooLarge = false;
  try {
    await new Promise<void>((resolve, reject) => {
      parser.on('field', (name, value) => {
        fields[name] = value;
      });
      parser.on('file', (field, stream, info) => {
        if (field !== 'file') {
          stream.resume();
          return;
        }
        const taken = new Set(files.map((f) => f.name));
        let name = safeName(info.filename ?? 'upload');
        for (let n = 2; taken.has(name); n++) name = safeName(`${n}-${info.filename ?? 'upload'}`);
        const entry: UploadedFile = { path: join(dir, name), name, bytes: 0 };
        files.push(entry);
        stream.on('data', (chunk: Buffer) => {
          entry.bytes += chunk.length;
        });
        stream.on('limit', () => {
          tooLarge = true;
          request.unpipe(parser);
          reject(
            new HttpError(
              413,
              `${entry.name} is over the upload limit of ${maxBytes.toLocaleString('en-US')} bytes`,
              'web.max_upload_mb in config.yaml sets the limit',
            ),
          );
        });
        writes.push(pipeline(stream, createWriteStream(entry.path, { highWaterMark: UPLOAD_BUFFER })));
      });
      parser.on('close', () => resolve());
      parser.on('error', (e) => reject(new HttpError(400, `the upload is not well-formed: ${(e as Error).message}`)));
      request.on('aborted', () => reject(new HttpError(400, 'the upload was cut short')));
      request.pipe(parser);
    });
    await Promise.all(writes);
  } catch (e) {
    // Drain what is left so the client gets its answer, then leave nothing behind.
    if (tooLarge) request.resume();
    await Promise.allSettled(writes);
    await discard();
    throw e;
  }
  return { dir, files, fields, discard };
}
