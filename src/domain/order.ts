/**
 * The one order the tool sorts text by: a collator fixed to en-US, the order a machine with
 * `LANG=C` or `en_US` gives. The machine's own locale would make it differ from one machine to
 * the next: Czech sorts "ch" after "h", Danish "aa" after "z", Lithuanian "y" before "j". Then
 * statements, journal lines and the keys of hashed settings came out in another order, and a
 * period closed on one machine failed `validate` on another ("its statements changed").
 */
const collator = new Intl.Collator('en-US');

/** Compares two texts in the tool's one order (for `sort`). */
export function compareText(a: string, b: string): number {
  return collator.compare(a, b);
}

/**
 * JSON with object keys sorted, so equal values always give one text (closed periods hash it:
 * its output must never change).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => compareText(a, b))) : v,
  );
}
