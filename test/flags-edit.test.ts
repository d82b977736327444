/** Editing flags.yaml in place: untouched bytes stay, comments stay, odd hand-written layouts still edit right. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMap, isSeq, parse, parseDocument } from 'yaml';
import { stringifyBlock } from '../src/core/yaml-block.ts';
import { dropFlagsText, editFlagsText, replaceFlagsText } from '../src/flags/edit.ts';
import { decide } from '../src/flags/review.ts';
import { HOSTILE, random } from './yaml-texts.ts';

const flag = (id: string, extra = '') => `  - id: ${id}
    status: pending
    rule: missing_pi_email
    message: no PI
    source: aws
    file: data/2025-01/aws.csv
    line: 2
    charge:
      pi_email: null
      project_id: p
      fund_org: f
      service: EC2
      resource: r-1
      date: 2025-01-02
      period: 2025-01
      currency: USD
      amount: "1.5"
      list: "1.5"
${extra}`;

const FILE = `# header comment
version: 1
period: 2025-01
flags:
${flag('aaaaaaaaaaaaaaaa')}  # a reviewer's comment between flags
${flag('bbbbbbbbbbbbbbbb', '    note: |-\n      two\n      lines\n')}${flag('cccccccccccccccc')}`;

const reject = (note: string) => (node: Parameters<typeof decide>[0], f: Parameters<typeof decide>[1]) =>
  decide(node, f, { status: 'rejected', reviewer: 'r@x.edu', at: '2025-02-01T00:00:00Z', note });

describe('editing flags.yaml', () => {
  it('changes only the flags decided, keeping every other byte and comment', () => {
    const r = editFlagsText(FILE, 'flags.yaml', ['bbbbbbbbbbbbbbbb'], reject('not ours'));
    assert.deepEqual(r.changed, ['bbbbbbbbbbbbbbbb']);
    const [head, tail] = [FILE.indexOf('  - id: bbbbbbbbbbbbbbbb'), FILE.indexOf('  - id: cccccccccccccccc')];
    assert.equal(r.text.slice(0, head), FILE.slice(0, head), 'everything before it, comments included');
    assert.ok(r.text.endsWith(FILE.slice(tail)), 'everything after it');
    const edited = parse(r.text).flags[1];
    assert.equal(edited.status, 'rejected');
    assert.equal(edited.note, 'not ours');
    assert.equal(edited.decided_by, 'r@x.edu');
    assert.match(r.text, /# a reviewer's comment between flags/);
  });

  it('edits the last flag, and several at once', () => {
    const r = editFlagsText(FILE, 'flags.yaml', ['cccccccccccccccc', 'aaaaaaaaaaaaaaaa'], reject('x'));
    assert.deepEqual(
      parse(r.text).flags.map((f: { status: string }) => f.status),
      ['rejected', 'pending', 'rejected'],
    );
    assert.match(r.text, /note: \|-\n {6}two\n {6}lines\n/, 'the untouched block scalar as it was');
  });

  it('edits a layout it cannot splice (flow style, a dash on its own line) through the whole document', () => {
    const flow = `period: 2025-01\nflags: [{id: aaaaaaaaaaaaaaaa, status: pending, rule: missing_pi_email, message: m, source: aws, file: f, line: 2, charge: {pi_email: null, project_id: p, fund_org: f, service: null, resource: null, date: null, period: null, currency: USD, amount: "1", list: "1"}}]\n`;
    const a = editFlagsText(flow, 'flags.yaml', ['aaaaaaaaaaaaaaaa'], reject('flow'));
    assert.equal(parse(a.text).flags[0].status, 'rejected');
    const dash = FILE.replace('  - id: bbbbbbbbbbbbbbbb', '  -\n    id: bbbbbbbbbbbbbbbb');
    const b = editFlagsText(dash, 'flags.yaml', ['bbbbbbbbbbbbbbbb'], reject('dash'));
    assert.deepEqual(
      parse(b.text).flags.map((f: { status: string; note?: string }) => [f.status, f.note]),
      [
        ['pending', undefined],
        ['rejected', 'dash'],
        ['pending', undefined],
      ],
    );
  });

  it('splices the layout ingest writes, found by its own reader, as it splices with js-yaml', () => {
    const ids = ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc'];
    // As ingest writes it (read without js-yaml), and with its list at its key's indentation.
    const written = `version: 1\nperiod: 2025-01\nflags:\n${ids.map((id) => flag(id)).join('')}`;
    const compact = written.replace(/^ {2}/gm, '');
    // The same with a block scalar in the last flag, which leaves the file to js-yaml's events.
    const withBlock = (t: string, pad: string) => `${t}${pad}  note: |-\n${pad}    two\n${pad}    lines\n`;
    const upToC = (t: string) => t.slice(0, t.indexOf('- id: cccccccccccccccc'));
    for (const [text, pad] of [
      [written, '  '],
      [compact, ''],
    ] as const) {
      for (const id of ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']) {
        const r = editFlagsText(text, 'flags.yaml', [id], reject('spliced'));
        const other = editFlagsText(withBlock(text, pad), 'flags.yaml', [id], reject('spliced'));
        assert.equal(upToC(r.text), upToC(other.text), `${id}: the same edit either way`);
        assert.ok(r.text.endsWith(text.slice(upToC(text).length)), 'every byte after it kept');
        assert.deepEqual(
          parse(r.text).flags.map((f: { status: string }) => f.status),
          ids.map((x) => (x === id ? 'rejected' : 'pending')),
        );
      }
    }
    // A dash alone on its line is spliced too (js-yaml's events placed the flag at its first key, so the whole document was written again).
    const dash = written.replace('  - id: bbbbbbbbbbbbbbbb', '  # between\n\n  -\n    id: bbbbbbbbbbbbbbbb');
    const r = editFlagsText(dash, 'flags.yaml', ['bbbbbbbbbbbbbbbb'], reject('dash'));
    const [b, c] = [dash.indexOf('  -\n    id: bbbbbbbbbbbbbbbb'), dash.indexOf('  - id: cccccccccccccccc')];
    assert.equal(r.text.slice(0, b), dash.slice(0, b), 'every byte before it, the comment and blank line included');
    assert.ok(r.text.endsWith(dash.slice(c)), 'every byte after it');
    assert.match(r.text.slice(b), /^ {2}- id: bbbbbbbbbbbbbbbb\n {4}status: rejected\n/, 'the flag edited, written as yaml writes it');
    assert.deepEqual(
      parse(r.text).flags.map((f: { note?: string }) => f.note),
      [undefined, 'dash', undefined],
    );
  });

  it('refuses an unknown id and reports a flag left as it was', () => {
    assert.throws(
      () => editFlagsText(FILE, 'flags.yaml', ['dddddddddddddddd'], reject('x')),
      /no flag with id dddddddddddddddd in flags\.yaml/,
    );
    const approve = (node: Parameters<typeof decide>[0], f: Parameters<typeof decide>[1]) =>
      decide(node, f, { status: 'approved', reviewer: 'r', at: 't' });
    const r = editFlagsText(FILE, 'flags.yaml', ['aaaaaaaaaaaaaaaa'], approve);
    assert.deepEqual(r.skipped, [
      { id: 'aaaaaaaaaaaaaaaa', reason: 'no usable PI, project or fund/org: assign one first (review assign)' },
    ]);
    assert.equal(r.text, FILE);
  });
});

/** A flag as ingest writes it, with hostile texts where people and providers write them, and some decided already. */
function hostileFlag(i: number, pick: () => string, next: (n: number) => number): Record<string, unknown> {
  const decided = next(3) === 0;
  return {
    id: i.toString(16).padStart(16, '0'),
    status: decided ? 'rejected' : 'pending',
    rule: 'large_charge',
    ...(next(2) ? { also: ['missing_fund_org'] } : {}),
    message: pick(),
    source: 'aws',
    file: 'data/2025-03/aws.csv',
    line: i + 2,
    charge: {
      pi_email: 'pi@example.edu',
      project_id: `p-${i}`,
      fund_org: 'f-1',
      service: pick(),
      resource: pick(),
      date: '2025-03-03',
      period: '2025-03',
      currency: 'USD',
      amount: '12.5',
      list: '12.5',
    },
    ...(decided ? { decided_by: pick(), decided_at: pick(), ...(next(2) ? { note: pick() } : {}) } : {}),
  };
}

