/** `policy` in config.yaml: caps, showback, and where policy lines are journaled (src/policy/ applies them). */
import { z } from 'zod';
import { isCurrencyCode } from '../core/currency.ts';

export const ID = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dots, dashes and underscores');

/** One value or a list of values. */
export const list = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

const fundAccount = z
  .object({
    /** The fund/org that carries the other side of the policy line. @example 100000-9000 */
    fund_org: z.string().min(1),
    /** The GL account of both sides. @example 5499 */
    account: z.string().min(1),
  })
  .strict();

/** `policy` in config.yaml: caps, showback, and the accounts policy lines are journaled to. */
export const policyConfigSchema = z
  .object({
    /**
     * The institution pays above a monthly amount. @example [{ services: ["HPC GPU*"], per: pi, above: "500.00",
     * description: "The institution pays HPC GPU compute above $500 a month" }]
     */
    caps: z
      .array(
        z
          .object({
            id: ID,
            /** ServiceName globs (`*` any text) the cap covers. */
            services: list(z.string().min(1)),
            /** What the cap counts: each PI's charges for these services in a month, or each project's. */
            per: z.enum(['pi', 'project']).default('pi'),
            /** The most a PI (or project) pays for these services in a month, in `currency`. @example "500.00" */
            above: z.string().regex(/^\d+(\.\d+)?$/, 'expected a decimal written as a string, such as "500.00"'),
            /** The currency of `above`: the cap covers statements in it only (default billing.default_currency). */
            currency: z.string().refine(isCurrencyCode, 'expected an ISO 4217 currency code such as USD').optional(),
            description: z.string().min(1).optional(),
          })
          .strict(),
      )
      .default([])
      // A cap's id names its line on statements and in the journal: two caps of one id could not be told apart.
      .superRefine((caps, ctx) => {
        const seen = new Map<string, number>();
        caps.forEach((c, i) => {
          const first = seen.get(c.id);
          if (first !== undefined)
            ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `id ${c.id} is also caps[${first}]: ids are unique` });
          else seen.set(c.id, i);
        });
      }),
    /** Projects shown their cost without being charged: the amount due is zero and the journal debits nothing. */
    showback: z.array(z.string().trim().min(1)).default([]),
    /** Where each kind of policy line is journaled (the GL needs the ones the policy uses). */
    accounts: z
      .object({
        adjustment: fundAccount.optional(),
        credit: fundAccount.optional(),
        cap: fundAccount.optional(),
        prepayment: fundAccount.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type PolicyConfig = z.infer<typeof policyConfigSchema>;
