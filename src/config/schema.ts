/**
 * `config.yaml`: the institution's settings. One schema per area; types come from the schemas.
 */
import { z } from 'zod';
import { isCurrencyCode } from '../core/currency.ts';
import { parseDecimal, pow10, SCALE } from '../core/money.ts';
import { SOURCE_SLUG_PATTERN } from '../domain/identity.ts';
import { EMAIL_PATTERN, nameProblem } from '../domain/rules.ts';
import { siteUrlProblem } from '../domain/site-url.ts';
import { policyConfigSchema } from './policy.ts';
import { contrastOnWhite, EMAIL_FIELDS, STATEMENT_FIELDS, templateSchema } from './templates.ts';

/** Text shown to PIs (an organization, a sender, a source, a PI in pis.yaml): one line of visible text. */
export const nameText = z.string().superRefine((value, ctx) => {
  const problem = nameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * An address the tool sends from or shows PIs to write to: checked as a PI's email is, so a typo
 * fails validate, not every send. Empty is allowed, as before, and means none.
 */
const emailAddress = z.string().regex(new RegExp(`^$|${EMAIL_PATTERN}`), 'expected an email address such as rc-billing@example.edu');

/**
 * A pattern DuckDB runs (RE2 syntax: no look-around or back-references, `(?i)` for any case).
 * Checked by DuckDB itself when a command opens the repository (config/patterns.ts), with its line.
 */
const re2Pattern = z.string().min(1);

/** A pattern JavaScript runs (the journal's fund/org split, with named groups). */
const jsRegex = z.string().superRefine((value, ctx) => {
  try {
    new RegExp(value);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression (${(e as Error).message})` });
  }
});

/** Amounts in settings are below 10^20, with at most 18 places: what DuckDB's DECIMAL(38,18) and the tool's sums hold. */
const AMOUNT_LIMIT = 10n ** 20n * pow10(SCALE);

/** The problem with a setting's number as an exact decimal (1e21, 1e-30), or null. */
function settingNumberProblem(text: string, positive: boolean): string | null {
  let units: bigint;
  try {
    units = parseDecimal(text);
  } catch {
    return `expected an exact decimal with at most ${SCALE} decimal places`;
  }
  if (units >= AMOUNT_LIMIT) return 'expected less than 10^20';
  if (positive && units <= 0n) return 'expected more than 0';
  return null;
}

/**
 * A threshold amount: a number as YAML read it, or a decimal string as written ("10000.00"), kept
 * as it is (closed periods hash the settings as read), and checked as an exact decimal: 1e21 is
 * no amount DuckDB casts, and 1e-30 none it holds.
 */
const thresholdAmount = z
  .union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?$/, 'expected a positive amount, such as 10000 or "10000.00"')])
  .superRefine((value, ctx) => {
    const problem =
      // A number's sign is z.number().positive()'s to say; a string's is this check's.
      typeof value === 'string' || Number.isFinite(value)
        ? settingNumberProblem(String(value), typeof value === 'string')
        : 'expected a finite number';
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A number the tool works with exactly (a factor, an amount): finite, below 10^20, at most 18 places. */
const exactNumber = (positive: boolean) =>
  (positive ? z.number().positive() : z.number().min(0)).superRefine((value, ctx) => {
    const problem = Number.isFinite(value) ? settingNumberProblem(String(value), false) : 'expected a finite number';
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** One tag key name or several accepted spellings; matched case-insensitively. */
const tagKeys = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

export const tagMappingSchema = z
  .object({
    /** Tag keys holding the PI's email. @example [pi_email, pi] */
    pi_email: tagKeys.default(['pi_email']),
    /** Tag keys holding the project id (one statement per PI and project). */
    project_id: tagKeys.default(['project_id', 'project']),
    /** Tag keys holding the fund/org charged. */
    fund_org: tagKeys.default(['fund_org']),
    cost_center: tagKeys.default(['cost_center']),
    account_code: tagKeys.default(['account_code']),
    /** Free reference, e.g. a grant number. */
    reference_1: tagKeys.default(['reference_1', 'grant_number']),
    /** Free reference, e.g. a ticket. */
    reference_2: tagKeys.default(['reference_2', 'ticket']),
    /** Prefixes stripped from tag keys before matching. @example ['user:', 'tag:'] */
    strip_prefixes: z.array(z.string().min(1)).default(['user:', 'tag:', 'resourceTags/', 'costCategory/']),
  })
  .strict();

export const sourceSchema = z
  .object({
    /** Name used with `ingest --source`, matched case-insensitively. @example AWS */
    name: nameText.min(1),
    /** File name under data/<period>/; defaults to the lower-cased name. */
    slug: z.string().regex(SOURCE_SLUG_PATTERN, 'lower-case letters, digits and dashes').optional(),
    description: z.string().optional(),
    /** Fund/org credited in the GL journal for this source's recharges. */
    recharge_fund_org: z.string().optional(),
    /** Default GL account for this source's charges. */
    gl_account: z.string().optional(),
  })
  .strict();

export const patternRuleSchema = z
  .object({
    /** Which FOCUS column the pattern is tested against. */
    field: z.enum(['service', 'resource']),
    /** Regular expression, RE2 syntax, searched (not anchored). @example '(?i)gpu' */
    pattern: re2Pattern,
    /** Shown to reviewers. */
    message: z.string().optional(),
  })
  .strict();

/**
 * The highest `flag_rules.max_flags`: 100,000 flags make a flags.yaml of about 57 MB (GitHub refuses
 * 100 MB), and ingesting them took 17.5 s in 1.4 GB; 150,000 took 27 s in 1.9 GB for 86 MB.
 */
export const MAX_FLAGS_LIMIT = 100_000;

export const flagRulesSchema = z
  .object({
    missing_pi_email: z.boolean().default(true),
    missing_project_id: z.boolean().default(true),
    missing_fund_org: z.boolean().default(true),
    invalid_tags: z.boolean().default(true),
    /** A PI email that is no email address, or an attribution that is an object, array, boolean or holds a control or invisible character. */
    invalid_attribution: z.boolean().default(true),
    period_mismatch: z.boolean().default(true),
    /**
     * A ChargeCategory that is none of FOCUS's Usage, Purchase, Tax, Credit, Adjustment (in any
     * case), such as an old Azure export's `error`. On in the config `init` writes; off when not
     * set, so that upgrading the tool holds no charge of a period closed before it had the rule.
     */
    unknown_category: z.boolean().default(false),
    /**
     * Tags gives a PI, project or fund/org under two keys with different values (`pi_email` and
     * `user:pi_email`, `project` and `project_id`), where precedence would bill one unseen. On in
     * the config `init` writes; off when not set, as `unknown_category`.
     */
    conflicting_tags: z.boolean().default(false),
    /** A fund/org must fully match one of these; empty means any value is accepted. */
    fund_org_patterns: z.array(re2Pattern).default([]),
    /** Charges whose service or resource name matches are held for review. */
    patterns: z.array(patternRuleSchema).default([]),
    /**
     * The most charges a period may hold for review, all sources together: an export that would
     * hold more is refused at ingest. So many are past reviewing by hand (most often the export
     * lacks its tags), and their flags.yaml (some 570 bytes a charge) would outgrow what git
     * hosts accept. At most 100,000.
     */
    max_flags: z.number().int().min(1).max(MAX_FLAGS_LIMIT).default(50_000),
    anomalies: z
      .object({
        /** Hold a single charge above this amount (in its billing currency); null turns it off. */
        large_charge: thresholdAmount.nullable().default(10000),
        /**
         * large_charge for a currency where that amount is not the one (10000 is some $65 in yen);
         * null turns the rule off for it. Absent by default, so closed periods read unchanged.
         * @example { JPY: 1500000 }
         */
        large_charge_per_currency: z
          .record(z.string(), thresholdAmount.nullable())
          .superRefine((map, ctx) => {
            for (const key of Object.keys(map))
              if (!isCurrencyCode(key))
                ctx.addIssue({ code: 'custom', path: [key], message: `${key} is not an ISO 4217 currency code such as JPY` });
          })
          .optional(),
        /** Hold charges billed above their list price. */
        above_list: z.boolean().default(true),
        /** Hold negative Usage charges (refunds and credits should be ChargeCategory Credit). */
        negative_usage: z.boolean().default(true),
        /** Report PIs whose period total is above N times the previous period's (not held); null turns it off. */
        pi_increase: exactNumber(true).nullable().default(3),
        /** ... only when the new total is at least this amount, so small PIs do not drown the report. */
        pi_increase_minimum: exactNumber(false).default(500),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const configSchema = z
  .object({
    organization: z
      .object({
        name: nameText.min(1).default('Research Computing'),
        department: nameText.optional(),
        contact_email: emailAddress.optional(),
        contact_name: nameText.optional(),
        /** The institution's logo on pages and PDFs: an SVG or PNG file in the repository, at most 512 KB. @example assets/logo.svg */
        logo: z
          .string()
          .regex(/\.(svg|png)$/i, 'expected an .svg or .png file in the repository')
          .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'expected a path inside the repository')
          .optional(),
        /** What the logo says, for screen readers and the PDF's text (default: "<name> logo"). */
        logo_alt: nameText.min(1).optional(),
        /** Colour of links, headings' rules and buttons, as #rrggbb; must read on white (contrast 4.5:1 or more). @example "#8c1515" */
        accent_color: z
          .string()
          .regex(/^#[0-9a-fA-F]{6}$/, 'expected a colour as #rrggbb')
          .superRefine((c, ctx) => {
            if (contrastOnWhite(c) < 4.5)
              ctx.addIssue({
                code: 'custom',
                message: `${c} is too light to read on white (contrast ${contrastOnWhite(c).toFixed(2)}:1, at least 4.5:1 is needed): choose a darker shade`,
              });
          })
          .optional(),
      })
      .strict()
      .prefault({}),
    billing: z
      .object({
        /** BilledCost (cash, ties to the invoice) or EffectiveCost (amortized). */
        cost_basis: z.enum(['BilledCost', 'EffectiveCost']).default('BilledCost'),
        /** Used when a file has no BillingCurrency column. */
        default_currency: z.string().refine(isCurrencyCode, 'expected an ISO 4217 currency code such as USD').default('USD'),
        /** Minor-unit digits per currency where ICU's default is not wanted. @example { JPY: 0 } */
        minor_units: z.record(z.string(), z.number().int().min(0).max(4)).default({}),
        /**
         * A ListCost of 0 on a charge that costs more: `unknown` reads it as no list price (Azure
         * writes 0 for Marketplace and reservation charges), so its list is its cost and above_list
         * holds nothing; `zero` takes it as written. Absent is `zero`, so closed periods read as
         * issued; `init` writes `unknown`.
         */
        zero_list_cost: z.enum(['unknown', 'zero']).optional(),
      })
      .strict()
      .prefault({}),
    tag_mapping: tagMappingSchema.prefault({}),
    sources: z
      .array(sourceSchema)
      .min(1)
      .default([{ name: 'AWS' }, { name: 'Azure' }, { name: 'GCP' }, { name: 'HPC' }, { name: 'Storage' }]),
    flag_rules: flagRulesSchema.prefault({}),
    statements: z
      .object({
        /** Paper for printable statements and PDFs. */
        paper: z.enum(['Letter', 'A4']).default('Letter'),
        /** Charge details listed per statement; smaller charges are summed on one line. */
        detail_rows: z.number().int().min(0).max(5000).default(200),
        /** Markdown at the top of every statement; fields in braces ({pi_name}, {period_label}, {amount_due}…, see docs/POLICY.md#templates). */
        intro: templateSchema(STATEMENT_FIELDS).optional(),
        /** Markdown closing every statement; the same fields. @example Questions? Write to rc-billing@example.edu */
        footer: templateSchema(STATEMENT_FIELDS).optional(),
      })
      .strict()
      .prefault({}),
    data_files: z
      .object({
        /** A plain CSV export larger than this (MB) is stored gzip-compressed (git hosts refuse files over 100 MB). */
        compress_above_mb: z.number().min(0).max(1_000_000).default(50),
        /** A stored file larger than this (MB) needs Git LFS for data/ (`focus-billing init --lfs`). */
        lfs_above_mb: z.number().positive().max(1_000_000).default(95),
        /**
         * Keep an uncompressed copy of each export stored compressed, in .cache/data/ (a hard link to
         * the export where the file system allows, else a copy as large as it; never committed), so
         * that generate and build read the month without inflating it. A .csv.gz stored as delivered
         * gets one when it inflates past compress_above_mb.
         */
        plain_copy: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    web: z
      .object({
        /** The largest file `focus-billing web` accepts in an upload, in megabytes (a larger one: 413, nothing written). */
        max_upload_mb: z.number().int().min(1).max(1_048_576).default(2048),
      })
      .strict()
      .prefault({}),
    site: z
      .object({
        /** Path the site is served under, e.g. /billing/ for GitHub Pages project sites. */
        base_path: z
          .string()
          .regex(/^\/([^?#]*\/)?$/, 'expected a path starting and ending with /')
          .default('/'),
        /** Public URL of the site, for links in emails. @example https://rc.example.edu/billing/ */
        base_url: z
          .url()
          .superRefine((value, ctx) => {
            const problem = siteUrlProblem(value);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional(),
      })
      .strict()
      .prefault({}),
    journal: z
      .object({
        /** Regular expression with named groups splitting a fund/org into ledger fields. @example '^(?<orgn>[^-]+)-(?<fund>.+)$' */
        fund_org_pattern: jsRegex.optional(),
        /** GL account when neither the charge's account_code tag nor its source's gl_account gives one. */
        default_account: z.string().min(1).default('5410'),
        /** Account credited on each source's recharge fund/org (default: the source's gl_account, then default_account). */
        recharge_account: z.string().min(1).optional(),
        /** Description of each GL line; fields in braces. @example '{source} {period} Research Computing Charges' */
        description: z.string().min(1).default('{source} {period} Research Computing Charges'),
        /** Descriptions are cut to this many characters (many ledgers take 30–40). */
        description_max: z.number().int().min(1).max(500).default(35),
        /** Date of the journal entries: end of the period (default) or a fixed day of the following month. */
        date: z.enum(['period_end', 'build_date']).default('period_end'),
        /** GL CSV columns, in order: any of the fields listed in docs/OPERATIONS.md#journal. */
        /**
         * GL CSV columns, in order: a field name (docs/OPERATIONS.md#journal), `{ field, header }` for a
         * field under the ledger's own header, or `{ value, header }` for a column with the same value on
         * every line. @example [{ field: date, header: Trans Date }, { value: ABC, header: Program }, debit, credit]
         */
        columns: z
          .array(
            z.union([
              z.string().min(1),
              z.object({ field: z.string().min(1), header: z.string().min(1).optional() }).strict(),
              z.object({ value: z.string(), header: z.string().min(1) }).strict(),
            ]),
          )
          .min(1)
          .default(['date', 'fund_org', 'account', 'debit', 'credit', 'description', 'reference']),
      })
      .strict()
      .prefault({}),
    email: z
      .object({
        from_name: nameText.min(1).default('Research Computing Billing'),
        /** Sender address. @example rc-billing@example.edu */
        from_address: emailAddress.optional(),
        reply_to: emailAddress.optional(),
        /** Subject; fields in braces: period, period_label, pi_name, organization. */
        subject: nameText.min(1).default('Research Computing Charges - {period_label}'),
        /** Markdown body of the email, above the table of statements; fields in braces ({pi_name}, {amount_due}, {statements_url}…). */
        body: templateSchema(EMAIL_FIELDS).optional(),
        smtp: z
          .object({
            host: z.string().min(1).default('localhost'),
            port: z.number().int().min(1).max(65535).default(587),
            /** starttls (port 587), tls (implicit TLS, port 465), or none (local relays only). */
            security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
            /** Names of the environment variables holding the credentials (never the credentials). */
            user_env: z.string().default('SMTP_USER'),
            password_env: z.string().default('SMTP_PASSWORD'),
            timeout_seconds: z.number().positive().max(600).default(30),
          })
          .strict()
          .prefault({}),
        /** At most this many messages per second. */
        rate_per_second: z.number().positive().max(100).default(2),
        /** Attempts per message on transient failures (4xx replies, dropped connections). */
        attempts: z.number().int().min(1).max(10).default(4),
        /** First wait before retrying; doubled after each attempt. */
        retry_delay_ms: z.number().int().min(0).max(600000).default(2000),
      })
      .strict()
      .prefault({}),
    /** Caps, showback and the accounts of policy lines (adjustments and credits are in their own files). */
    policy: policyConfigSchema.prefault({}),
    pdf: z
      .object({
        /** Chromium or Chrome executable; else OCB_CHROMIUM, Playwright's, or the system's. */
        chromium: z.string().optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.sources.forEach((s, i) => {
      const slug = sourceSlug(s);
      if (!SOURCE_SLUG_PATTERN.test(slug)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'name'],
          message: `source "${s.name}" gives no file name (letters a–z or digits are needed): add slug: <name> to it`,
        });
        return;
      }
      const before = seen.get(slug);
      if (before !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'name'],
          message: `source "${s.name}" has the same file name "${slug}" as sources[${before}]`,
        });
      }
      seen.set(slug, i);
    });
  });

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type TagMapping = z.infer<typeof tagMappingSchema>;

/** The large_charge threshold of a currency: its own (large_charge_per_currency), else large_charge; null when off. */
export function largeChargeThreshold(config: Config, currency: string): number | string | null {
  const anomalies = config.flag_rules.anomalies;
  const own = anomalies.large_charge_per_currency?.[currency];
  return own !== undefined ? own : anomalies.large_charge;
}

export function sourceSlug(source: SourceConfig): string {
  return (
    source.slug ??
    source.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
  );
}

/** The configured display name of a source, from its slug (the slug itself if unknown). */
export function sourceName(config: Config, slug: string): string {
  return config.sources.find((s) => sourceSlug(s) === slug)?.name ?? slug;
}
