import ccxt from 'ccxt';
const ex = new ccxt.pro.binance({ options: { fetchMarkets: ['spot'], fetchCurrencies: false, defaultType: 'spot' } });
console.log(JSON.stringify((ex.urls as any).api.ws, null, 1));
console.log(JSON.stringify(Object.keys((ex.urls as any).api)));
console.log(ex.options.watchOrderBookLimit, ex.options.streamBySubscriptionsHash ? 'y':'n', JSON.stringify(ex.options.ws ?? {}).slice(0,300));
