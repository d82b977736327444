/** Reading a text file line by line, fast, with line numbers (for the converters' own formats). */
import { isAscii } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { UserError } from '../core/errors.ts';
import { gunzipStream } from '../core/zlib.ts';

/**
 * The lines of a (possibly gzip-compressed) UTF-8 text file, without their line breaks, a chunk
 * (a few megabytes) at a time: `first` is the 1-based number of the batch's first line (counted
 * from the range's start when there is one). Batches
 * keep a million-line file from paying an await per line.
 */
export async function* textLineBatches(
  path: string,
  display: string,
  range?: { start: number; end: number },
): AsyncGenerator<{ lines: string[]; first: number }> {
  const handle = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`${display}: ${e.code === 'ENOENT' ? 'no such file' : (e.message ?? String(e))}`, { hint: 'check the path' });
  });
  const head = Buffer.alloc(2);
  const s = await handle.stat();
  if (s.isDirectory()) {
    await handle.close();
    throw new UserError(`${display} is a folder, not a file`, { hint: 'name the file itself' });
  }
  await handle.read(head, 0, 2, 0);
  await handle.close();
  // A range (bytes [start, end), from a line's start) is read as it is: ranges are of plain files.
  const raw = createReadStream(path, { highWaterMark: 4 << 20, ...(range ? { start: range.start, end: range.end - 1 } : {}) });
  const stream = !range && head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(gunzipStream()) : raw;
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let n = 0;
  try {
    // ASCII (most exports) decodes faster as Latin-1, which is the same for it; from the first
    // byte that is not ASCII on, the UTF-8 decoder (which keeps a character split across chunks).
    let ascii = true;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      ascii &&= isAscii(chunk);
      const text = rest + (ascii ? chunk.toString('latin1') : decoder.write(chunk));
      const lines: string[] = [];
      let start = 0;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
        lines.push(text.charCodeAt(i - 1) === 13 ? text.slice(start, i - 1) : text.slice(start, i));
        start = i + 1;
      }
      rest = text.slice(start);
      if (lines.length > 0) {
        yield { lines, first: n + 1 };
        n += lines.length;
      }
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${display}: could not read the file (${(e as Error).message})`, {
      hint: 'a .gz file that is cut short or damaged? download it again',
    });
  } finally {
    raw.destroy();
  }
  rest += decoder.end();
  if (rest.length > 0) yield { lines: [rest.endsWith('\r') ? rest.slice(0, -1) : rest], first: n + 1 };
}

/** Each line of a (possibly gzip-compressed) UTF-8 text file, without its line break, with its 1-based number. */
export async function* textLines(path: string, display: string): AsyncGenerator<[string, number]> {
  for await (const { lines, first } of textLineBatches(path, display)) for (const [i, line] of lines.entries()) yield [line, first + i];
}

/** Fields of a CSV line (RFC 4180, no line breaks inside quotes: the converters' inputs are one record per line). */
export function csvFields(line: string): string[] | null {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) return null;
  out.push(field);
  return out;
}
