/** Largest-remainder rounding: parts that sum exactly to a rounded total. */
import { pow10, SCALE } from '../core/money.ts';

/**
 * Rounds exact amounts (units of 10^-SCALE) to minor units so that they sum to `total`:
 * each is rounded down, and the units left over go to the largest remainders.
 */
export function apportion(exact: bigint[], total: bigint, digits: number): bigint[] {
  const unit = pow10(SCALE - digits);
  const floors = exact.map((e) => (e >= 0n ? e / unit : -((-e + unit - 1n) / unit)));
  let left = total - floors.reduce((a, b) => a + b, 0n);
  const order = exact
    .map((e, i) => ({ i, rem: e - (floors[i] as bigint) * unit }))
    .sort((a, b) => (b.rem > a.rem ? 1 : b.rem < a.rem ? -1 : a.i - b.i));
  const out = [...floors];
  for (let k = 0; left !== 0n && order.length > 0; k = (k + 1) % order.length) {
    const step = left > 0n ? 1n : -1n;
    const idx = (left > 0n ? order[k] : order[order.length - 1 - k])?.i as number;
    out[idx] = (out[idx] as bigint) + step;
    left -= step;
  }
  return out;
}
