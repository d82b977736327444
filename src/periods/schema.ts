/** `periods/<period>/period.yaml`: open or closed, and the manifest that freezes a closed period. */
import { z } from 'zod';

export const periodEventSchema = z
  .object({
    action: z.enum(['closed', 'reopened']),
    at: z.string(),
    by: z.string(),
    reason: z.string().optional(),
  })
  .strict();

export const periodFileSchema = z
  .object({
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
    status: z.enum(['open', 'closed']),
    closed_at: z.string().optional(),
    closed_by: z.string().optional(),
    /** sha256 of each data file when the period was closed. */
    files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)).optional(),
    /** sha256 of flags.yaml when the period was closed (null: there was none). */
    flags_sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .nullable()
      .optional(),
    history: z.array(periodEventSchema).default([]),
  })
  .strict();

export type PeriodFile = z.infer<typeof periodFileSchema>;
