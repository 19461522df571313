import ccxt from 'ccxt';
import { startExchange } from '../embedded.ts';
import { placeOrder } from '../../../src/domain/command.ts';
import { OrderType, Side, TimeInForce } from '../../../src/domain/codes.ts';
import { formatPrice, formatQuantity, marketFormatFromAssets, parsePriceTicks } from '../../../src/domain/market-format.ts';
const exchange = await startExchange();
try {
  const ex = new ccxt.pro.binance({ enableRateLimit: false, options: { fetchMarkets: ['spot'], fetchCurrencies: false, fetchMargins: false, defaultType: 'spot', adjustForTimeDifference: false } });
  const api = (ex.urls as any).api as Record<string, any>;
  for (const name of Object.keys(api)) {
    if (name === 'ws') continue;
    const path = new URL(api[name]).pathname;
    api[name] = `${exchange.url}${path.startsWith('/api/') ? path.replace(/\/api\/v\d+$/, '/api/v3') : '/api/v3'}`;
  }
  api.ws.spot = `${exchange.wsUrl}/ws`;
  await (ex as any).loadHttpProxyAgent();
  await ex.loadMarkets();
  const market = exchange.host.marketBySymbol('BTCUSDT')!;
  const format = marketFormatFromAssets(market.spec, exchange.host.assets());
  const mid = (parsePriceTicks(format, '65000') as any).value;
  const [a, b] = exchange.demoUsers.map((u) => u.userId);
  const bookPromise = ex.watchOrderBook('BTC/USDT');
  const tradesPromise = ex.watchTrades('BTC/USDT');
  for (let i = 0; i < 20; i++) {
    await exchange.host.submit(placeOrder({ accountId: a!, marketId: 1, side: Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: mid + i * 100, quantityLots: 3 }));
    await exchange.host.submit(placeOrder({ accountId: b!, marketId: 1, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: mid - 100 - i * 100, quantityLots: 2 }));
  }
  let book = await bookPromise;
  await exchange.host.submit(placeOrder({ accountId: b!, marketId: 1, side: Side.Buy, orderType: OrderType.Market, quantityLots: 4 }));
  const trades = await tradesPromise;
  console.log('trades', trades.length, trades[0]?.price, trades[0]?.amount, trades[0]?.side);
  for (let i = 0; i < 10; i++) { book = await ex.watchOrderBook('BTC/USDT'); }
  const depth = exchange.host.depth(1, 100);
  console.log('nonce', (book as any).nonce, 'engine', depth.updateId);
  console.log('ccxt asks', book.asks.slice(0, 3), 'engine', depth.asks.slice(0, 3).map(([p, q]) => [formatPrice(format, p), formatQuantity(format, q)]));
  console.log('ccxt bids', book.bids.slice(0, 3), 'engine', depth.bids.slice(0, 3).map(([p, q]) => [formatPrice(format, p), formatQuantity(format, q)]));
  await ex.close();
} finally {
  await exchange.stop();
}
