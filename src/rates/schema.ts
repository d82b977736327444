/**
 * `rates.yaml`: the institution's price list, with its history, in git. Each rate prices one
 * unit of a service (a core-hour on a partition, a TB-month on a storage tier, a VM of a size)
 * for a span of dates; converters turn usage into FOCUS charges with it. Prices are decimal
 * strings, never floats.
 */
import { z } from 'zod';
import { isCurrencyCode } from '../core/currency.ts';
import { isCalendarDate } from '../domain/period.ts';

export const UNITS = ['core-hour', 'gpu-hour', 'gb-hour', 'gb-month', 'tb-month', 'vm-month', 'unit'] as const;
export type Unit = (typeof UNITS)[number];

/** Decimal places a unit price may have: quantities carry 6, and a charge (their product) stays within the 18 amounts keep. */
export const PRICE_DECIMALS = 12;

const decimal = (what: string, max = PRICE_DECIMALS) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, `${what}: a non-negative decimal written as a string, such as "0.0300"`)
    .refine((v) => (v.split('.')[1] ?? '').length <= max, `${what}: at most ${max} decimal places`);

/** One value or a list of accepted values. */
const selector = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

const date = z
  .union([z.string(), z.date()])
  .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
  .refine(isCalendarDate, 'expected a date as YYYY-MM-DD');

export const rateSchema = z
  .object({
    /** Unique, shown in converter reports and on each charge (x_RateId). @example hpc-cpu-standard */
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dots, dashes and underscores'),
    /** ServiceName written on the charges. @example HPC CPU Compute */
    service: z.string().min(1),
    /** What one unit is: core-hour | gpu-hour | gb-hour | gb-month | tb-month | vm-month | unit. */
    unit: z.enum(UNITS),
    /** List price per unit, as a decimal string. @example "0.0300" */
    list_price: decimal('list_price'),
    /** Percent of the list price the institution pays: billed = list × (1 − subsidy/100). */
    subsidy_percent: decimal('subsidy_percent', 6)
      .refine((v) => Number(v) <= 100, 'subsidy_percent: at most 100')
      .optional(),
    /** Or the billed price per unit directly. */
    billed_price: decimal('billed_price').optional(),
    /**
     * Which usage the rate prices; each selector takes a value or a list. Slurm: partition,
     * gpu_type, account, qos. Storage: tier, path (a glob). VMs: size, tier. Generic usage: service.
     * @example { partition: [standard, long] }
     */
    match: z.record(z.string(), selector).default({}),
    /** First day the rate applies (inclusive). @example 2025-07-01 */
    effective_from: date,
    /** Last day it applies (inclusive); open-ended when absent. */
    effective_to: date.optional(),
    /** Storage: terabytes each project uses free each month (billed: above it). */
    free_tb: decimal('free_tb', 6).optional(),
    /** VMs: whether a VM found stopped is billed (default true: it holds its resources). */
    bill_stopped: z.boolean().optional(),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.subsidy_percent !== undefined && r.billed_price !== undefined)
      ctx.addIssue({ code: 'custom', path: ['billed_price'], message: 'give subsidy_percent or billed_price, not both' });
    if (r.effective_to !== undefined && r.effective_to < r.effective_from)
      ctx.addIssue({
        code: 'custom',
        path: ['effective_to'],
        message: `effective_to ${r.effective_to} is before effective_from ${r.effective_from}`,
      });
  });

export const ratesFileSchema = z
  .object({
    /** The currency of every price. @example USD */
    currency: z.string().refine(isCurrencyCode, 'expected an ISO 4217 currency code such as USD'),
    rates: z.array(rateSchema).min(1),
  })
  .strict();

export type Rate = z.infer<typeof rateSchema>;
export type RatesFile = z.infer<typeof ratesFileSchema>;
