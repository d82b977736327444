/** `periods/<period>/flags.yaml`: charges held for review, and the decisions taken on them. */
import { z } from 'zod';
import { FLAG_ID_PATTERN, FLAG_SCHEME } from '../domain/identity.ts';
import { attributionProblem, type CoreAttribute, FLAG_RULES, FLAG_STATUSES } from '../domain/rules.ts';

/** A value `review assign` (or a hand edit) may attribute a charge with: not blank, no control characters, a real email for the PI. */
const attribution = (attribute: CoreAttribute) =>
  // Trimmed, as review assign writes it and as charges' tags are read: " p1" is the p1 billed.
  z
    .string()
    .trim()
    .superRefine((value, ctx) => {
      const problem = attributionProblem(attribute, value);
      if (problem) ctx.addIssue({ code: 'custom', message: `${attribute} ${problem === 'missing' ? 'is blank' : problem}` });
    });

export const assignmentSchema = z
  .object({
    pi_email: attribution('pi_email'),
    project_id: attribution('project_id'),
    fund_org: attribution('fund_org'),
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
    id: z.string().regex(FLAG_ID_PATTERN, '16 hex digits, optionally -N'),
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
    /** The flag-id scheme the ids were made with (1 when absent). */
    version: z.number().int().positive().default(FLAG_SCHEME),
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
    flags: z.array(flagSchema).default([]),
  })
  .strict()
  .superRefine((file, ctx) => {
    if (file.version !== FLAG_SCHEME)
      ctx.addIssue({
        code: 'custom',
        path: ['version'],
        message: `flag ids of scheme ${file.version} are not what this version of focus-billing makes (scheme ${FLAG_SCHEME}); use the focus-billing that wrote the file, or rebuild the flags with \`ingest --replace\``,
      });
    const seen = new Map<string, number>();
    file.flags.forEach((f, i) => {
      const before = seen.get(f.id);
      if (before !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['flags', i, 'id'],
          message: `flag ${f.id} appears twice (also flags[${before}]): keep one entry`,
        });
      seen.set(f.id, i);
    });
  });

export type Flag = z.infer<typeof flagSchema>;
export type FlagsFile = z.infer<typeof flagsFileSchema>;
export type { FlagStatus } from '../domain/rules.ts';
