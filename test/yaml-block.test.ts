/**
 * flags.yaml is written by a fast writer of `yaml`'s block layout (core/yaml-block.ts): it must
 * give `yaml`'s own bytes for every value, the hostile ones included, or hand the value to `yaml`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { stringifyBlock } from '../src/core/yaml-block.ts';

const yamlOf = (v: Record<string, unknown>) => stringify(v, { lineWidth: 0 });

/** Texts that are plain to one reader and not to another. */
const HOSTILE = [
  '',
  ' ',
  'a',
  'A b',
  'a  b',
  ' a',
  'a ',
  'a:',
  'a: b',
  'a:b',
  'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc',
  'a #b',
  'a#b',
  '#a',
  '- a',
  '-a',
  '-',
  '--',
  '---',
  '...',
  '? a',
  '?a',
  ': a',
  '@a',
  '`a',
  '!a',
  '&a',
  '*a',
  '|a',
  '>a',
  '%a',
  "'a'",
  '"a"',
  'a"b',
  "a'b",
  '[a]',
  '{a}',
  'a,b',
  'a, b',
  'a]',
  'null',
  'Null',
  'NULL',
  'nULL',
  '~',
  'true',
  'True',
  'TRUE',
  'tRue',
  'false',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  'Y',
  'N',
  '0',
  '1',
  '-1',
  '+1',
  '01',
  '007',
  '0o17',
  '0o8',
  '0x1F',
  '0x1g',
  '0b101',
  '1.5',
  '-1.5',
  '.5',
  '5.',
  '1e5',
  '1E-5',
  '1e',
  'e5',
  '1_000',
  '1,000',
  '.inf',
  '-.inf',
  '+.Inf',
  '.nan',
  '.NaN',
  'inf',
  'nan',
  'Infinity',
  '2025-03-03',
  '2025-03',
  '2025-03-03T10:00:00Z',
  '12:30',
  '1:2:3',
  '0.3476385297',
  '-0.75',
  '12000.00',
  '00000000000000e1',
  '41c35a4012623706',
  '1234567890123456',
  '1234567890123456-2',
  '12e4567890123456',
  'f82f8a4ac890892e-3',
  'pi104@example.edu',
  'proj-104-1',
  'data/2025-03/aws.csv.gz',
  'no fund/org in Tags (looked for fund_org)',
  'Amazon Elastic Compute Cloud - Compute',
  'tab\there',
  'cr\rhere',
  'nul\u0000here',
  'bell\u0007',
  'é',
  'naïve café',
  '日本語',
  '😀',
  '\u00a0a',
  'a\u00a0',
  '\ufeffa',
  'a\u2028b',
  'back\\slash',
  'a\\',
  'x'.repeat(500),
  `${'word '.repeat(60)}end`,
  'a / b',
  'a - b',
  'a + b',
  'C++',
  'a=b',
  'a%b',
  'a!',
  'a?',
  'a*',
  'a&b',
  'a|b',
  'a>b',
  '=',
  '<<',
];

/** A flags file as ingest writes it, every text a hostile one in turn. */
function flags(texts: string[]) {
  return {
    version: 1,
    period: '2025-03',
    flags: texts.map((t, i) => ({
      id: i % 2 ? t : `${(i * 2654435761) >>> 0}`.padStart(16, '0'),
      status: 'pending',
      rule: 'missing_fund_org',
      ...(i % 3 === 0 ? { also: ['large_charge', t] } : {}),
      message: t,
      source: 'aws',
      file: 'data/2025-03/aws.csv.gz',
      line: i + 2,
      charge: {
        pi_email: i % 4 ? t : null,
        project_id: 'p',
        fund_org: null,
        service: t,
        resource: t,
        date: '2025-03-03',
        period: '2025-03',
        currency: 'USD',
        amount: t,
        list: '0.5',
      },
      decided_by: i % 5 === 0 ? t : undefined,
      note: i % 7 === 0 ? t : undefined,
      assign: i % 11 === 0 ? { pi_email: t } : undefined,
    })),
  };
}

describe("flags.yaml's writer", () => {
  it("writes yaml's bytes for hostile texts in every place", () => {
    for (const t of HOSTILE) {
      const v = flags([t, t, t, t, t, t, t, t, t, t, t, t]);
      assert.equal(stringifyBlock(v), yamlOf(v), JSON.stringify(t));
    }
    const all = flags(HOSTILE);
    assert.equal(stringifyBlock(all), yamlOf(all));
    assert.deepEqual(parse(stringifyBlock(all)), JSON.parse(JSON.stringify(all)), 'and reads back as the value');
  });

  it('writes the layouts yaml writes: empty maps and lists, lists under keys, numbers, and hands line breaks to yaml', () => {
    const odd: Record<string, unknown>[] = [
      { a: [], b: {}, c: ['x', 'y'], d: [{ e: 1, f: [], g: { h: null, i: [{ j: 'k' }] } }], n: 1.5, o: -0, p: 1e21, q: true, r: false },
      { only: undefined, after: 2, big: 2 ** 60, neg: -3 },
      { text: 'two\nlines' },
      { text: 'ends\n' },
      { list: [[1, 2]] },
      { list: [{}] },
      { 'odd key': 1 },
      { y: 'n' },
      {},
      { when: new Date(0) },
    ];
    for (const v of odd) assert.equal(stringifyBlock(v), yamlOf(v), JSON.stringify(v));
  });

  it('writes random texts as yaml does', () => {
    // A fixed seed: the same texts every run.
    let seed = 12345;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const alphabet = 'aZ09_-.:@/ #+eE,x"\'!?*&|>%[]{}~\t';
    const texts = Array.from({ length: 4000 }, () => {
      const n = 1 + (next() % 12);
      return Array.from({ length: n }, () => alphabet[next() % alphabet.length]).join('');
    });
    for (let i = 0; i < texts.length; i += 100) {
      const v = flags(texts.slice(i, i + 100));
      assert.equal(stringifyBlock(v), yamlOf(v));
    }
  });
});
