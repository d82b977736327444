/**
 * `periods/<period>/period.yaml`: open or closed, with the manifest that freezes a closed period
 * and the history of closings and reopenings. A period without the file is open.
 */
import { z } from 'zod';
import { UserError } from '../core/errors.ts';
import { readYamlFile } from '../core/yaml-file.ts';
import { layout, relPath } from './layout.ts';

export const periodEventSchema = z
  .object({
    action: z.enum(['closed', 'reopened']),
    at: z.string(),
    by: z.string(),
    reason: z.string().optional(),
  })
  .strict();

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** Hashes of what a closed period's statements show besides the data and flags (see periods/freeze.ts). */
export const frozenSchema = z
  .object({
    /** The statements and reconciliation as issued: any change to an amount shows here. */
    statements: sha256,
    /** What they show besides amounts: organization, statement settings, source names. */
    presentation: sha256,
    /** config.yaml's settings, one hash each: named as the cause when the statements change. */
    settings: z.record(z.string(), sha256),
    /** periods/<period>/notes.mdx, printed on the statements (null: there was none). */
    notes: sha256.nullable(),
    /** The pis.yaml entries of the period's PIs. */
    pis: sha256,
  })
  .strict();

export const periodFileSchema = z
  .object({
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
    status: z.enum(['open', 'closed']),
    closed_at: z.string().optional(),
    closed_by: z.string().optional(),
    /** sha256 of each data file when the period was closed. */
    files: z.record(z.string(), sha256).optional(),
    /** sha256 of flags.yaml when the period was closed (null: there was none). */
    flags_sha256: sha256.nullable().optional(),
    frozen: frozenSchema.optional(),
    history: z.array(periodEventSchema).default([]),
  })
  .strict();

export type PeriodFile = z.infer<typeof periodFileSchema>;
export type Frozen = z.infer<typeof frozenSchema>;
export type PeriodStatus = 'open' | 'closed';

export async function readPeriodFile(root: string, period: string): Promise<PeriodFile | null> {
  return readYamlFile(
    layout.periodFile(root, period),
    relPath('periods', period, 'period.yaml'),
    periodFileSchema,
    'status is open or closed; reopen a closed period with `focus-billing periods reopen`',
    () => null,
  );
}

export async function periodStatus(root: string, period: string): Promise<PeriodStatus> {
  return (await readPeriodFile(root, period))?.status ?? 'open';
}

export async function assertOpen(root: string, period: string, action: string): Promise<void> {
  const file = await readPeriodFile(root, period);
  if (file?.status === 'closed') {
    throw new UserError(
      `period ${period} is closed${file.closed_at ? ` (${file.closed_at} by ${file.closed_by})` : ''}: cannot ${action}`,
      {
        hint: `reopen it first with \`focus-billing periods reopen ${period} --reason "…"\``,
      },
    );
  }
}
