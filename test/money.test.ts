import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatMoney, minorDigits } from '../src/core/currency.ts';
import {
  alignDecimals,
  discountPercent,
  divRound,
  formatUnits,
  parseDecimal,
  readableDecimal,
  roundHalfAwayFromZero,
  SCALE,
  toMinor,
} from '../src/core/money.ts';

describe('parseDecimal', () => {
  it('reads plain, signed and exponent forms exactly', () => {
    assert.equal(parseDecimal('12.34', 2), 1234n);
    assert.equal(parseDecimal('-0.5', 2), -50n);
    assert.equal(parseDecimal('+7', 0), 7n);
    assert.equal(parseDecimal('1.5E-3', 4), 15n);
    assert.equal(parseDecimal('2e2', 0), 200n);
    assert.equal(parseDecimal('.25', 2), 25n);
    assert.equal(parseDecimal('0.00000080000'), 800_000_000_000n); // 8e-7 at 18 places
  });
  it('refuses what is not a number, and precision it would lose', () => {
    assert.throws(() => parseDecimal('$10,100.00'), /not a decimal/);
    assert.throws(() => parseDecimal(''), /not a decimal/);
    assert.throws(() => parseDecimal('.'), /not a decimal/);
    assert.throws(() => parseDecimal('0.125', 2), /more than 2 decimal places/);
  });
  it('refuses an exponent past ±100 at once (1e999999999 was worked out for half a minute)', () => {
    assert.equal(parseDecimal('1e100', 0), 10n ** 100n);
    assert.equal(parseDecimal('1e-100', 100), 1n);
    for (const text of ['1e999999999', '1e-999999999', '5E101']) {
      const started = process.hrtime.bigint();
      assert.throws(() => parseDecimal(text), /is out of range \(an exponent beyond ±100\)/);
      assert.ok(process.hrtime.bigint() - started < 1_000_000_000n, `${text} refused within a second`);
    }
  });
  it('round-trips through formatUnits (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 18 }), (units, scale) => {
        assert.equal(parseDecimal(formatUnits(units, scale), scale), units);
      }),
    );
  });
});

describe('roundHalfAwayFromZero', () => {
  it('rounds halves away from zero, by hand', () => {
    assert.equal(roundHalfAwayFromZero(12345n, 3, 2), 1235n); // 12.345 → 12.35
    assert.equal(roundHalfAwayFromZero(-12345n, 3, 2), -1235n); // -12.345 → -12.35
    assert.equal(roundHalfAwayFromZero(12344n, 3, 2), 1234n);
    assert.equal(roundHalfAwayFromZero(5n, 1, 0), 1n); // 0.5 → 1
    assert.equal(roundHalfAwayFromZero(-5n, 1, 0), -1n);
    assert.equal(roundHalfAwayFromZero(4999n, 4, 0), 0n);
    assert.equal(toMinor(parseDecimal('0.005'), 2), 1n);
    assert.equal(toMinor(parseDecimal('2.675'), 2), 268n); // a float would give 2.67
  });
  it('is odd-symmetric and within half a unit (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }), (units) => {
        const r = roundHalfAwayFromZero(units, SCALE, 2);
        assert.equal(roundHalfAwayFromZero(-units, SCALE, 2), -r);
        const diff = units - r * 10n ** 16n;
        assert.ok(diff * 2n <= 10n ** 16n && diff * 2n >= -(10n ** 16n));
      }),
    );
  });
  it('keeps sums of rounded lines within n half-cents of the exact total (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: -(10n ** 22n), max: 10n ** 22n }), { maxLength: 50 }), (lines) => {
        const exact = lines.reduce((a, b) => a + b, 0n);
        const rounded = lines.reduce((a, b) => a + toMinor(b, 2), 0n) * 10n ** 16n;
        const residue = exact - rounded;
        const bound = BigInt(lines.length) * 5n * 10n ** 15n;
        assert.ok(residue <= bound && residue >= -bound);
      }),
    );
  });
});

