// The shared unit conversion (src/domain/market-format.ts): tick and step sizes derived
// from a MarketSpec, exact printing and parsing of prices and quantities, and the
// averages and percentages the tickers print.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatAveragePrice, formatPercentChange, formatPrice, formatQuantity, formatQuoteAtoms, marketFormat, parsePriceTicks,
  parseQuantityLots, stepSizeText, tickSizeText,
} from '../../src/domain/market-format.ts';
import type { MarketSpec } from '../../src/domain/market.ts';
import { SeededRandom } from '../../src/lib/prng.ts';

const base: MarketSpec = {
  symbol: 'BTCUSDT', baseAsset: 'BTC', quoteAsset: 'USDT', lotAtoms: 10_000, quoteAtomsPerTickLot: 1,
  maxPriceTicks: 100_000_000, minQuantityLots: 1, maxQuantityLots: 10_000_000, marketMaxQuantityLots: 1_000_000,
  minNotionalAtoms: 5_000_000, makerFeeBps: 10, takerFeeBps: 10,
};

test('tick size = quoteAtomsPerTickLot x 10^baseScale / lotAtoms quote atoms per base unit', () => {
  // BTC scale 8, USDT scale 6: lot 0.0001 BTC (10,000 atoms); one tick x one lot = 1 USDT atom
  // (0.000001 USDT), so one tick is 0.000001 / 0.0001 = 0.01 USDT per BTC.
  const format = marketFormat(base, 8, 6);
  assert.equal(format.priceScale, 8, 'Binance prints at least 8 decimals');
  assert.equal(tickSizeText(format), '0.01000000');
  assert.equal(stepSizeText(format), '0.00010000');
  assert.equal(formatPrice(format, 6_500_000), '65000.00000000');
  assert.equal(formatQuantity(format, 25), '0.00250000');
  assert.equal(formatQuoteAtoms(format, 162_500_000), '162.50000000');
  // Consistency: price x quantity = notional, in the spec's own units.
  assert.equal(6_500_000 * 25 * base.quoteAtomsPerTickLot, 162_500_000);
});

test('a tick finer than one quote atom per base unit prints with extra decimals, exactly', () => {
  // ETHBTC-like: lot 0.001 ETH = 100,000 atoms at scale 8, one tick x one lot = 1 BTC atom:
  // a tick is 10^-8 / 10^-3 = 0.00001 BTC per ETH, within the quote scale (8).
  assert.equal(tickSizeText(marketFormat({ ...base, lotAtoms: 100_000 }, 8, 8)), '0.00001000');
  // lot 0.4 units (40 atoms at scale 2), one tick x one lot = 1 atom at scale 2: tick 0.025.
  const fine = marketFormat({ ...base, lotAtoms: 40 }, 2, 2);
  assert.equal(fine.exact, true);
  assert.equal(tickSizeText(fine), '0.02500000');
  assert.equal(formatPrice(fine, 3), '0.07500000');
  // An 18-decimal quote asset keeps only the decimals its tick needs (at least 8).
  const wide = marketFormat({ ...base, lotAtoms: 10 ** 15, quoteAtomsPerTickLot: 10 ** 13 }, 18, 18);
  assert.equal(tickSizeText(wide), '0.01000000');
  assert.equal(formatPrice(wide, 123_456), '1234.56000000');
  // A lot of 3 atoms cannot give a finite decimal tick: printed rounded, and parsing refuses.
  const thirds = marketFormat({ ...base, lotAtoms: 3 }, 0, 0);
  assert.equal(thirds.exact, false);
  assert.equal(parsePriceTicks(thirds, '1').ok, false);
});

test('parsing is the exact inverse of printing, and refuses off-step and malformed text', () => {
  const format = marketFormat(base, 8, 6);
  const seed = 4242;
  const random = new SeededRandom(seed);
  for (let index = 0; index < 2000; index++) {
    const ticks = random.integer(1, base.maxPriceTicks);
    const lots = random.integer(1, base.maxQuantityLots);
    assert.deepEqual(parsePriceTicks(format, formatPrice(format, ticks)), { ok: true, value: ticks }, `seed ${seed}`);
    assert.deepEqual(parseQuantityLots(format, formatQuantity(format, lots)), { ok: true, value: lots }, `seed ${seed}`);
  }
  assert.deepEqual(parsePriceTicks(format, '65000.01'), { ok: true, value: 6_500_001 });
  assert.deepEqual(parsePriceTicks(format, '65000.015'), { ok: false, error: 'offStep' });
  assert.deepEqual(parsePriceTicks(format, '65000.0100000000'), { ok: true, value: 6_500_001 });
  assert.deepEqual(parseQuantityLots(format, '0.00015'), { ok: false, error: 'offStep' });
  for (const bad of ['', '-1', '1e3', '0x10', ' 1', '1.', '.5', 'NaN', '+1']) {
    assert.deepEqual(parsePriceTicks(format, bad), { ok: false, error: 'malformed' }, bad);
    assert.deepEqual(parseQuantityLots(format, bad), { ok: false, error: 'malformed' }, bad);
  }
});

test('average price and percent change round half up', () => {
  const format = marketFormat(base, 8, 6);
  // 0.0002 BTC for 13.000001 USDT: 65000.005 USDT per BTC.
  assert.equal(formatAveragePrice(format, 13_000_001, 2), '65000.00500000');
  // 0.0003 BTC for 13.000001 USDT: 43333.33666... rounds half up to 43333.33666667.
  assert.equal(formatAveragePrice(format, 13_000_001, 3), '43333.33666667');
  assert.equal(formatAveragePrice(format, 0, 0), '0.00000000');
  assert.equal(formatPercentChange(10_000, 10_250), '2.500');
  assert.equal(formatPercentChange(30_000, 29_999), '-0.003');
  assert.equal(formatPercentChange(0, 5), '0.000');
});
