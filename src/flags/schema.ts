/** `periods/<period>/flags.yaml`: charges held for review, and the decisions taken on them. */
import { z } from 'zod';
import { FLAG_RULES } from '../focus/charges-sql.ts';

export const FLAG_STATUSES = ['pending', 'approved', 'rejected'] as const;

export const assignmentSchema = z
  .object({
    pi_email: z.string().min(1),
    project_id: z.string().min(1),
    fund_org: z.string().min(1),
  })
  .strict();

export const chargeSummarySchema = z
  .object({
    pi_email: z.string().nullable(),
    project_id: z.string().nullable(),
    fund_org: z.string().nullable(),
    service: z.string().nullable(),
    resource: z.string().nullable(),
    date: z.string().nullable(),
    period: z.string().nullable(),
    currency: z.string(),
    /** Exact amount under the cost basis, as a decimal string. */
    amount: z.string(),
    list: z.string(),
  })
  .strict();

export const flagSchema = z
  .object({
    /** Stable id from the row's content (not its position): decisions survive re-imports. */
    id: z.string().regex(/^[0-9a-f]{16}(-\d+)?$/, '16 hex digits, optionally -N'),
    /** pending until a reviewer approves (bills it) or rejects (keeps it off statements). */
    status: z.enum(FLAG_STATUSES),
    /** The first rule the charge triggered. */
    rule: z.enum(FLAG_RULES),
    /** Every rule it triggered, when more than one. */
    also: z.array(z.enum(FLAG_RULES)).optional(),
    message: z.string(),
    source: z.string(),
    file: z.string(),
    line: z.number().int().positive(),
    charge: chargeSummarySchema,
    decided_by: z.string().optional(),
    decided_at: z.string().optional(),
    note: z.string().optional(),
    /** Attribution for a charge that lacks it; used once approved. */
    assign: assignmentSchema.optional(),
  })
  .strict();

export const flagsFileSchema = z
  .object({
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
    flags: z.array(flagSchema).default([]),
  })
  .strict();

export type Flag = z.infer<typeof flagSchema>;
export type FlagsFile = z.infer<typeof flagsFileSchema>;
export type FlagStatus = (typeof FLAG_STATUSES)[number];
