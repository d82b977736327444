import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { parseConfig } from '../src/config/load.ts';
import { largeChargeThreshold } from '../src/config/schema.ts';
import { UserError } from '../src/core/errors.ts';
import { plainDecimal } from '../src/core/money.ts';
import { parseYaml } from '../src/core/yaml-file.ts';
import { cli, makeRepo, removeDir } from './helpers.ts';

function configError(text: string): string {
  try {
    parseConfig(text, 'config.yaml');
  } catch (e) {
    assert.ok(e instanceof UserError);
    return e.format();
  }
  assert.fail('expected an error');
}

describe('config.yaml', () => {
  it('fills every default from an empty file', () => {
    const c = parseConfig('', 'config.yaml');
    assert.equal(c.billing.cost_basis, 'BilledCost');
    assert.equal(c.billing.default_currency, 'USD');
    assert.deepEqual(c.tag_mapping.pi_email, ['pi_email']);
    assert.deepEqual(
      c.sources.map((s) => s.name),
      ['AWS', 'Azure', 'GCP', 'HPC', 'Storage'],
    );
    assert.equal(c.flag_rules.missing_fund_org, true);
  });
  it('accepts one tag key or a list', () => {
    const c = parseConfig('tag_mapping:\n  pi_email: owner\n  project_id: [proj, project]\n', 'config.yaml');
    assert.deepEqual(c.tag_mapping.pi_email, ['owner']);
    assert.deepEqual(c.tag_mapping.project_id, ['proj', 'project']);
  });
  it('names the line of an unknown setting', () => {
    assert.equal(
      configError('billing:\n  cost_basis: BilledCost\n  curency: USD\n'),
      'config.yaml:2:3: billing: unknown setting "curency"\n  hint: see docs/OPERATIONS.md#configuration for every setting and its default',
    );
  });
  it('says which values are allowed', () => {
    assert.match(
      configError('billing:\n  cost_basis: Billed\n'),
      /^config\.yaml:2:15: billing\.cost_basis: expected one of "BilledCost", "EffectiveCost"/,
    );
  });
  it('says a bare number is to be quoted where text is wanted, and names what is missing', () => {
    // YAML reads 100.50 as the number 100.5: an amount is written as text, digits as they are.
    assert.match(
      configError('policy:\n  caps:\n    - { id: c, services: [x], per: pi, above: 100.50 }\n'),
      /^config\.yaml:3:\d+: policy\.caps\.0\.above: expected text, found the number 100\.5: put the value in quotes, as written \(such as "100\.5"\)/,
    );
    assert.match(
      configError('policy:\n  caps:\n    - { services: [x], per: pi, above: "1" }\n'),
      /^config\.yaml:3:\d+: policy\.caps\.0\.id: expected text, found nothing/,
    );
    assert.match(configError('organization:\n  name: [a, b]\n'), /^config\.yaml:2:\d+: organization\.name: expected text, found a list\n/);
  });
  it('refuses a threshold or factor no exact decimal holds (1e21, 23 digits, 1e-30), which failed the ingest with an internal error', () => {
    const first = (text: string) => configError(`flag_rules:\n  anomalies:\n${text}`).split('\n')[0] ?? '';
    assert.deepEqual(
      [
        first('    large_charge: 1e21\n'),
        first('    large_charge: "99999999999999999999999"\n'),
        first('    large_charge: 0.0000000000000000001\n'),
        first('    large_charge: 0\n'),
        first('    large_charge: "0.00"\n'),
        first('    pi_increase: 1e-30\n'),
        first('    pi_increase_minimum: .inf\n'),
      ],
      [
        'config.yaml:3:19: flag_rules.anomalies.large_charge: expected less than 10^20, found the number 1e+21',
        'config.yaml:3:19: flag_rules.anomalies.large_charge: expected less than 10^20, found the text "99999999999999999999999"',
        'config.yaml:3:19: flag_rules.anomalies.large_charge: expected an exact decimal with at most 18 decimal places, found the number 1e-19',
        'config.yaml:3:19: flag_rules.anomalies.large_charge: expected a value above 0',
        'config.yaml:3:19: flag_rules.anomalies.large_charge: expected more than 0, found the text "0.00"',
        'config.yaml:3:18: flag_rules.anomalies.pi_increase: expected an exact decimal with at most 18 decimal places, found the number 1e-30',
        'config.yaml:3:26: flag_rules.anomalies.pi_increase_minimum: expected a number, found the number Infinity',
      ],
    );
    assert.equal(
      first('    large_charge_per_currency: { yen: 1000 }\n'),
      'config.yaml:3:39: flag_rules.anomalies.large_charge_per_currency.yen: yen is not an ISO 4217 currency code such as JPY',
    );
    // A currency's own threshold, else large_charge; absent unless set, so closed periods' settings hash as before.
    const yen = parseConfig('flag_rules:\n  anomalies:\n    large_charge_per_currency: { JPY: 1500000 }\n', 'config.yaml');
    assert.deepEqual([largeChargeThreshold(yen, 'JPY'), largeChargeThreshold(yen, 'USD')], [1500000, 10000]);
    assert.equal('large_charge_per_currency' in parseConfig('', 'config.yaml').flag_rules.anomalies, false);
    // Kept as read (closed periods hash the settings), and a small one written plainly for the query.
    const config = parseConfig('flag_rules:\n  anomalies:\n    large_charge: 1e-7\n', 'config.yaml');
    assert.equal(config.flag_rules.anomalies.large_charge, 1e-7);
    assert.equal(plainDecimal(1e-7), '0.0000001');
  });

  it('says an empty value or list, and a number out of range, in the tool\'s words (not zod\'s "Too small: expected array to have >=1 items")', () => {
    const first = (text: string) => configError(text).split('\n')[0] ?? '';
    assert.equal(
      first('flag_rules:\n  patterns:\n    - { field: service, pattern: "" }\n'),
      'config.yaml:3:34: flag_rules.patterns.0.pattern: expected text, found an empty value',
    );
    assert.equal(first('flag_rules:\n  max_flags: 0\n'), 'config.yaml:2:14: flag_rules.max_flags: expected a value of at least 1');
    assert.equal(first('flag_rules:\n  max_flags: 100001\n'), 'config.yaml:2:14: flag_rules.max_flags: expected a value of at most 100000');
    assert.equal(
      first('policy:\n  caps:\n    - { id: c, services: [], per: pi, above: "1" }\n'),
      'config.yaml:3:26: policy.caps.0.services: expected at least 1 item, found an empty list',
    );
    // A whole number, a number written in quotes, a web address (zod's "expected int", "expected number", "Invalid URL").
    assert.equal(
      first('flag_rules:\n  max_flags: 1.5\n'),
      'config.yaml:2:14: flag_rules.max_flags: expected a whole number, found the number 1.5',
    );
    assert.equal(
      first('billing:\n  minor_units: { USD: "2" }\n'),
      'config.yaml:2:23: billing.minor_units.USD: expected a number, found the text "2": write it without quotes',
    );
    assert.match(
      first('site:\n  base_url: not a url\n'),
      /^config\.yaml:2:13: site\.base_url: expected a web address such as https:\/\/rc\.example\.edu\/billing\/, found the text "not a url"/,
    );
    // A schema's own words for what it wants, followed by what was found.
    assert.equal(
      first('organization:\n  logo: ../x.svg\n'),
      'config.yaml:2:9: organization.logo: expected a path inside the repository, found the text "../x.svg"',
    );
    // One value or a list of them (zod's "Invalid input"): the kinds wanted, or the wrong item at its own place.
    assert.equal(
      first('tag_mapping:\n  pi_email: 5\n'),
      'config.yaml:2:13: tag_mapping.pi_email: expected text or a list, found the number 5',
    );
    assert.equal(
      first('tag_mapping:\n  pi_email: [owner, 5]\n'),
      'config.yaml:2:21: tag_mapping.pi_email.1: expected text, found the number 5: put the value in quotes, as written (such as "5")',
    );
  });
  it('reports YAML syntax errors with position and a hint', () => {
    assert.match(
      configError('organization:\n  name: "unclosed\n'),
      /^config\.yaml:3:1: invalid YAML: Missing closing "quote\n {2}hint: check indentation/,
    );
  });
  it('refuses aliases that multiply the file (billion laughs), and takes an anchor used as meant', () => {
    const laughs =
      'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
    assert.match(
      configError(laughs),
      /^config\.yaml: invalid YAML: Excessive alias count indicates a resource exhaustion attack\n {2}hint: an anchor \(&name\)/,
    );
    // Valid for its schema, so js-yaml's shared values went on to the schema, which checked each
    // of the 2,000 × 2,000 rules: now `yaml` refuses the aliases first.
    const rules = `r: &r [${Array(2000).fill('x').join(', ')}]\n`;
    const flags = `flags:\n${'  - { rules: *r }\n'.repeat(2000)}`;
    const schema = z.object({ flags: z.array(z.object({ rules: z.array(z.string()) })) });
    assert.throws(
      () => parseYaml(rules + flags, 'flags.yaml', schema, 'hint'),
      (e) => e instanceof UserError && /^flags\.yaml: invalid YAML: Excessive alias count/.test(e.format()),
    );
    const c = parseConfig('tag_mapping:\n  pi_email: &keys [owner]\n  project_id: *keys\n', 'config.yaml');
    assert.deepEqual(c.tag_mapping.project_id, ['owner']);
    const rd = parseConfig('organization:\n  name: R&D Computing & Data\n', 'config.yaml');
    assert.equal(rd.organization.name, 'R&D Computing & Data');
  });
  it('rejects a bad journal regular expression and a bad currency', () => {
    assert.match(configError("journal:\n  fund_org_pattern: '(unclosed'\n"), /journal\.fund_org_pattern: not a valid regular expression/);
    assert.match(
      configError('billing:\n  default_currency: dollars\n'),
      /billing\.default_currency: expected an ISO 4217 currency code such as USD, found the text "dollars"/,
    );
    assert.match(configError('billing:\n  default_currency: ZZZ\n'), /billing\.default_currency: expected an ISO 4217 currency code/);
  });
  it('checks the patterns DuckDB runs with DuckDB itself (RE2), at their line in config.yaml', async (t) => {
    const repo = await makeRepo(
      "flag_rules:\n  fund_org_patterns: ['\\d{6}-\\d{4}']\n  patterns:\n    - field: service\n      pattern: '(?i)gpu'\n    - field: resource\n      pattern: 'GPU(?!-free)'\n",
    );
    t.after(() => removeDir(repo));
    const r = await cli('validate', '--root', repo);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^error: config\.yaml:7:16: flag_rules\.patterns\.1\.pattern: "GPU\(\?!-free\)" is not a pattern DuckDB can run \(.*\)\n {2}hint: patterns use RE2 syntax/,
    );
    // The case-insensitive flag JavaScript lacks is fine: RE2 runs it.
    await writeFile(join(repo, 'config.yaml'), "flag_rules:\n  patterns:\n    - field: service\n      pattern: '(?i)gpu'\n");
    assert.equal((await cli('validate', '--root', repo)).code, 0);
  });
  it('refuses a source whose name gives no file name', () => {
    assert.match(configError('sources:\n  - name: 日本\n'), /^config\.yaml:2:11: sources\.0\.name: source "日本" gives no file name/);
  });
  it('refuses two sources that would share a file name', () => {
    assert.match(configError('sources:\n  - name: Azure Local\n  - name: azure local\n'), /same file name "azure-local"/);
  });
});
