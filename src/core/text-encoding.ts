/**
 * Text files people write by hand or export (config.yaml, pis.yaml, notes.mdx, a converter's
 * input) are read as UTF-8, and only as UTF-8: decoded leniently, a Latin-1 "Université" became
 * "Universit\uFFFD" on every statement and email without a word. Bytes that are not UTF-8 are
 * refused at their line, and UTF-16, which Windows writes (Notepad's "Unicode", PowerShell 5.1's
 * `>` and Out-File), is named as such, with how to save the file as UTF-8.
 */
import { isUtf8 } from 'node:buffer';
import { invalidInput, type UserError } from './errors.ts';

/** Whether bytes start with a UTF-16 byte-order mark (FF FE or FE FF). */
export const isUtf16 = (head: Uint8Array): boolean => (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff);

/** The index (0 for the first) of the first line of `bytes` that is not UTF-8 (a line break is never inside a character). */
export function firstBadLine(bytes: Buffer): number {
  let line = 0;
  let start = 0;
  for (let i = bytes.indexOf(10); ; i = bytes.indexOf(10, start)) {
    const end = i === -1 ? bytes.length : i;
    if (!isUtf8(bytes.subarray(start, end))) return line;
    if (i === -1) return line;
    line++;
    start = i + 1;
  }
}

/** UTF-16 text: what Windows PowerShell 5.1's Out-File and `>` write. Every other byte is NUL. */
export function utf16Error(display: string): UserError {
  return invalidInput(
    { file: display, line: 1 },
    'not UTF-8 text',
    'UTF-8 text',
    'UTF-16 (a FF FE or FE FF byte-order mark), as Windows PowerShell writes with Out-File or > and Notepad saves as "Unicode"',
    'write it as UTF-8 (Set-Content -Encoding utf8, or Out-File -Encoding utf8; in an editor, save with the encoding UTF-8), or convert it: iconv -f utf-16 -t utf-8 < in > out',
  );
}

/** Bytes that are not UTF-8 at `line` (1-based); `then` ends the hint: what to do once it is saved. */
export function notUtf8Error(display: string, line: number, then: string): UserError {
  return invalidInput(
    { file: display, line },
    'not UTF-8 text',
    'UTF-8 text',
    'bytes that are not UTF-8',
    `save the file as UTF-8 (iconv -f latin1 -t utf-8 < in > out, for a Latin-1 file) ${then}`,
  );
}

/** Why `bytes` are not UTF-8 text, as an error at the line, or null when they are (the usual case, checked at memory speed). */
export function encodingError(bytes: Buffer, display: string, then = 'and run the command again'): UserError | null {
  if (isUtf8(bytes)) return null;
  if (isUtf16(bytes)) return utf16Error(display);
  return notUtf8Error(display, 1 + firstBadLine(bytes), then);
}
