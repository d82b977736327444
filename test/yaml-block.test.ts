/**
 * flags.yaml is written by a fast writer of `yaml`'s block layout (core/yaml-block.ts): it must
 * give `yaml`'s own bytes for every value, the hostile ones included, or hand the value to `yaml`.
 * It is read by a fast reader of that layout (core/yaml-block-read.ts): it must give js-yaml's
 * value for every text it reads, and leave to js-yaml every text it is not sure of (js-yaml's
 * errors included).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { load } from 'js-yaml';
import { parse, stringify } from 'yaml';
import { stringifyBlock } from '../src/core/yaml-block.ts';
import { commentAt, parseBlock } from '../src/core/yaml-block-read.ts';
import { formatFlags, hasHandComments } from '../src/flags/file.ts';
import { PROJECT } from './helpers.ts';
import { flags, HOSTILE, random } from './yaml-texts.ts';

const yamlOf = (v: Record<string, unknown>) => stringify(v, { lineWidth: 0 });

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

/** What js-yaml makes of a text: its value, or that it refuses it. */
function jsYaml(text: string): { value: unknown } | 'error' {
  try {
    return { value: load(text) };
  } catch {
    return 'error';
  }
}

/** The reader gives js-yaml's value, or leaves the text to it; whether it read the text itself. */
function readsAsJsYaml(text: string): boolean {
  const fast = parseBlock(text);
  if (fast === undefined) return false;
  const full = jsYaml(text);
  assert.notEqual(full, 'error', `read a text js-yaml refuses: ${JSON.stringify(text)}`);
  assert.deepEqual(fast, (full as { value: unknown }).value, JSON.stringify(text));
  return true;
}