describe('discountPercent', () => {
  it('computes one decimal, by hand', () => {
    assert.equal(discountPercent(2500n, 10000n), '25.0');
    assert.equal(discountPercent(1n, 3n), '33.3');
    assert.equal(discountPercent(2n, 3n), '66.7');
    assert.equal(divRound(-5n, 10n), -1n);
  });
  it('never shows 100% while something is due, nor 0% for a real discount', () => {
    assert.equal(discountPercent(9995n, 10000n), '99.9'); // 99.95% would round to 100.0
    assert.equal(discountPercent(10000n, 10000n), '100.0'); // fully subsidised
    assert.equal(discountPercent(1n, 100000n), '0.1'); // 0.001%
    assert.equal(discountPercent(0n, 100n), '0.0');
    assert.equal(discountPercent(-1n, 100000n), '-0.1'); // billed above list
    assert.equal(discountPercent(5n, 0n), null);
  });
  it('holds for any discount below list (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), (a, b) => {
        const [discount, list] = a < b ? [a, b] : [b, a + 1n];
        const p = discountPercent(discount, list);
        assert.ok(p !== null && p !== '100.0' && p !== '0.0');
      }),
    );
  });
});

describe('currency', () => {
  it('knows minor units and formats exact decimal strings', () => {
    assert.equal(minorDigits('USD'), 2);
    assert.equal(minorDigits('JPY'), 0);
    assert.equal(minorDigits('USD', { USD: 3 }), 3);
    assert.equal(formatMoney('1234567.89', 'USD'), '$1,234,567.89');
    assert.equal(formatMoney('-0.10', 'EUR'), '-€0.10');
    // 17 significant digits survive: a float would print 12345678901234567.00 wrongly.
    assert.equal(formatMoney('12345678901234.57', 'USD'), '$12,345,678,901,234.57');
  });
  it('writes what Intl writes, whatever the amount, currency, locale and digits', () => {
    const intl = (text: string, code: string, locale: string, d: number) =>
      new Intl.NumberFormat(locale, { style: 'currency', currency: code, minimumFractionDigits: d, maximumFractionDigits: d }).format(
        text as unknown as number,
      );
    const plain = fc.tuple(fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n }), fc.integer({ min: 0, max: 4 }));
    // Also what formatUnits never writes: Intl rounds or reads these, and so must formatMoney.
    const odd = fc.constantFrom('007.50', '-0', '+1.00', '1e3', '1.005', '.5', '5.', '1.2', '-0.000', '12345.6789');
    fc.assert(
      fc.property(
        fc.oneof(
          plain.map(([units, d]) => [formatUnits(units, d), d] as const),
          fc.tuple(odd, fc.integer({ min: 0, max: 3 })),
        ),
        fc.constantFrom('USD', 'EUR', 'JPY', 'BHD', 'INR', 'CHF', 'GBP', 'CAD'),
        fc.constantFrom('en-US', 'de-DE', 'fr-FR', 'en-IN', 'es-ES', 'de-CH', 'ja-JP', 'ar-EG', 'he-IL', 'nl-NL'),
        ([text, d], code, locale) => {
          assert.equal(formatMoney(text, code, locale, d), intl(text, code, locale, d), `${text} ${code} ${locale} ${d}`);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('readableDecimal and alignDecimals', () => {
  it('keeps every digit, groups thousands and shows at least the minor places', () => {
    assert.deepEqual(
      ['72058.242099671200000000', '0.000000000000000000', '-7080.01', '88.23342', '1234567', '-0.5', '999.999'].map((v) =>
        readableDecimal(v, 2),
      ),
      ['72,058.2420996712', '0.00', '-7,080.01', '88.23342', '1,234,567.00', '-0.50', '999.999'],
    );
    assert.equal(readableDecimal('1000', 0), '1,000');
  });

  it('lines up the points of a column of decimals', () => {
    assert.deepEqual(alignDecimals(['72,058.2420996712', '71,969.94', '0.00', '12'], '_', '.'), [
      '72,058.2420996712',
      '71,969.94________',
      '0.00________',
      '12.__________',
    ]);
    assert.deepEqual(alignDecimals(['1', '22']), ['1', '22']);
  });

  it('keeps the digits of any amount: its grouped text read back is the amount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (units) => {
        const text = readableDecimal(formatUnits(units, SCALE), 2);
        assert.match(text, /^-?\d{1,3}(,\d{3})*\.\d{2,}$/);
        assert.equal(parseDecimal(text.replaceAll(',', '')), units);
      }),
    );
  });
});
