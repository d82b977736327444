/**
 * Which FOCUS columns a file has. Columns are matched by name, case-insensitively; unknown and
 * `x_` columns are ignored, and are not part of a row's identity (flag ids).
 */
import { otherSeparator } from '../core/csv.ts';
import { showValue, UserError } from '../core/errors.ts';
import type { SniffedFile } from './file.ts';

/** The FOCUS columns the tool reads, by the name used in code. */
export const FOCUS_COLUMNS = {
  billingPeriodStart: 'BillingPeriodStart',
  billedCost: 'BilledCost',
  effectiveCost: 'EffectiveCost',
  listCost: 'ListCost',
  tags: 'Tags',
  currency: 'BillingCurrency',
  chargeCategory: 'ChargeCategory',
  chargeClass: 'ChargeClass',
  chargeDescription: 'ChargeDescription',
  chargePeriodStart: 'ChargePeriodStart',
  chargePeriodEnd: 'ChargePeriodEnd',
  serviceName: 'ServiceName',
  resourceId: 'ResourceId',
  resourceName: 'ResourceName',
  subAccountName: 'SubAccountName',
} as const;

export type FocusField = keyof typeof FOCUS_COLUMNS;

/** Index (0-based, in file order) of each FOCUS column the file has. */
export type ColumnMap = Partial<Record<FocusField, number>>;

/** The code name of a FOCUS column name (as in FOCUS_COLUMNS). */
export function fieldOf(focusName: string): FocusField {
  const hit = (Object.entries(FOCUS_COLUMNS) as [FocusField, string][]).find(([, name]) => name === focusName);
  if (!hit) throw new Error(`${focusName} is not a FOCUS column the tool reads`);
  return hit[0];
}

/** The column charged under the configured cost basis. */
export function costColumn(costBasis: 'BilledCost' | 'EffectiveCost'): FocusField {
  return costBasis === 'EffectiveCost' ? 'effectiveCost' : 'billedCost';
}

/** Columns a file must have under the configured cost basis. Tags is conditional in FOCUS: without it, every row is flagged. */
export function requiredColumns(costBasis: 'BilledCost' | 'EffectiveCost'): FocusField[] {
  return ['billingPeriodStart', costColumn(costBasis)];
}

export function mapColumns(file: SniffedFile, required: FocusField[]): ColumnMap {
  const byName = new Map<string, number[]>();
  file.header.forEach((name, i) => {
    const key = name.toLowerCase();
    byName.set(key, [...(byName.get(key) ?? []), i]);
  });
  const map: ColumnMap = {};
  for (const [field, name] of Object.entries(FOCUS_COLUMNS) as [FocusField, string][]) {
    const found = byName.get(name.toLowerCase());
    if (!found) continue;
    if (found.length > 1) {
      throw new UserError(
        `column ${name} appears ${found.length} times (columns ${found.map((i) => i + 1).join(', ')}): expected it once`,
        { location: { file: file.display, line: 1, column: (found[1] as number) + 1 }, hint: 'remove the duplicate column' },
      );
    }
    map[field] = found[0];
  }
  const missing = required.filter((f) => map[f] === undefined);
  if (missing.length > 0) {
    const names = missing.map((f) => FOCUS_COLUMNS[f]);
    // One column whose name is the whole header split by another character: a spreadsheet saved
    // it with semicolons (a locale with decimal commas) or tabs.
    const wanted = names.map((n) => n.toLowerCase());
    const other =
      file.header.length === 1 ? otherSeparator(file.header[0] as string, (parts) => wanted.every((w) => parts.includes(w))) : undefined;
    if (other)
      throw new UserError(`the columns are separated by ${other}, not commas: expected a FOCUS CSV, found one column`, {
        location: { file: file.display, line: 1, column: 1 },
        hint: 'export it again as comma-separated CSV (a spreadsheet set to a language that writes decimal commas saves semicolons, and its numbers would need points too)',
      });
    const near = missing.map((f) => nearMatch(FOCUS_COLUMNS[f], file.header)).filter((s): s is string => s !== undefined);
    throw new UserError(
      `missing required column${names.length > 1 ? 's' : ''} ${names.join(', ')}: expected a FOCUS header with ${names.join(', ')}, found ${
        file.header.length
      } column${file.header.length === 1 ? '' : 's'} (${preview(file.header)})`,
      {
        location: { file: file.display, line: 1, column: 1 },
        hint: near.length
          ? `did you mean ${near.join(', ')}? Rename the column to the FOCUS name`
          : 'is this a FOCUS export? FOCUS files name their columns BillingPeriodStart, BilledCost, Tags, …',
      },
    );
  }
  return map;
}

function preview(header: string[]): string {
  const shown = header
    .slice(0, 6)
    .map((h) => showValue(h))
    .join(', ');
  return header.length > 6 ? `${shown}, …` : shown;
}

/** A header name close to the wanted one (ignoring case, spaces, underscores). */
function nearMatch(wanted: string, header: string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const w = squash(wanted);
  const hit = header.find((h) => squash(h) === w || (squash(h).length > 3 && (squash(h).includes(w) || w.includes(squash(h)))));
  return hit === undefined ? undefined : `${showValue(hit)} for ${wanted}`;
}
