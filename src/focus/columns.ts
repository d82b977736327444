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
    // A provider's other billing export: renaming its columns would not make it FOCUS.
    const known = otherExport(file.header);
    if (known)
      throw new UserError(
        `this is ${known.name}, not a FOCUS export: expected a FOCUS header with ${names.join(', ')}, found ${preview(file.header)}`,
        { location: { file: file.display, line: 1, column: 1 }, hint: known.fix },
      );
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

/**
 * Billing exports that are not FOCUS, known by their columns, and how to have the same provider
 * export FOCUS (FOCUS-NOTES, section 3).
 */
const OTHER_EXPORTS: { name: string; is: (columns: Set<string>) => boolean; fix: string }[] = [
  {
    name: 'an AWS Cost and Usage Report (CUR)',
    is: (c) => ['lineitem/unblendedcost', 'identity/lineitemid', 'line_item_unblended_cost', 'identity_line_item_id'].some((n) => c.has(n)),
    fix: 'create a FOCUS export in AWS Billing and Cost Management (Data Exports, "FOCUS 1.0 with AWS columns") and ingest its files',
  },
  {
    name: 'an Azure cost details export (actual or amortized cost)',
    is: (c) => c.has('costinbillingcurrency') || c.has('pretaxcost') || (c.has('metercategory') && c.has('subscriptionid')),
    fix: 'create an export of the "Cost and usage details (FOCUS)" dataset (FocusCost) in Azure Cost Management, Exports, and ingest its files',
  },
  {
    name: 'a Google Cloud billing export',
    is: (c) => c.has('billing_account_id') && c.has('cost'),
    fix: "export Google Cloud's FOCUS billing data from BigQuery (its FOCUS export or FOCUS view) as CSV or Parquet, and ingest that",
  },
  {
    name: 'an Oracle Cloud cost report',
    is: (c) => c.has('cost/mycost') || c.has('lineitem/referenceno'),
    fix: 'ingest the FOCUS cost reports OCI writes beside them (the "FOCUS Reports" folder of the cost report bucket)',
  },
];

function otherExport(header: string[]): { name: string; fix: string } | undefined {
  const columns = new Set(header.map((h) => h.trim().toLowerCase()));
  return OTHER_EXPORTS.find((e) => e.is(columns));
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
