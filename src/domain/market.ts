// What defines a market and an asset, in integer units. Balances are counted in atoms of
// an asset (10^-scale of a unit); a market counts prices in ticks and quantities in lots,
// and one tick times one lot is a whole number of quote atoms (`quoteAtomsPerTickLot`),
// so notional = priceTicks x quantityLots x quoteAtomsPerTickLot is exact.

export interface AssetSpec {
  /** Upper case, e.g. "BTC". */
  code: string;
  /** Decimal places of one atom: balance atoms = units x 10^scale. 0..18. */
  scale: number;
}

export interface MarketSpec {
  /** Binance-style symbol, e.g. "BTCUSDT". Upper case letters and digits. */
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  /** Base atoms in one lot (the LOT_SIZE stepSize). */
  lotAtoms: number;
  /** Quote atoms that one tick of price times one lot of quantity is worth. */
  quoteAtomsPerTickLot: number;
  /** PRICE_FILTER maxPrice in ticks (minPrice is one tick). */
  maxPriceTicks: number;
  /** LOT_SIZE minQty / maxQty in lots. */
  minQuantityLots: number;
  maxQuantityLots: number;
  /** MARKET_LOT_SIZE maxQty in lots. */
  marketMaxQuantityLots: number;
  /** NOTIONAL minNotional in quote atoms (applies to limit and quote-amount market orders). */
  minNotionalAtoms: number;
  /** Fees in basis points, 0..1000. */
  makerFeeBps: number;
  takerFeeBps: number;
}

export const feeBpsMax = 1000;
export const assetScaleMax = 18;
