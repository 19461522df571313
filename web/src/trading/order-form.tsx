// The order form: buy/sell, limit / market / post-only (LIMIT_MAKER), amount typed or
// taken as a percentage of the available balance, checked against the market's filters
// before sending. The server's answer (or its error, verbatim) is shown under the button.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, post, web } from '../lib/api.ts';
import { useStore } from '../lib/store.ts';
import { divideDecimal, fixed, floorToStep, formatDecimal, multiplyDecimal, parseDecimal, trimZeros } from '../lib/decimal.ts';
import { linkHandler } from '../lib/router.ts';
import { accountVersion, balances, notify, refreshBalances, session, type MarketInfo } from '../state.ts';
import { validateOrder, type OrderKind } from './validate.ts';

export const percentChoices = [25, 50, 75, 100] as const;

const statusLabels: Record<string, string> = {
  NEW: 'placed',
  PARTIALLY_FILLED: 'placed, partially filled',
  FILLED: 'filled',
  CANCELED: 'canceled',
  EXPIRED: 'expired (nothing left to match)',
  EXPIRED_IN_MATCH: 'expired (self-trade prevention)',
};

const kindLabels: Record<OrderKind, string> = { LIMIT: 'Limit', MARKET: 'Market', LIMIT_MAKER: 'Post only' };

export function OrderForm({
  market,
  price,
  onPriceChange,
  referencePrice,
}: {
  market: MarketInfo;
  price: string;
  onPriceChange: (price: string) => void;
  /** Last trade price: sizes a market buy by balance, where the form has no price. */
  referencePrice: string;
}) {
  const { user } = useStore(session);
  const balanceList = useStore(balances);
  const [side, setSide] = useState<'BUY' | 'SELL'>('BUY');
  const [kind, setKind] = useState<OrderKind>('LIMIT');
  const [quantity, setQuantity] = useState('');
  const [error, setError] = useState('');
  const [result, setResult] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setError('');
    setResult('');
  }, [side, kind, market.symbol]);

  const available = (asset: string): string => balanceList.find((balance) => balance.asset === asset)?.free ?? '0';
  const spendAsset = side === 'BUY' ? market.quoteAsset : market.baseAsset;
  const spendAvailable = available(spendAsset);

  const applyPercent = (percent: number): void => {
    const free = parseDecimal(spendAvailable);
    const step = parseDecimal(market.stepSize);
    if (!free || !step) return;
    const share = divideDecimal(multiplyDecimal(free, { units: BigInt(percent), scale: 0 }), { units: 100n, scale: 0 }, free.scale + 2);
    let amount = share;
    if (side === 'BUY') {
      const unitPrice = parseDecimal(kind === 'MARKET' ? referencePrice : price);
      if (!unitPrice || unitPrice.units === 0n) {
        setError(kind === 'MARKET' ? 'No last price yet to size a market buy by balance.' : 'Enter a price first to size a buy by balance.');
        return;
      }
      amount = divideDecimal(share, unitPrice, market.quantityDecimals + 2);
    }
    setQuantity(trimZeros(formatDecimal(floorToStep(amount, step), market.quantityDecimals)));
  };

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setResult('');
    const problem = validateOrder({ side, kind, price, quantity }, market);
    if (problem) {
      setError(problem);
      return;
    }
    setError('');
    setBusy(true);
    const body: Record<string, string> = { symbol: market.symbol, side, type: kind, quantity };
    if (kind !== 'MARKET') body.price = price;
    if (kind === 'LIMIT') body.timeInForce = 'GTC';
    try {
      const order = await post<{ orderId: number; status: string; executedQty: string }>(`${web}/order`, body);
      const text = `Order ${order.orderId} ${statusLabels[order.status] ?? order.status.toLowerCase()}`;
      setResult(text);
      notify(text, 'success');
      accountVersion.update((version) => version + 1);
      void refreshBalances().catch(() => undefined);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  const total = (() => {
    const unitPrice = Number(price);
    const amount = Number(quantity);
    return kind !== 'MARKET' && unitPrice > 0 && amount > 0 ? fixed(unitPrice * amount, market.priceDecimals) : '';
  })();

  return (
    <section class="panel form-panel">
      <div class="side-switch">
        <button class={side === 'BUY' ? 'buy on' : 'buy'} onClick={() => setSide('BUY')} data-testid="side-buy">
          Buy
        </button>
        <button class={side === 'SELL' ? 'sell on' : 'sell'} onClick={() => setSide('SELL')} data-testid="side-sell">
          Sell
        </button>
      </div>
      <div class="segmented kinds">
        {(Object.keys(kindLabels) as OrderKind[]).map((name) => (
          <button key={name} class={name === kind ? 'on' : ''} onClick={() => setKind(name)} data-testid={`kind-${name}`}>
            {kindLabels[name]}
          </button>
        ))}
      </div>
      <form onSubmit={submit} data-testid="order-form" noValidate>
        <div class="available muted small">
          Available <span data-testid="available">{fixed(spendAvailable, 8).replace(/\.?0+$/, '') || '0'}</span> {spendAsset}
        </div>
        {kind !== 'MARKET' ? (
          <label class="field">
            <span>Price</span>
            <input name="price" inputMode="decimal" autocomplete="off" value={price} onInput={(event) => onPriceChange(event.currentTarget.value.trim())} />
            <em>{market.quoteAsset}</em>
          </label>
        ) : (
          <div class="field disabled">
            <span>Price</span>
            <input disabled value="Market" />
            <em>{market.quoteAsset}</em>
          </div>
        )}
        <label class="field">
          <span>Amount</span>
          <input name="quantity" inputMode="decimal" autocomplete="off" value={quantity} onInput={(event) => setQuantity(event.currentTarget.value.trim())} />
          <em>{market.baseAsset}</em>
        </label>
        <div class="percent">
          {percentChoices.map((percent) => (
            <button type="button" key={percent} onClick={() => applyPercent(percent)} disabled={!user}>
              {percent}%
            </button>
          ))}
        </div>
        {total && (
          <div class="muted small">
            Total ≈ {total} {market.quoteAsset}
          </div>
        )}
        {error && (
          <p class="error" role="alert" data-testid="order-error">
            {error}
          </p>
        )}
        {result && (
          <p class="ok small" data-testid="order-result">
            {result}
          </p>
        )}
        {user ? (
          <button type="submit" class={`wide ${side === 'BUY' ? 'buy' : 'sell'}`} disabled={busy} data-testid="submit-order">
            {side === 'BUY' ? 'Buy' : 'Sell'} {market.baseAsset}
          </button>
        ) : (
          <a class="button primary wide" href="/signin" onClick={linkHandler('/signin')}>
            Sign in to trade
          </a>
        )}
      </form>
    </section>
  );
}
