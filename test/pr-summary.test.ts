import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fit, MAX_COMMENT } from '../src/pr/summary.ts';

describe('pr-summary size', () => {
  it("cuts the longest tables to fit GitHub's comment limit, counting what it left out", () => {
    const rows = (n: number, w: number) => Array.from({ length: n }, (_, i) => [`row ${i}`, 'x'.repeat(w)]);
    const sections = [
      { title: '### Small', headers: ['A', 'B'], rows: rows(3, 10) },
      { title: '### Huge', headers: ['A', 'B'], rows: rows(5000, 40) },
      { title: '### Review', text: 'No flags pending.' },
    ];
    const text = fit('<!-- marker -->', sections);
    assert.ok(text.length <= MAX_COMMENT, `${text.length} characters`);
    assert.ok(text.length > MAX_COMMENT / 2, 'cut no more than needed');
    assert.match(text, /\| row 2 \| x{10} \|/, 'the small table is whole');
    const shown = (text.match(/\| row \d+ \| x{40} \|/g) ?? []).length;
    assert.match(text, new RegExp(`_… and ${5000 - shown} more rows not shown`));
    assert.match(text, /### Review\n\nNo flags pending\./);
  });
});