/** A fixed seed: the same texts every run. */
describe("flags.yaml's reader", () => {
  it('reads what the writer writes, hostile texts in every place, as js-yaml does', () => {
    let read = 0;
    for (const t of HOSTILE) if (readsAsJsYaml(stringifyBlock(flags([t, t, t, t, t, t, t, t, t, t, t, t])))) read++;
    // Only texts written with escapes JSON lacks (a NUL, a bell), with a tab or a byte-order mark, or as block scalars are left to js-yaml.
    assert.ok(read >= HOSTILE.length - 8, `read ${read} of ${HOSTILE.length}`);
    const unread = ['\0', '\u0007', '\ufeff', '\n', '\t'];
    assert.ok(readsAsJsYaml(stringifyBlock(flags(HOSTILE.filter((t) => !unread.some((c) => t.includes(c)))))), 'the corpus in one file');
    const ordinary = flags(['pi104@example.edu', 'no fund/org in Tags (looked for fund_org)', '0.3476385297', '2025-03-03']);
    assert.deepEqual(parseBlock(stringifyBlock(ordinary)), JSON.parse(JSON.stringify(ordinary)), 'and reads back as the value');
  });

  it('reads random texts as js-yaml does', () => {
    const next = random(777);
    const alphabet = 'aZ09_-.:@/ #+eE,x"\'!?*&|>%[]{}~\\';
    let read = 0;
    for (let i = 0; i < 4000; i += 100) {
      const texts = Array.from({ length: 100 }, () => Array.from({ length: 1 + next(12) }, () => alphabet[next(alphabet.length)]).join(''));
      if (readsAsJsYaml(stringifyBlock(flags(texts)))) read++;
    }
    assert.ok(read >= 30, `read ${read} of 40 files itself`);
  });

  it("reads reviewers' hand edits as js-yaml does, and leaves to it what it is not sure of", () => {
    const flag = (status: string, extra = '') =>
      `  - id: 41c35a4012623706\n    status: ${status}\n    rule: missing_fund_org\n${extra}    line: 2\n    charge:\n      pi_email: null\n      amount: "12.50"\n`;
    const head = 'version: 1\nperiod: 2025-03\nflags:\n';
    const read = [
      head +
        flag(
          'approved',
          "    decided_by: ana@example.edu\n    decided_at: 2025-04-02T10:00:00Z\n    note: it's the lab's, see ticket 42\n",
        ),
      head + flag('rejected', '    note: "looked: not ours # really"\n'),
      head + flag('rejected', "    note: 'a ''quoted'' note'\n"),
      head + flag('approved', '    assign:\n      pi_email: ana@example.edu\n      project_id: proj-1\n      fund_org: "100163-1001"\n'),
      // A list at its key's indentation, blank lines and comments between, spaces after values, more spaces after a dash.
      `version: 1\nperiod: 2025-03\nflags:\n- id: a1\n  status: pending   \n\n   # a comment\n-   id: a2\n    status: pending\n    also:\n    - large_charge\n`,
      'a:\n  -\n  - x\n  - \n  -\n    b: 1\nc: ~\nd:\ne: []\nf: {}\n',
      [
        '0',
        '1',
        '007',
        '0x1F',
        '0o17',
        '1e3',
        '.5',
        '5.',
        '1_000',
        '12:30',
        '2025-03',
        '1234567890123456',
        '12e4567890123456',
        '-1',
        '-.inf',
        '+5',
        '-a',
        '?b',
        ':c',
        '~',
      ]
        .map((n, i) => `n${i}: ${n}\n`)
        .join(''),
      'a: "esc \\" \\\\ \\/ \\n \\t \\u00e9 \\ud83d\\ude00"\nb: \'\'\nc: ""\n',
      'null_: Null\nt: TRUE\nf: false\ny: yes\nw: 日本語\nx: /subscriptions/1/x\nz: a,b]\n',
    ];
    for (const text of read) assert.ok(readsAsJsYaml(text), `read itself: ${JSON.stringify(text)}`);
    const left = [
      head + flag('approved  # fine'),
      head.replace(/\n/g, '\r\n') + flag('pending').replace(/\n/g, '\r\n'),
      head + flag('pending').replace('    rule', '\trule'),
      '\ufeffa: 1\n',
      '---\na: 1\n',
      'a: 1\n...\n',
      '%YAML 1.2\n---\na: 1\n',
      'a: &x 1\nb: *x\n',
      'a: !!str 5\n',
      'a: [x]\n',
      'a: {b: 1}\n',
      'a: |\n  text\n',
      'a: >-\n  text\n',
      'a: two\n  lines\n',
      'a: "two\n  lines"\n',
      "a: 'two\n  lines'\n",
      'a: "\\x41"\n',
      'a: "\\0"\n',
      'a: 1\na: 2\n',
      'True: 1\n',
      'NULL: 1\n',
      '__proto__: 1\n',
      '"a": 1\n',
      'a b: 1\n',
      'a:1\n',
      '- - a\n',
      '  a: 1\n',
      'a:\n    b: 1\n  c: 2\n',
      'a: b: c\n',
      'a: b:\n',
      'a: - 1\n',
      'a: ? b\n',
      'a: x # comment\n',
      'a: "x" # comment\n',
      'a: "x\n',
      "a: 'x''\n",
      'hello\n',
      'a: \u0007\n',
      'a: \ud800\n',
    ];
    for (const text of left) assert.equal(parseBlock(text), undefined, `left to js-yaml: ${JSON.stringify(text)}`);
    // Nesting: js-yaml refuses 100 levels; this reader leaves more than 50 to it.
    const nested = (n: number) => `${Array.from({ length: n }, (_, i) => `${' '.repeat(2 * i)}k${i}:`).join('\n')} 1\n`;
    assert.ok(readsAsJsYaml(nested(20)));
    assert.equal(jsYaml(nested(150)), 'error');
    for (const n of [51, 150, 20_000]) assert.equal(parseBlock(nested(n)), undefined, `${n} levels`);
  });

  it('reads random layouts as js-yaml does, and never a text js-yaml refuses', () => {
    const next = random(2024);
    const pick = <T>(list: readonly T[]): T => list[next(list.length)] as T;
    // Mostly what flags hold, some of it hostile.
    const keys = ['a', 'b', 'id', 'note', '_x', 'y', 'a', 'b', 'id', 'note', 'True', 'null', 'a b', '"q"', 'a-b', '1'];
    const ordinary = ['x', 'pending', 'pi1@example.edu', '2025-03', '12', '"0.50"', "'it''s'", 'a b c'];
    const scalars = [
      ...ordinary,
      ...ordinary,
      ...ordinary,
      ...ordinary,
      ...ordinary,
      ...ordinary,
      ...HOSTILE.filter((t) => !t.includes('\n')),
      '"x"',
      '"a\\"b"',
      '"\\u00e9"',
      '"\\x41"',
      '"open',
      "'it''s'",
      "'open",
      '[]',
      '{}',
      '[a]',
      '|',
      '>',
      '&x a',
      '*x',
      '!!str 5',
      'x # c',
    ];
    let depth = 0;
    const line = (): string => {
      // Mostly as deep as the line before, or one level in or out; now and then anywhere.
      depth = Math.max(0, pick([depth, depth, depth, depth + 2, depth - 2, 0, 1, 3]));
      const indent = ' '.repeat(depth);
      switch (next(9)) {
        case 0:
          return `${indent}${pick(keys)}:`;
        case 1:
          return `${indent}- ${pick(scalars)}`;
        case 2:
          return `${indent}- ${pick(keys)}: ${pick(scalars)}`;
        case 3:
          return `${indent}-`;
        case 4:
          return pick([`${indent}# note`, '', indent]);
        case 5:
          return `${indent}-   ${pick(keys)}:`;
        default:
          return `${indent}${pick(keys)}: ${pick(scalars)}`;
      }
    };
    let read = 0;
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      depth = 0;
      const text = `${Array.from({ length: 1 + next(8) }, line).join('\n')}${next(2) ? '\n' : ''}`;
      if (readsAsJsYaml(text)) read++;
      if (jsYaml(text) !== 'error') valid++;
    }
    assert.ok(read > 1000 && read < valid, `read ${read} of the ${valid} texts js-yaml reads (of 20,000) itself`);
  });
});

