/**
 * Turns flagged rows into flags, and merges a new set with the decisions already recorded.
 * Pure: no I/O.
 */
import { type Config, largeChargeThreshold } from '../config/schema.ts';
import { parseDecimal, plainDecimal, trimDecimal } from '../core/money.ts';
import { flagId } from '../domain/identity.ts';
import { compareText } from '../domain/order.ts';
import { attributionProblem, CHARGE_CATEGORIES, CORE_ATTRIBUTES, type FlagRule } from '../domain/rules.ts';
import type { FlaggedRow } from '../focus/scan.ts';
import type { Flag } from './schema.ts';

export interface FlagContext {
  config: Config;
  source: string;
  period: string;
}

/**
 * Builds flags with stable ids: the row hash, and `-N` for the N-th identical row. Rows come in
 * file order (the parts of an export one after the other), each with the data file it is in.
 */
export function buildFlags(rows: (FlaggedRow & { file: string })[], ctx: FlagContext): Flag[] {
  const seen = new Map<string, number>();
  const flags = rows.map((row) => {
    const n = (seen.get(row.row_hash) ?? 0) + 1;
    seen.set(row.row_hash, n);
    const [rule, ...also] = row.rules as [FlagRule, ...FlagRule[]];
    const flag: Flag = {
      id: flagId(row.row_hash, n),
      status: 'pending',
      rule,
      ...(also.length ? { also } : {}),
      message: row.rules.map((r) => ruleMessage(r, row, ctx)).join('; '),
      source: ctx.source,
      file: row.file,
      line: row.line,
      charge: {
        pi_email: row.pi_email,
        project_id: row.project_id,
        fund_org: row.fund_org,
        service: row.service,
        resource: row.resource_name ?? row.resource_id,
        date: row.charge_date,
        period: row.period,
        currency: row.currency,
        amount: trimDecimal(row.cost),
        list: trimDecimal(row.list_cost),
      },
    };
    return flag;
  });
  return flags.sort((a, b) => compareText(a.file, b.file) || a.line - b.line || compareText(a.id, b.id));
}

function ruleMessage(rule: FlagRule, row: FlaggedRow, ctx: FlagContext): string {
  const keys = (a: 'pi_email' | 'project_id' | 'fund_org') => ctx.config.tag_mapping[a].join(', ');
  switch (rule) {
    case 'invalid_tags':
      return 'Tags is not a JSON object with each key once, so the charge has no attribution';
    case 'missing_pi_email':
      return `no PI email in Tags (looked for ${keys('pi_email')})`;
    case 'missing_project_id':
      return `no project id in Tags (looked for ${keys('project_id')})`;
    case 'missing_fund_org':
      return `no fund/org in Tags (looked for ${keys('fund_org')})`;
    case 'invalid_attribution':
      return invalidAttributionMessage(row);
    case 'invalid_fund_org':
      return `fund/org ${JSON.stringify(row.fund_org)} matches none of flag_rules.fund_org_patterns`;
    case 'pattern_match': {
      const p = ctx.config.flag_rules.patterns[row.pattern_index ?? 0];
      const subject =
        p?.field === 'service'
          ? `service ${JSON.stringify(row.service)}`
          : `resource ${JSON.stringify(row.resource_name ?? row.resource_id)}`;
      return p?.message ?? `${subject} matches /${p?.pattern}/`;
    }
    case 'large_charge':
      return `a single charge of ${row.cost_raw} ${row.currency} is above the review threshold (${plainDecimal(largeChargeThreshold(ctx.config, row.currency) ?? 0)} ${row.currency})`;
    case 'above_list': {
      const message = `billed ${trimDecimal(row.cost)} is above the list price ${trimDecimal(row.list_cost)}`;
      // A list of 0 is most often no list price at all (Azure's Marketplace charges): say how to read it so.
      return parseDecimal(row.list_cost) === 0n && ctx.config.billing.zero_list_cost === undefined
        ? `${message}; a ListCost of 0 is how Azure writes a Marketplace or reservation charge: set billing.zero_list_cost: unknown in config.yaml to read it as no list price`
        : message;
    }
    case 'negative_usage':
      return `negative usage charge (${trimDecimal(row.cost)}) that is not a credit: check it is a refund or correction`;
    case 'period_mismatch':
      return `charge is for ${row.period}, but the file is stored under ${ctx.period}`;
    case 'conflicting_tags':
      return `Tags gives ${row.tags_conflict} under more than one key, with different values; the charge shows the one tag_mapping puts first: approve it if that is right, or assign the right one`;
    case 'unknown_category':
      return `ChargeCategory ${JSON.stringify(row.category)} is none of FOCUS's ${CHARGE_CATEGORIES.join(', ')}: check what the charge is before it is billed`;
  }
}

function invalidAttributionMessage(row: FlaggedRow): string {
  const notText = new Set(row.tags_not_text?.split(', ') ?? []);
  const problems = CORE_ATTRIBUTES.flatMap((a) => {
    const value = row[a];
    if (value === null) return [];
    // Tags gave it as JSON that is no text (tagNotTextSql); a string that looks like one ("true", "1.10") is text.
    if (notText.has(a)) {
      if (/^[-0-9]/.test(value)) return [`${a} is a number (read as ${value}), not text: its digits as the export wrote them are lost`];
      const kind = value.startsWith('{') ? 'an object' : value.startsWith('[') ? 'a list' : 'a boolean';
      return [`${a} is ${kind} (${JSON.stringify(value)}), not text`];
    }
    const problem = attributionProblem(a, value);
    return problem && problem !== 'missing' ? [`${a} ${JSON.stringify(value)} ${problem}`] : [];
  });
  return problems.length ? problems.join('; ') : 'the attribution in Tags cannot be billed as it is';
}

/**
 * Replaces one source's flags with a new set, keeping every decision (status, reviewer, time,
 * note, assignment) recorded on an id that is still there. Other sources' flags are untouched.
 */
export function mergeFlags(existing: Flag[], incoming: Flag[], source: string): { flags: Flag[]; kept: number; dropped: number } {
  const previous = new Map(existing.filter((f) => f.source === source).map((f) => [f.id, f]));
  let kept = 0;
  const merged = incoming.map((flag) => {
    const old = previous.get(flag.id);
    if (!old || (old.status === 'pending' && !old.assign && !old.note)) return flag;
    kept++;
    const { status, decided_by, decided_at, note, assign } = old;
    return stripUndefined({ ...flag, status, decided_by, decided_at, note, assign });
  });
  const incomingIds = new Set(incoming.map((f) => f.id));
  const dropped = [...previous.values()].filter((f) => f.status !== 'pending' && !incomingIds.has(f.id)).length;
  const others = existing.filter((f) => f.source !== source);
  // Only a flag that kept a decision can hold an undefined: built flags and read ones have none.
  return { flags: [...others, ...merged], kept, dropped };
}

function stripUndefined(flag: Flag): Flag {
  return Object.fromEntries(Object.entries(flag).filter(([, v]) => v !== undefined)) as Flag;
}
