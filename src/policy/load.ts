/**
 * The policy of a period, read from the repository: its adjustments, the credit programs and
 * prepaid balances of credits.yaml, and config.yaml's caps and showback. A program's balance is
 * never stored: it is derived by applying the policy to every earlier period in order, so a
 * correction to an earlier period moves every later balance (and a closed period whose figures
 * would move is caught by `validate`'s frozen check).
 */
import type { Config } from '../config/schema.ts';
import { readYamlFile } from '../core/yaml-file.ts';
import { layout } from '../repo/layout.ts';
import type { StatementSet } from '../statements/build.ts';
import { applyPolicy, type PolicyInput, type PolicyResult, programActive, writtenMinor } from './apply.ts';
import { type Adjustment, adjustmentsFileSchema, type CreditsFile, creditsFileSchema } from './schema.ts';

const ADJUSTMENTS_HINT = 'see docs/POLICY.md#adjustments for the shape of adjustments.yaml';
const CREDITS_HINT = 'see docs/POLICY.md#credits-and-prepayments for the shape of credits.yaml';

export async function loadAdjustments(root: string, period: string): Promise<Adjustment[]> {
  const file = await readYamlFile(
    layout.adjustmentsFile(root, period),
    `periods/${period}/adjustments.yaml`,
    adjustmentsFileSchema,
    ADJUSTMENTS_HINT,
    () => ({ adjustments: [] }),
  );
  return file.adjustments;
}

export async function loadCredits(root: string): Promise<CreditsFile> {
  return readYamlFile(layout.creditsFile(root), 'credits.yaml', creditsFileSchema, CREDITS_HINT, () => ({ credits: [], prepayments: [] }));
}

/** Whether anything of the policy can touch this period's statements. */
export function hasPolicy(config: Config, credits: CreditsFile, adjustments: Adjustment[], period: string): boolean {
  return (
    adjustments.length > 0 ||
    config.policy.caps.length > 0 ||
    config.policy.showback.length > 0 ||
    [...credits.credits, ...credits.prepayments].some((p) => programActive(p, period))
  );
}

/**
 * Applies the policy to a period. `earlier` gives the base statements of an earlier period (it is
 * asked only for periods with data where a program was active before this one), to derive the
 * programs' opening balances.
 */
export async function periodPolicy(
  root: string,
  config: Config,
  period: string,
  base: StatementSet,
  periodsWithData: string[],
  earlier: (period: string) => Promise<StatementSet>,
  minorDigits: (currency: string) => number,
  /** Balances after each period already computed by this command (period → every program's balance): saves re-deriving them. */
  known: Map<string, Map<string, bigint>> = new Map(),
): Promise<PolicyResult & { applied: boolean }> {
  const [credits, adjustments] = await Promise.all([loadCredits(root), loadAdjustments(root, period)]);
  if (!hasPolicy(config, credits, adjustments, period)) return { set: base, closing: new Map(), applied: false };
  const programs = [...credits.credits, ...credits.prepayments];
  // A balance is drawn to the cent: one of 0.004 would be nothing, without a word.
  for (const [kind, list] of [
    ['credit', credits.credits],
    ['prepayment', credits.prepayments],
  ] as const)
    for (const p of list) {
      const currency = p.currency ?? config.billing.default_currency;
      writtenMinor(
        `${kind} ${p.id}`,
        p.amount,
        currency,
        minorDigits(currency),
        { file: 'credits.yaml' },
        'a balance is drawn down to the cent',
      );
    }
  let opening = new Map<string, bigint>();
  const firstStart = programs.map((p) => p.start).sort()[0];
  if (firstStart !== undefined) {
    const before = periodsWithData.filter((x) => x >= firstStart && x < period && programs.some((p) => programActive(p, x))).sort();
    // Start from the latest period this command already derived, if any.
    const from = before.findLastIndex((q) => known.has(q));
    if (from >= 0) opening = new Map(known.get(before[from] as string));
    for (const q of before.slice(from + 1)) {
      const done = applyPolicy(await earlier(q), input(config, q, await loadAdjustments(root, q), credits, opening, minorDigits));
      for (const [id, balance] of done.closing) opening.set(id, balance);
      known.set(q, new Map(opening));
    }
  }
  const result = applyPolicy(base, input(config, period, adjustments, credits, opening, minorDigits));
  const after = new Map(opening);
  for (const [id, balance] of result.closing) after.set(id, balance);
  known.set(period, after);
  return { ...result, applied: true };
}

function input(
  config: Config,
  period: string,
  adjustments: Adjustment[],
  credits: CreditsFile,
  opening: Map<string, bigint>,
  minorDigits: (currency: string) => number,
): PolicyInput {
  return {
    period,
    config: config.policy,
    defaultCurrency: config.billing.default_currency,
    adjustments,
    credits: credits.credits,
    prepayments: credits.prepayments,
    opening: new Map(opening),
    minorDigits,
  };
}
