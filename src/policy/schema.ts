/**
 * Billing policy in git, applied after the export: adjustments per period
 * (`periods/<period>/adjustments.yaml`), credit programs and prepaid balances (`credits.yaml` at
 * the root), and caps and showback (`policy` in config.yaml, see src/config/schema.ts). Amounts
 * are decimal strings, never floats.
 */
import { z } from 'zod';
import { ID, list } from '../config/policy.ts';
import { isCurrencyCode } from '../core/currency.ts';
import { AMOUNT_DIGITS } from '../core/money.ts';
import { isPeriod } from '../domain/period.ts';

/** Under 10^20, as every amount the tool takes (a FOCUS file's sums in DuckDB's DECIMAL(38,18)): 20 digits before the point at most. */
const underLimit = (v: string) => (v.replace(/^-/, '').split('.')[0] ?? '').replace(/^0+/, '').length <= AMOUNT_DIGITS;

/** A signed decimal amount written as a string, such as "-100.00". */
export const signedAmount = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, 'expected a decimal written as a string, such as "-100.00" (negative is a credit)')
  .refine((v) => (v.split('.')[1] ?? '').length <= 6, 'at most 6 decimal places')
  .refine(underLimit, 'less than 10^20 either way, as every amount here');

/** A positive decimal amount written as a string, such as "1500.00". */
export const positiveAmount = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'expected a positive decimal written as a string, such as "1500.00"')
  .refine((v) => (v.split('.')[1] ?? '').length <= 6, 'at most 6 decimal places')
  .refine((v) => /[1-9]/.test(v), 'more than zero')
  .refine(underLimit, 'less than 10^20, as every amount here');

const period = z
  .union([z.string(), z.date()])
  .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 7) : v))
  .refine(isPeriod, 'expected a month as YYYY-MM');

// Attribution as charges give it: a charge's tags are read trimmed, so " p1" here is the p1 billed.
const email = z
  .string()
  .trim()
  .regex(/^[^\s@]+@[^\s@]+$/, 'expected an email address');
const attribute = () => z.string().trim().min(1);

export const adjustmentSchema = z
  .object({
    /** Unique in the period; shown on the statement. @example adj-2026-03-001 */
    id: ID,
    pi_email: email,
    /** Which statement it lands on (with fund_org, when the PI's project has several). */
    project_id: attribute(),
    /** Needed when the PI × project has no statement this period (the adjustment creates one). */
    fund_org: attribute().optional(),
    /** Negative is a credit to the PI. @example "-100.00" */
    amount: signedAmount,
    /** Shown on the statement. @example Refund for the March 3 storage outage */
    description: z.string().min(1),
    /** The adjustment's currency: it lands on a statement in it, or creates one in it (default billing.default_currency). */
    currency: z.string().refine(isCurrencyCode, 'expected an ISO 4217 currency code such as USD').optional(),
  })
  .strict();

export const adjustmentsFileSchema = z
  .object({
    adjustments: z.array(adjustmentSchema).default([]),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.adjustments.forEach((a, i) => {
      const first = seen.get(a.id);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['adjustments', i, 'id'],
          message: `id ${a.id} is also adjustments[${first}]: ids are unique in a period`,
        });
      seen.set(a.id, i);
    });
  });

export const balanceProgramSchema = z
  .object({
    /** Unique across credits and prepayments; shown on statements. @example new-faculty-rivera */
    id: ID,
    /** Shown on the statement line. @example New faculty credit */
    description: z.string().min(1),
    /** The whole amount, drawn down month by month. @example "1500.00" */
    amount: positiveAmount,
    /** Default billing.default_currency. */
    currency: z.string().refine(isCurrencyCode, 'expected an ISO 4217 currency code such as USD').optional(),
    /** The PIs it covers (all their projects, unless projects narrows it). */
    pis: list(email).optional(),
    /** The projects it covers. */
    projects: list(attribute()).optional(),
    /** Services it applies to: ServiceName globs (`*` any text); default every service. @example ["HPC *"] */
    services: list(z.string().min(1)).optional(),
    /** First period it applies to. @example 2025-01 */
    start: period,
    /** Last period it applies to (inclusive); open-ended when absent. */
    end: period.optional(),
  })
  .strict()
  .refine((p) => p.pis !== undefined || p.projects !== undefined, { message: 'name the pis or the projects it covers', path: ['pis'] })
  .refine((p) => p.end === undefined || p.end >= p.start, { message: 'end is before start', path: ['end'] });

export const creditsFileSchema = z
  .object({
    /** Credit programs: the institution pays, up to the amount. */
    credits: z.array(balanceProgramSchema).default([]),
    /** Prepaid balances: the PI paid ahead; drawn down like a credit, journaled to the prepayment account. */
    prepayments: z.array(balanceProgramSchema).default([]),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Map<string, string>();
    for (const kind of ['credits', 'prepayments'] as const)
      file[kind].forEach((p, i) => {
        const first = seen.get(p.id);
        if (first !== undefined)
          ctx.addIssue({ code: 'custom', path: [kind, i, 'id'], message: `id ${p.id} is also ${first}: ids are unique in credits.yaml` });
        seen.set(p.id, `${kind}[${i}]`);
      });
  });

export type Adjustment = z.infer<typeof adjustmentSchema>;
export type BalanceProgram = z.infer<typeof balanceProgramSchema>;
export type CreditsFile = z.infer<typeof creditsFileSchema>;

export type { PolicyConfig } from '../config/policy.ts';
export const POLICY_KINDS = ['showback', 'cap', 'adjustment', 'credit', 'prepayment'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];
