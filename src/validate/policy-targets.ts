/**
 * Policy that names what no statement has: a credit or prepayment for a PI or project on no
 * statement of any period (a PI in pis.yaml aside), a program or cap in a currency none is in, a
 * service glob of a cap or program that matches no service billed, a showback project on no
 * statement. Each covers nothing, without a word: most often a typo (`v.romaro@…`, `HPC-GPU*`),
 * which leaves a PI paying what the office meant to cover. Said as warnings: a program set up
 * before its PI's first use is no mistake.
 */
import type { Config } from '../config/schema.ts';
import { composed, piKey } from '../domain/identity.ts';
import { serviceMatcher } from '../policy/apply.ts';
import type { CreditsFile } from '../policy/schema.ts';
import type { StatementSet } from '../statements/build.ts';

const PROJECT_HINT = 'check the project id as the charges’ tags give it (project ids are case-sensitive)';
const GLOB_HINT = 'a glob over ServiceName, * for any text, case-insensitive: check it against the statements’ services';

export interface PolicyTarget {
  message: string;
  file: string;
  hint: string;
}

export function policyTargets(
  config: Config,
  credits: CreditsFile,
  sets: Iterable<StatementSet>,
  /** The PIs pis.yaml lists (their keys). */
  known: Set<string>,
): PolicyTarget[] {
  const pis = new Set(known);
  const projects = new Set<string>();
  const services = new Set<string>();
  const currencies = new Set<string>();
  for (const set of sets)
    for (const s of set.statements) {
      currencies.add(s.currency);
      pis.add(s.pi_email);
      projects.add(s.project_id);
      for (const l of s.lines) if (!l.policy) services.add(l.service);
    }
  const out: PolicyTarget[] = [];
  const inCurrency = (what: string, given: string | undefined, file: string) => {
    const currency = given ?? config.billing.default_currency;
    if (currencies.size > 0 && !currencies.has(currency))
      out.push({
        message: `${what} is in ${currency}, and no statement of any period is (${[...currencies].sort().join(', ')}): it covers statements in its own currency only`,
        file,
        hint: `give it the currency of the statements it is for: currency: ${[...currencies].sort()[0]}`,
      });
  };
  const unmatched = (globs: string[] | undefined) => (globs ?? []).filter((g) => ![...services].some(serviceMatcher([g])));
  const programs = [...credits.credits.map((p) => ({ p, kind: 'credit' })), ...credits.prepayments.map((p) => ({ p, kind: 'prepayment' }))];
  for (const { p, kind } of programs) {
    const what = `${kind} ${p.id}`;
    inCurrency(what, p.currency, 'credits.yaml');
    for (const pi of p.pis ?? [])
      if (!pis.has(piKey(pi)))
        out.push({
          message: `${what} covers PI ${pi}, who is on no statement of any period and not in pis.yaml: it covers nothing for them`,
          file: 'credits.yaml',
          hint: 'check the spelling against the PI’s statements (focus-billing generate --period P --json), or add the PI to pis.yaml',
        });
    for (const project of p.projects ?? [])
      if (!projects.has(composed(project)))
        out.push({
          message: `${what} covers project ${project}, which is on no statement of any period: it covers nothing for it`,
          file: 'credits.yaml',
          hint: PROJECT_HINT,
        });
    for (const glob of unmatched(p.services))
      out.push({
        message: `${what}'s services ${JSON.stringify(glob)} match no service billed in any period`,
        file: 'credits.yaml',
        hint: GLOB_HINT,
      });
  }
  for (const cap of config.policy.caps) {
    inCurrency(`cap ${cap.id}`, cap.currency, 'config.yaml');
    for (const glob of unmatched(cap.services))
      out.push({
        message: `cap ${cap.id}'s services ${JSON.stringify(glob)} match no service billed in any period`,
        file: 'config.yaml',
        hint: GLOB_HINT,
      });
  }
  for (const project of config.policy.showback)
    if (!projects.has(composed(project)))
      out.push({
        message: `showback project ${project} is on no statement of any period`,
        file: 'config.yaml',
        hint: PROJECT_HINT,
      });
  return out;
}
