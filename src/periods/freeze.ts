/**
 * What a closed period freezes besides its data files and flags: everything its statements show.
 * At closing, a hash of each is recorded in period.yaml; `validate` recomputes them and names
 * whatever changed since, so a closed statement can change only through `periods reopen`:
 *
 * - the statements as issued (numbers, attribution, every amount): a change of cost basis,
 *   minor units, tag mapping or flag rules that moves any of them is refused, and the settings
 *   that differ are named as the cause; a change that leaves them as issued (a new source, a
 *   rule for later months) is not;
 * - what they show besides amounts: the organization, the statement settings, the names of the
 *   sources billed, the period's notes.mdx, and the pis.yaml entries of its PIs.
 */
import { readFile } from 'node:fs/promises';
import type { PiDirectory } from '../config/pi-directory.ts';
import { type Config, sourceName } from '../config/schema.ts';
import { formatUnits, parseDecimal } from '../core/money.ts';
import { piKey } from '../domain/identity.ts';
import { canonicalJson } from '../domain/order.ts';
import { sha256Text } from '../repo/hash.ts';
import { layout } from '../repo/layout.ts';
import type { Frozen } from '../repo/period-file.ts';
import type { Statement, StatementSet } from '../statements/build.ts';

/** config.yaml settings that change what a statement bills or shows. */
export const FROZEN_SETTINGS = ['organization', 'billing', 'tag_mapping', 'sources', 'flag_rules', 'statements', 'policy'] as const;

/**
 * What was issued: each statement's number, PI, project, fund/org and amounts, line by line, and
 * the reconciliation. Fields a later version of the tool adds to its output are left out, so an
 * upgrade does not look like a change to a closed period.
 */
function issued(set: StatementSet) {
  return {
    statements: set.statements.map((s) => ({
      number: s.number,
      pi: s.pi_email,
      project: s.project_id,
      fund_org: s.fund_org,
      currency: s.currency,
      list: issuedList(s),
      amount_due: s.amount_due,
      lines: s.lines.map((l) => [l.source, l.service, l.category, l.list, l.amount]),
    })),
    reconciliation: set.reconciliation.map((r) => [r.currency, r.input, r.statements, r.excluded_pending, r.excluded_rejected]),
  };
}

/**
 * A statement's list price as hashed since before prepayments were counted apart from it (the
 * list then took each prepayment line at its amount): a period closed then still reads the same.
 */
function issuedList(s: Statement): string {
  const digits = s.list.split('.')[1]?.length ?? 0;
  const prepaid = parseDecimal(s.prepaid, digits);
  return prepaid === 0n ? s.list : formatUnits(parseDecimal(s.list, digits) - prepaid, digits);
}

export async function frozenOf(root: string, period: string, config: Config, set: StatementSet, directory: PiDirectory): Promise<Frozen> {
  const notes = await readFile(layout.notesFile(root, period)).catch(() => null);
  const pis = [...new Set(set.statements.map((s) => piKey(s.pi_email)))].sort().map((k) => [k, directory.get(k) ?? null]);
  const sources = [...new Set(set.statements.flatMap((s) => s.lines.map((l) => l.source)))]
    .sort()
    .map((slug) => [slug, sourceName(config, slug)]);
  return {
    statements: sha256Text(canonicalJson(issued(set))),
    presentation: sha256Text(canonicalJson({ organization: config.organization, statements: config.statements, sources })),
    settings: Object.fromEntries(FROZEN_SETTINGS.map((k) => [k, sha256Text(canonicalJson(config[k]))])),
    notes: notes === null ? null : sha256Text(notes),
    pis: sha256Text(canonicalJson(pis)),
  };
}

/** What differs between a closed period's frozen hashes and now, in words, with the file to look at. */
export function frozenChanges(was: Frozen, now: Frozen): { what: string; file: string }[] {
  const out: { what: string; file: string }[] = [];
  const settings = FROZEN_SETTINGS.filter((k) => was.settings[k] !== undefined && was.settings[k] !== now.settings[k]);
  if (was.statements !== now.statements)
    out.push({
      what: `its statements (amounts, attribution or numbers) changed${
        settings.length
          ? `, with config.yaml's ${settings.join(', ')} settings`
          : ', with no config.yaml setting changed: credits.yaml, an earlier period, or a version of focus-billing that reads or computes them otherwise'
      }`,
      file: settings.length ? 'config.yaml' : '',
    });
  if (was.presentation !== now.presentation)
    out.push({ what: 'what its statements show (organization, statement settings or source names) changed', file: 'config.yaml' });
  if (was.notes !== now.notes)
    out.push({
      what: `its notes ${now.notes === null ? 'were removed' : was.notes === null ? 'were added' : 'changed'}`,
      file: 'notes.mdx',
    });
  if (was.pis !== now.pis) out.push({ what: 'the PI directory entries of its PIs changed', file: 'pis.yaml' });
  return out;
}
