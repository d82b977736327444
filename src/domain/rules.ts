/**
 * The review vocabulary every part shares: the attributes a charge is billed by, the flag rules
 * that hold a charge for review, the problems that refuse a whole file, and what makes an
 * attribution value usable. Facts only; this folder imports nothing.
 */

/** Attributes read from a charge's Tags (the names in config.yaml `tag_mapping`). */
export const ATTRIBUTES = ['pi_email', 'project_id', 'fund_org', 'cost_center', 'account_code', 'reference_1', 'reference_2'] as const;
export type Attribute = (typeof ATTRIBUTES)[number];

/** The attributes a statement is keyed by: a charge without all three cannot be billed. */
export const CORE_ATTRIBUTES = ['pi_email', 'project_id', 'fund_org'] as const satisfies readonly Attribute[];
export type CoreAttribute = (typeof CORE_ATTRIBUTES)[number];

/** The rules Tags alone decides: every row with the same (trimmed) Tags text triggers the same ones. */
export const TAG_RULES = [
  'invalid_tags',
  'missing_pi_email',
  'missing_project_id',
  'missing_fund_org',
  'invalid_attribution',
  'invalid_fund_org',
  'conflicting_tags',
] as const;

/** The rules each row's other columns decide. New rules go last: a flag's `rule` is the first it triggered, and must not move. */
export const ROW_RULES = ['pattern_match', 'large_charge', 'above_list', 'negative_usage', 'period_mismatch', 'unknown_category'] as const;

/** FOCUS ChargeCategory values, as the spec spells them (files may differ in case). */
export const CHARGE_CATEGORIES = ['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment'] as const;

/** Rules that hold a charge for review. A flag's `rule` is the first it triggered, in this order. */
export const FLAG_RULES = [...TAG_RULES, ...ROW_RULES] as const;
export type FlagRule = (typeof FLAG_RULES)[number];

export function isFlagRule(value: string): value is FlagRule {
  return (FLAG_RULES as readonly string[]).includes(value);
}

export const FLAG_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type FlagStatus = (typeof FLAG_STATUSES)[number];

/** Problems in a row that refuse the whole file, in the order they are reported. */
export const ROW_ERRORS = ['bad_text', 'bad_period', 'bad_cost', 'bad_list', 'bad_currency', 'bad_charge_start', 'bad_charge_end'] as const;
export type RowError = (typeof ROW_ERRORS)[number];

/**
 * Characters that show nothing, or reorder what follows, in an identifier: the soft hyphen, the
 * zero-width space and word joiner, the byte-order mark, and the bidirectional embeddings,
 * overrides and isolates. `atlas` followed by a zero-width space looks like `atlas` and would be
 * another project, on a statement of its own; `\u202e` makes an id read backwards. (The zero-width
 * non-joiner and joiner are left alone: Persian and Indic words and emoji use them.) Literal
 * characters, so that the text is one pattern for JavaScript and RE2 alike.
 */
const INVISIBLE = '\u00ad\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069';
/** The spaces JavaScript's `\s` matches beyond RE2's ASCII ones: written out, so both match them. */
const UNICODE_SPACES = '\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000';
/** What no part of an email address may hold. */
const NOT_IN_EMAIL = `\\s${UNICODE_SPACES}@"<>(),;:\\\\\\[\\]\\x00-\\x1f\\x7f-\\x9f${INVISIBLE}`;

/**
 * An email address as billing uses it: one @, a dotted domain, no spaces, quotes, brackets,
 * separators, control or invisible characters. The same text is a JavaScript and an RE2 (DuckDB)
 * pattern, so ingest and `review assign` judge a value alike.
 */
export const EMAIL_PATTERN = `^[^${NOT_IN_EMAIL}]+@[^${NOT_IN_EMAIL}.]+(\\.[^${NOT_IN_EMAIL}.]+)+$`;
/** A control character (C0, DEL or C1) or an invisible one (INVISIBLE), which no attribution value may hold. JavaScript and RE2 alike. */
export const CONTROL_PATTERN = `[\\x00-\\x1f\\x7f-\\x9f${INVISIBLE}]`;

const EMAIL_RE = new RegExp(EMAIL_PATTERN);
const CONTROL_RE = new RegExp(CONTROL_PATTERN);
/** Half a UTF-16 surrogate pair: no Unicode text (a JSON body or a YAML escape can still hold one), and nothing UTF-8 can store. */
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string is Unicode text, which UTF-8 files (flags.yaml, a commit message) can hold: no half of a surrogate pair. */
export function isUnicodeText(value: string): boolean {
  return !LONE_SURROGATE_RE.test(value);
}

const LINE_BREAK_RE = /[\r\n\u2028\u2029]/;

/**
 * "holds a control or invisible character (U+200B)": which one, since neither shows where it is
 * (a zero-width space in `w.chen​@example.edu`), or null without one.
 */
function controlProblem(value: string): string | null {
  const found = CONTROL_RE.exec(value)?.[0];
  if (found === undefined) return null;
  return `holds a control or invisible character (U+${(found.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')})`;
}

/**
 * Why a name shown to PIs (in pis.yaml or config.yaml) cannot be used, or null: a line break
 * (it would split the statement's PI line, and an email's To: or Subject:), a control or
 * invisible character, or half a surrogate pair.
 */
export function nameProblem(value: string): string | null {
  if (LINE_BREAK_RE.test(value)) return 'holds a line break';
  const control = controlProblem(value);
  if (control) return control;
  if (!isUnicodeText(value)) return 'is not Unicode text (half a surrogate pair)';
  return null;
}

/**
 * Why a value cannot attribute a charge (`missing` or a reason), or null when it can. Values
 * arrive trimmed of spaces; blank is missing.
 */
export function attributionProblem(attribute: CoreAttribute, value: string | null | undefined): string | null {
  if (value === null || value === undefined || value.trim() === '') return 'missing';
  const control = controlProblem(value);
  if (control) return control;
  if (!isUnicodeText(value)) return 'is not Unicode text (half a surrogate pair)';
  if (attribute === 'pi_email' && !EMAIL_RE.test(value.trim())) return 'is not an email address';
  return null;
}

/** The three core attributes are all present and usable. */
export function isAttributed(a: Attribution): boolean {
  return CORE_ATTRIBUTES.every((k) => attributionProblem(k, a[k]) === null);
}

/**
 * Flags approved with nothing to bill them to (no usable PI, project and fund/org, and no
 * assignment; `review approve` refuses them, a hand edit does not): their charges stay held back
 * as if pending.
 */
export function unbillableApprovals<F extends { status: string; assign?: Attribution; charge: Attribution }>(flags: F[]): F[] {
  return flags.filter((f) => f.status === 'approved' && !isAttributed(f.assign ?? f.charge));
}

type Attribution = { pi_email: string | null; project_id: string | null; fund_org: string | null };
