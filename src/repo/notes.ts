/** A period's notes.mdx, the billing office's words printed on each of its statements. */
import { readFile } from 'node:fs/promises';
import type { UserError } from '../core/errors.ts';
import { encodingError } from '../core/text-encoding.ts';
import { layout, relPath } from './layout.ts';

/**
 * Why `period`'s notes.mdx cannot be printed as written, or null (also when there is none):
 * bytes that are not UTF-8, which the site would show as U+FFFD on every statement of the period.
 */
export async function notesProblem(root: string, period: string): Promise<UserError | null> {
  const bytes = await readFile(layout.notesFile(root, period)).catch(() => null);
  return bytes && encodingError(bytes, relPath('periods', period, 'notes.mdx'));
}