describe('comments in flags.yaml', () => {
  it('finds a comment after any value the writer puts on one line, and none inside one (a # in quotes, escapes, doubled quotes)', () => {
    let lines = 0;
    for (const t of [...HOSTILE, 'ticket #4411', "it's # not", 'a "#" b', "'#'", '#', ' #', '\\" #', "x ' #"]) {
      for (const line of stringifyBlock({ k: t, l: [t] }).split('\n')) {
        if (!/^(?:k| {2}-) /.test(line) || line.endsWith('|') || line.endsWith('|-') || line.endsWith('>')) continue; // block scalars span lines
        lines++;
        assert.equal(commentAt(line), -1, line);
        assert.equal(commentAt(`${line}  # asked the PI`), line.length + 2, line);
      }
    }
    assert.ok(lines > HOSTILE.length, `${lines} lines`);
    assert.equal(commentAt('# a line of its own'), 0);
    assert.equal(commentAt('    #indented'), 4);
    assert.equal(commentAt('key: a#b'), -1, 'a # inside a plain scalar');
    assert.equal(commentAt("key: don't # yes"), 11, 'an apostrophe inside a plain scalar opens no quote');
  });

  it("tells flags.yaml files with a reviewer's comment from those the tool wrote", () => {
    const written = formatFlags({ version: 1, period: '2025-01', flags: [] }).replace('flags: []\n', 'flags:\n');
    const item = `  - id: aaaaaaaaaaaaaaaa\n    status: rejected\n    note: "ticket #4411: 'not ours' # no"\n`;
    assert.equal(hasHandComments(written + item), false, 'the header and a # in a value are no comments');
    assert.equal(hasHandComments(written + item.replace('rejected', 'rejected # per the PI')), true);
    assert.equal(hasHandComments(written + item.replace('  - id', '  # above\n  - id')), true);
    assert.equal(hasHandComments((written + item.replace('rejected', 'rejected\t# tab')).replace(/\n/g, '\r\n')), true);
    // The header of flags.yaml files written before review assign was named in it: the tool's too.
    const earlier = readFileSync(join(PROJECT, 'test/fixtures/golden/periods/2025-03/flags.yaml'), 'utf8');
    assert.ok(!earlier.startsWith(written.slice(0, written.indexOf('version:'))), 'the fixture has the earlier header');
    assert.equal(hasHandComments(earlier), false);
    assert.equal(hasHandComments(earlier.replace('flags:\n', 'flags:\n  # asked the PI\n')), true);
  });
});
