import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { escapeHtml } from '../src/core/html.ts';
import { detailRowsHtml } from '../src/site/detail-rows.ts';
import type { DetailView } from '../src/site/model.ts';

const money = (text: string) => ({ value: '0', text });
const detail = (over: Partial<DetailView>): DetailView => ({
  date: '2025-03-04',
  resource: 'train-1',
  source: 'AWS',
  service: 'GPU Compute',
  category: 'Usage',
  list: money('$120.00'),
  discount: money('$20.01'),
  amount: money('$99.99'),
  charges: 1,
  ...over,
});

describe('charge detail rows as HTML', () => {
  it('are the rows the template made, spaced alike (golden.test.ts holds the whole page)', () => {
    assert.equal(
      detailRowsHtml([detail({})]),
      ' <tr> <td>2025-03-04</td> <td>train-1</td> <td>GPU Compute</td> <td class="num">$120.00</td> <td class="num">$20.01</td> <td class="num">$99.99</td> </tr> ',
    );
    assert.equal(detailRowsHtml([]), '  ');
  });

  it('escape every value, the category too', () => {
    const html = detailRowsHtml([
      detail({ date: '<b>', resource: '<script>alert("x")</script>', service: "O'Neil & Co", category: 'Tax<i>', amount: money('"$1"') }),
    ]);
    assert.equal(
      html,
      ' <tr> <td>&lt;b&gt;</td> <td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td> <td>O&#39;Neil &amp; Co<span class="small"> (Tax&lt;i&gt;)</span></td> <td class="num">$120.00</td> <td class="num">$20.01</td> <td class="num">&quot;$1&quot;</td> </tr> ',
    );
  });

  it('escapeHtml leaves no markup and loses nothing (property)', () => {
    const decode = (s: string) =>
      s.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] as string);
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '&', '<', '>', '"', "'", ' ', 'é', '\u2028', ';', '#') }), (s) => {
        const escaped = escapeHtml(s);
        assert.ok(!/[<>"']/.test(escaped));
        assert.equal(decode(escaped), s);
      }),
    );
  });
});
