/**
 * The config's regular expressions that DuckDB runs (flag rule patterns, fund/org patterns) are
 * checked by DuckDB itself, RE2, when a command opens the repository: a pattern RE2 cannot run
 * (a look-ahead, a back-reference) is reported at its line in config.yaml, not later as a fault
 * of whichever data file happened to be read.
 */

import { UserError } from '../core/errors.ts';
import type { Located } from '../core/yaml-file.ts';
import type { Database } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import type { Config } from './schema.ts';

export async function checkPatterns(db: Database, config: Located<Config>): Promise<void> {
  const patterns: { path: (string | number)[]; pattern: string }[] = [
    ...config.data.flag_rules.fund_org_patterns.map((pattern, i) => ({ path: ['flag_rules', 'fund_org_patterns', i], pattern })),
    ...config.data.flag_rules.patterns.map((p, i) => ({ path: ['flag_rules', 'patterns', i, 'pattern'], pattern: p.pattern })),
  ];
  for (const { path, pattern } of patterns) {
    try {
      await db.query("SELECT regexp_matches('', $pattern) AS m", { pattern });
    } catch (e) {
      const reason = ((e as Error).message.split('\n')[0] ?? '').replace(/^Invalid Input Error:\s*/, '');
      throw new UserError(`${path.join('.')}: ${JSON.stringify(pattern)} is not a pattern DuckDB can run (${reason})`, {
        location: config.locate(path),
        hint: 'patterns use RE2 syntax: no look-ahead (?!…) or back-references; (?i) makes one case-insensitive',
      });
    }
  }
}

/** flag_rules.fund_org_patterns as the one RE2 alternation the invalid_fund_org rule runs, or null when none is set. */
export function fundOrgPattern(config: Config): string | null {
  const patterns = config.flag_rules.fund_org_patterns;
  return patterns.length ? patterns.map((p) => `(?:${p})`).join('|') : null;
}

/**
 * The fund/orgs among `values` that fully match none of flag_rules.fund_org_patterns, as the
 * invalid_fund_org rule decides (DuckDB's RE2, not JavaScript's regular expressions, which read
 * some patterns otherwise); none when no pattern is set.
 */
export async function fundOrgsOutsidePatterns(db: Database, config: Config, values: readonly string[]): Promise<Set<string>> {
  const pattern = fundOrgPattern(config);
  if (pattern === null || values.length === 0) return new Set();
  const params = new Params();
  const rows = await db.query<{ v: string }>(
    `SELECT DISTINCT v FROM (SELECT unnest(${params.add([...values])}::VARCHAR[]) AS v) WHERE NOT regexp_full_match(v, ${params.add(pattern)})`,
    params.values,
  );
  return new Set(rows.map((r) => r.v));
}