/** The same decision taken on the whole file in `yaml`'s document model, each value a new node (as the tool writes a value, whatever quotes the old one had). */
function decidedByYaml(text: string, ids: string[], sets: [string, unknown][]): string {
  const doc = parseDocument(text);
  const seq = doc.get('flags', true);
  assert.ok(isSeq(seq));
  for (const item of seq.items) {
    assert.ok(isMap(item));
    if (ids.includes(String(item.get('id')))) for (const [k, v] of sets) item.set(k, doc.createNode(v));
  }
  return doc.toString({ lineWidth: 0 });
}

describe('deciding flags line by line', () => {
  it("writes what yaml's document model writes, hostile texts in every place a decision reads or sets", () => {
    const next = random(20261203);
    const pick = () => HOSTILE[next(HOSTILE.length)] as string;
    let lines = 0;
    for (let round = 0; round < 60; round++) {
      const file = { version: 1, period: '2025-03', flags: Array.from({ length: 25 }, (_, i) => hostileFlag(i, pick, next)) };
      const text = stringifyBlock(file);
      const ids = file.flags.filter(() => next(3) === 0).map((f) => f.id as string);
      const note = next(4) ? pick() : undefined;
      const decision = { status: next(2) ? ('rejected' as const) : ('approved' as const), reviewer: pick(), at: pick(), note };
      const r = editFlagsText(text, 'flags.yaml', ids, (node, f) => decide(node, f, decision));
      assert.deepEqual(r.changed, ids);
      const sets: [string, unknown][] = [
        ['status', decision.status],
        ['decided_by', decision.reviewer],
        ['decided_at', decision.at],
        ...(note === undefined ? [] : [['note', note] as [string, unknown]]),
      ];
      assert.equal(r.text, decidedByYaml(text, ids, sets), `round ${round}`);
      // One flag of the 25: its lines alone are read back, not the whole text.
      const one = file.flags[next(file.flags.length)]?.id as string;
      const single = editFlagsText(text, 'flags.yaml', [one], (node, f) => decide(node, f, decision));
      assert.equal(single.text, decidedByYaml(text, [one], sets), `round ${round}, one flag`);
      if (![decision.reviewer, decision.at, note ?? ''].some((t) => t.includes('\n'))) lines++;
    }
    assert.ok(lines > 30, `${lines} rounds with every value on one line`);
  });

  it('touches only the lines of the keys it sets, keeping spacing and comments inside the flag', () => {
    const odd = FILE.replace(
      '  - id: aaaaaaaaaaaaaaaa\n    status: pending\n',
      '  - id: aaaaaaaaaaaaaaaa\n    status: pending\n    # asked the PI on 2 Feb\n',
    ).replace('source: aws\n', 'source:   aws\n');
    const r = editFlagsText(odd, 'flags.yaml', ['aaaaaaaaaaaaaaaa'], reject('not ours'));
    const [a, b] = [odd.indexOf('  - id: aaaaaaaaaaaaaaaa'), odd.indexOf('  # a reviewer')];
    assert.equal(
      r.text.slice(a, r.text.indexOf('  # a reviewer')),
      `${odd
        .slice(a, b)
        .replace(
          'status: pending',
          'status: rejected',
        )}    decided_by: r@x.edu\n    decided_at: 2025-02-01T00:00:00Z\n    note: not ours\n`,
    );
    assert.equal(r.text.slice(r.text.indexOf('  # a reviewer')), odd.slice(b), 'the rest byte for byte');
  });

  it("edits a key written otherwise in yaml's model, and keeps the last of a key set twice", () => {
    const quoted = FILE.replace('  - id: aaaaaaaaaaaaaaaa\n    status: pending\n', "  - id: aaaaaaaaaaaaaaaa\n    status: 'pending'\n");
    const r = editFlagsText(quoted, 'flags.yaml', ['aaaaaaaaaaaaaaaa'], reject('quoted'));
    assert.deepEqual(
      parse(r.text).flags.map((f: { status: string }) => f.status),
      ['rejected', 'pending', 'pending'],
    );
    const twice = editFlagsText(FILE, 'flags.yaml', ['cccccccccccccccc'], (node) => {
      node.set('note', 'first');
      node.set('note', 'second: with a colon');
      return undefined;
    });
    assert.equal(parse(twice.text).flags[2].note, 'second: with a colon');
    // A comment on the line of a key set stays, whichever way the flag is edited.
    const commented = FILE.replace('    status: pending\n', '    status: pending # waiting on the PI\n');
    const c = editFlagsText(commented, 'flags.yaml', ['aaaaaaaaaaaaaaaa'], reject('commented'));
    assert.match(c.text, /^ {4}status: rejected # waiting on the PI$/m);
    assert.equal(parse(c.text).flags[0].note, 'commented');
    assert.equal(twice.text, `${FILE}    note: "second: with a colon"\n`);
  });
});

describe("taking a source's flags out of flags.yaml", () => {
  const withSource = (text: string, id: string, source: string) =>
    text.replace(new RegExp(`(id: ${id}\\n(?: {4}.*\\n)*? {4}source: )aws`), `$1${source}`);
  const mixed = withSource(FILE, 'bbbbbbbbbbbbbbbb', 'gcp');

  it('cuts out their lines alone: comments, other flags and every other byte stay', () => {
    const out = dropFlagsText(mixed, (f) => f.source === 'gcp');
    assert.equal(out, FILE.replace(flag('bbbbbbbbbbbbbbbb', '    note: |-\n      two\n      lines\n'), ''));
    assert.deepEqual(
      parse(out as string).flags.map((f: { id: string }) => f.id),
      ['aaaaaaaaaaaaaaaa', 'cccccccccccccccc'],
    );
    // A comment is written above what it is about: the one after the flag taken out stays, above the next.
    assert.match(out as string, /# a reviewer's comment between flags\n {2}- id: cccccccccccccccc/);
  });

  it("puts a source's new flags at the end of the list, in the file's line breaks, the rest as it was", () => {
    const items = flag('dddddddddddddddd').replace('source: aws', 'source: gcp');
    const out = replaceFlagsText(mixed, (f) => f.source === 'gcp', items);
    assert.equal(out, `${dropFlagsText(mixed, (f) => f.source === 'gcp')}${items}`);
    const crlf = replaceFlagsText(mixed.replace(/\n/g, '\r\n'), (f) => f.source === 'gcp', items.replace(/\n/g, '\r\n'));
    assert.equal(crlf, (out as string).replace(/\n/g, '\r\n'));
    // Every flag replaced: the list is the new ones alone, after the comments.
    const all = replaceFlagsText(FILE, (f) => f.source === 'aws', items);
    assert.deepEqual(
      parse(all as string).flags.map((f: { id: string }) => f.id),
      ['dddddddddddddddd'],
    );
    assert.match(all as string, /^# header comment\n/);
    // Another key after the list: the read-back sees the items land in the wrong place, and says so.
    assert.equal(
      replaceFlagsText(`${mixed}extra: 1\n`, (f) => f.source === 'gcp', items),
      null,
    );
  });

  it('keeps Windows line breaks, and leaves to a rewrite a layout it cannot cut, or a list left empty', () => {
    const crlf = dropFlagsText(mixed.replace(/\n/g, '\r\n'), (f) => f.source === 'gcp');
    assert.equal(crlf, (dropFlagsText(mixed, (f) => f.source === 'gcp') as string).replace(/\n/g, '\r\n'));
    assert.equal(
      dropFlagsText(FILE, (f) => f.source === 'aws'),
      null,
      'no flag would remain',
    );
    const flow = `version: 1\nperiod: 2025-01\nflags: [{ id: aaaaaaaaaaaaaaaa, source: gcp }, { id: bbbbbbbbbbbbbbbb, source: aws }]\n`;
    assert.equal(
      dropFlagsText(flow, (f) => f.source === 'gcp'),
      null,
    );
    // A note whose last lines look like a comment is the flag's own: not left behind.
    const noted = withSource(FILE, 'aaaaaaaaaaaaaaaa', 'gcp').replace(
      '  # a reviewer',
      '    note: |\n      see below\n      # not a comment: part of the note\n  # a reviewer',
    );
    const out = dropFlagsText(noted, (f) => f.source === 'gcp');
    assert.ok(out !== null && !out.includes('part of the note'), String(out));
    assert.deepEqual(
      parse(out).flags.map((f: { id: string }) => f.id),
      ['bbbbbbbbbbbbbbbb', 'cccccccccccccccc'],
    );
    assert.match(out, /^flags:\n {2}# a reviewer's comment between flags\n {2}- id: bbbbbbbbbbbbbbbb$/m);
  });
});
