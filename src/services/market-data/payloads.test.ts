// The per-trade payloads written as text (trade and aggTrade stream messages, the REST
// trades and aggTrades rows) must be byte for byte what JSON.stringify gives for the same
// fields in the same order, and RecentJsonTexts must give JSON.stringify of the newest items.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { marketFormat } from '../../domain/market-format.ts';
import type { MarketSpec } from '../../domain/market.ts';
import {
  aggregateTradeStreamPayload, RecentJsonTexts, restAggregateTradeText, restTrade, restTradeText, tradeStreamPayload, type RestAggregateTrade, type TradeFacts,
} from './payloads.ts';
import { formatPrice, formatQuantity } from '../../domain/market-format.ts';

const spec: MarketSpec = {
  symbol: 'BTCUSDT', baseAsset: 'BTC', quoteAsset: 'USDT', lotAtoms: 10_000, quoteAtomsPerTickLot: 1, maxPriceTicks: 100_000_000,
  minQuantityLots: 1, maxQuantityLots: 10_000_000, marketMaxQuantityLots: 1_000_000, minNotionalAtoms: 1, makerFeeBps: 10, takerFeeBps: 10,
};

test('trade and aggregate texts equal JSON.stringify of the same fields', () => {
  const format = marketFormat(spec, 8, 6);
  for (let index = 0; index < 5000; index++) {
    const trade: TradeFacts = {
      tradeId: index + 1, priceTicks: (index * 7919) % 100_000_000, quantityLots: (index * 104_729) % 10_000_000, quoteAtoms: index * 123_457,
      timeMs: 1_795_326_563_438 + index, buyerIsMaker: index % 3 === 0, buyerOrderId: index * 2 + 1, sellerOrderId: index * 2 + 2,
    };
    assert.equal(tradeStreamPayload(format, trade, 1_795_326_563_999), JSON.stringify({
      e: 'trade', E: 1_795_326_563_999, s: 'BTCUSDT', t: trade.tradeId, p: formatPrice(format, trade.priceTicks), q: formatQuantity(format, trade.quantityLots),
      b: trade.buyerOrderId, a: trade.sellerOrderId, T: trade.timeMs, m: trade.buyerIsMaker, M: true,
    }));
    assert.equal(restTradeText(format, trade), JSON.stringify(restTrade(format, trade)));
    const aggregate: RestAggregateTrade = {
      a: index + 1, p: formatPrice(format, trade.priceTicks), q: formatQuantity(format, trade.quantityLots), f: index + 1, l: index + 3,
      T: trade.timeMs, m: index % 2 === 0, M: true,
    };
    assert.equal(restAggregateTradeText(aggregate), JSON.stringify(aggregate));
    assert.equal(aggregateTradeStreamPayload(format, aggregate, 42), JSON.stringify({
      e: 'aggTrade', E: 42, s: 'BTCUSDT', a: aggregate.a, p: aggregate.p, q: aggregate.q, f: aggregate.f, l: aggregate.l, T: aggregate.T, m: aggregate.m, M: true,
    }));
  }
});

test('RecentJsonTexts keeps the newest items and reads as their JSON array', () => {
  // Sizes around the block length (32 items) and several blocks, read after every push.
  for (const itemsMax of [0, 1, 3, 10, 31, 32, 33, 100, 257]) {
    const texts = new RecentJsonTexts(itemsMax);
    const items: { id: number }[] = [];
    assert.equal(texts.jsonArray(), '[]');
    for (let id = 1; id <= 700; id++) {
      texts.push(JSON.stringify({ id }));
      items.push({ id });
      const kept = items.slice(Math.max(0, items.length - itemsMax));
      assert.equal(texts.jsonArray(), JSON.stringify(kept), `itemsMax ${itemsMax} after ${id}`);
      assert.equal(texts.length, kept.length);
    }
  }
});
