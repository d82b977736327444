/** Collects values for a parameterised query, handing out `$pN` placeholders. */
import type { DuckDBValue } from '@duckdb/node-api';
import { nodeApi } from './node-api.ts';

export type SqlValue = string | number | boolean | null | string[] | number[];

export class Params {
  readonly values: Record<string, DuckDBValue> = {};
  private n = 0;

  add(value: SqlValue): string {
    const name = `p${this.n++}`;
    this.values[name] = Array.isArray(value) ? nodeApi().listValue(value) : value;
    return `$${name}`;
  }
}

/** A SQL string literal, for the few places DuckDB needs a constant (e.g. json_transform's schema). */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
