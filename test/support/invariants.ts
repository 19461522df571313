// The invariants of DESIGN.md checked after every command of a simulation: conservation
// per asset, no negative balance, held = open orders' holds + pending withdrawals, book
// never crossed, price-time priority, filled quantity never decreasing, and the L2 book
// rebuilt from BookLevelChanged events equal to the engine's book. Checks are incremental
// (only what the command's events touched) with a full recomputation every few hundred
// commands, so a bug that changes state without an event is caught too.
import { EventType, OrderType, Side } from '../../src/domain/codes.ts';
import { type EventBuffer, fieldIndex } from '../../src/domain/events.ts';
import type { MarketSpec } from '../../src/domain/market.ts';
import { buyHoldAtoms } from '../../src/domain/units.ts';
import type { MatchingEngine, OrderView } from '../../src/engine/types.ts';

class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

function check(condition: boolean, message: () => string): void {
  if (!condition) throw new InvariantViolation(message());
}

interface MarketModel {
  spec: MarketSpec;
  baseAssetId: number;
  quoteAssetId: number;
  makerFeeBps: number;
  takerFeeBps: number;
  updateId: number;
  /** L2 levels rebuilt from BookLevelChanged: key `${side}:${price}` -> [quantityLots, orderCount]. */
  levels: Map<string, [number, number]>;
  /** Per (account:asset) the sum of this market's open orders' holds, from the last recount. */
  holds: Map<string, number>;
}

const field = {
  balanceAccount: fieldIndex(EventType.BalanceChanged, 'accountId'),
  balanceAsset: fieldIndex(EventType.BalanceChanged, 'assetId'),
  balanceAvailable: fieldIndex(EventType.BalanceChanged, 'availableAtoms'),
  balanceHeld: fieldIndex(EventType.BalanceChanged, 'heldAtoms'),
  levelMarket: fieldIndex(EventType.BookLevelChanged, 'marketId'),
  levelSide: fieldIndex(EventType.BookLevelChanged, 'side'),
  levelPrice: fieldIndex(EventType.BookLevelChanged, 'priceTicks'),
  levelQuantity: fieldIndex(EventType.BookLevelChanged, 'quantityLots'),
  levelUpdateId: fieldIndex(EventType.BookLevelChanged, 'updateId'),
  levelCount: fieldIndex(EventType.BookLevelChanged, 'orderCount'),
  acceptedOrder: fieldIndex(EventType.OrderAccepted, 'orderId'),
  acceptedMarket: fieldIndex(EventType.OrderAccepted, 'marketId'),
  transferAccount: fieldIndex(EventType.Deposited, 'accountId'),
  transferAsset: fieldIndex(EventType.Deposited, 'assetId'),
  transferAmount: fieldIndex(EventType.Deposited, 'amountAtoms'),
  marketAddedId: fieldIndex(EventType.MarketAdded, 'marketId'),
  marketAddedBase: fieldIndex(EventType.MarketAdded, 'baseAssetId'),
  marketAddedQuote: fieldIndex(EventType.MarketAdded, 'quoteAssetId'),
  feesMarket: fieldIndex(EventType.FeesSet, 'marketId'),
  feesMaker: fieldIndex(EventType.FeesSet, 'makerFeeBps'),
  feesTaker: fieldIndex(EventType.FeesSet, 'takerFeeBps'),
  tradeMarket: fieldIndex(EventType.TradeExecuted, 'marketId'),
  tradeQuantity: fieldIndex(EventType.TradeExecuted, 'quantityLots'),
  orderEventMarket: fieldIndex(EventType.OrderCanceled, 'marketId'),
};

/** Fields 0..2 of OrderFilled / OrderCanceled / OrderExpired / OrderAmended are orderId, accountId, marketId. */
const orderEventTypes = new Set<number>([EventType.OrderFilled, EventType.OrderCanceled, EventType.OrderExpired, EventType.OrderAmended]);

export class InvariantChecker {
  /** Deposits minus completed withdrawals per assetId, counted by the test from events. */
  private readonly supplyAtoms = new Map<number, number>();
  /** Sum of available + held per assetId, from BalanceChanged events. */
  private readonly balanceSumAtoms = new Map<number, number>();
  private readonly balances = new Map<string, { available: number; held: number }>();
  private readonly pendingWithdrawalAtoms = new Map<string, number>();
  private readonly markets = new Map<number, MarketModel>();
  /** max(maker, taker) fee bps of the market when each order was accepted. */
  private readonly orderHoldFeeBps = new Map<number, number>();
  private readonly lastFilledLots = new Map<number, number>();
  private commandsSinceFullCheck = 0;

  constructor(
    private readonly engine: MatchingEngine,
    private readonly fullCheckEveryCommands = 250,
  ) {}

  /** Checks the state after one command whose events are in `buffer`. Throws on a violation. */
  afterCommand(buffer: EventBuffer): void {
    const touchedMarkets = new Set<number>();
    const touchedBalances: string[] = [];
    const touchedAssets = new Set<number>();
    for (let index = 0; index < buffer.length; index++) {
      const type = buffer.type(index);
      const value = (slot: number): number => buffer.field(index, slot);
      switch (type) {
        case EventType.MarketAdded: {
          const spec = JSON.parse(buffer.strings1[index] ?? '') as MarketSpec;
          this.markets.set(value(field.marketAddedId), {
            spec, baseAssetId: value(field.marketAddedBase), quoteAssetId: value(field.marketAddedQuote),
            makerFeeBps: spec.makerFeeBps, takerFeeBps: spec.takerFeeBps, updateId: 0, levels: new Map(), holds: new Map(),
          });
          break;
        }
        case EventType.FeesSet: {
          const market = this.markets.get(value(field.feesMarket))!;
          market.makerFeeBps = value(field.feesMaker);
          market.takerFeeBps = value(field.feesTaker);
          break;
        }
        case EventType.OrderAccepted: {
          const market = this.markets.get(value(field.acceptedMarket))!;
          this.orderHoldFeeBps.set(value(field.acceptedOrder), Math.max(market.makerFeeBps, market.takerFeeBps));
          touchedMarkets.add(value(field.acceptedMarket));
          break;
        }
        case EventType.TradeExecuted:
          check(value(field.tradeQuantity) > 0, () => 'a trade of zero lots');
          touchedMarkets.add(value(field.tradeMarket));
          break;
        case EventType.BookLevelChanged: {
          const marketId = value(field.levelMarket);
          const market = this.markets.get(marketId)!;
          check(value(field.levelUpdateId) === market.updateId + 1, () => `market ${marketId} updateId ${value(field.levelUpdateId)} after ${market.updateId}`);
          market.updateId += 1;
          const key = `${value(field.levelSide)}:${value(field.levelPrice)}`;
          const quantity = value(field.levelQuantity);
          const count = value(field.levelCount);
          check((quantity === 0) === (count === 0) && quantity >= 0, () => `level ${key} of market ${marketId}: ${quantity} lots in ${count} orders`);
          if (count === 0) market.levels.delete(key);
          else market.levels.set(key, [quantity, count]);
          touchedMarkets.add(marketId);
          break;
        }
        case EventType.Deposited:
        case EventType.WithdrawRequested:
        case EventType.WithdrawCompleted:
        case EventType.WithdrawCanceled: {
          const key = `${value(field.transferAccount)}:${value(field.transferAsset)}`;
          const assetId = value(field.transferAsset);
          const amount = value(field.transferAmount);
          if (type === EventType.Deposited) this.supplyAtoms.set(assetId, (this.supplyAtoms.get(assetId) ?? 0) + amount);
          if (type === EventType.WithdrawCompleted) this.supplyAtoms.set(assetId, (this.supplyAtoms.get(assetId) ?? 0) - amount);
          const pendingChange = type === EventType.WithdrawRequested ? amount : type === EventType.Deposited ? 0 : -amount;
          this.pendingWithdrawalAtoms.set(key, (this.pendingWithdrawalAtoms.get(key) ?? 0) + pendingChange);
          touchedAssets.add(assetId);
          break;
        }
        case EventType.BalanceChanged: {
          const accountId = value(field.balanceAccount);
          const assetId = value(field.balanceAsset);
          const available = value(field.balanceAvailable);
          const held = value(field.balanceHeld);
          const key = `${accountId}:${assetId}`;
          check(available >= 0 && held >= 0, () => `negative balance ${key}: ${available} available, ${held} held`);
          check(Number.isSafeInteger(available) && Number.isSafeInteger(held), () => `balance ${key} not a safe integer`);
          const previous = this.balances.get(key) ?? { available: 0, held: 0 };
          this.balanceSumAtoms.set(assetId, (this.balanceSumAtoms.get(assetId) ?? 0) + available + held - previous.available - previous.held);
          this.balances.set(key, { available, held });
          touchedBalances.push(key);
          touchedAssets.add(assetId);
          break;
        }
        default:
          if (orderEventTypes.has(type)) touchedMarkets.add(value(field.orderEventMarket));
      }
    }
    for (const marketId of touchedMarkets) this.checkMarket(marketId);
    for (const key of touchedBalances) this.checkBalance(key);
    if (touchedAssets.size > 0) {
      for (const asset of this.engine.assets()) {
        if (touchedAssets.has(asset.assetId)) this.checkConservation(asset.assetId, asset.supplyAtoms);
      }
    }
    this.commandsSinceFullCheck += 1;
    if (this.commandsSinceFullCheck >= this.fullCheckEveryCommands) this.fullCheck();
  }

  /** Recomputes everything from the engine's views. */
  fullCheck(): void {
    this.commandsSinceFullCheck = 0;
    for (const market of this.engine.markets()) {
      const model = this.markets.get(market.marketId);
      check(model !== undefined, () => `market ${market.marketId} without MarketAdded`);
      check(market.updateId === model!.updateId, () => `market ${market.marketId} updateId ${market.updateId}, events say ${model!.updateId}`);
      check(
        market.spec.makerFeeBps === model!.makerFeeBps && market.spec.takerFeeBps === model!.takerFeeBps,
        () => `market ${market.marketId} fees differ from FeesSet events`,
      );
      this.checkMarket(market.marketId);
      this.checkDepth(market.marketId);
    }
    const seen = new Set<string>();
    for (const balance of this.engine.balances()) {
      const key = `${balance.accountId}:${balance.assetId}`;
      const model = this.balances.get(key) ?? { available: 0, held: 0 };
      check(
        model.available === balance.availableAtoms && model.held === balance.heldAtoms,
        () => `balance ${key} is ${balance.availableAtoms}/${balance.heldAtoms}, events said ${model.available}/${model.held}`,
      );
      seen.add(key);
    }
    for (const [key, model] of this.balances) {
      check(seen.has(key) || (model.available === 0 && model.held === 0), () => `balance ${key} missing from balances()`);
      this.checkBalance(key);
    }
    for (const asset of this.engine.assets()) {
      const sum = this.engine.balances()
        .filter((balance) => balance.assetId === asset.assetId)
        .reduce((total, balance) => total + balance.availableAtoms + balance.heldAtoms, 0);
      check(sum === asset.supplyAtoms, () => `asset ${asset.code}: balances add up to ${sum}, supply ${asset.supplyAtoms}`);
      this.checkConservation(asset.assetId, asset.supplyAtoms);
    }
  }

  private checkConservation(assetId: number, engineSupplyAtoms: number): void {
    const supply = this.supplyAtoms.get(assetId) ?? 0;
    const sum = this.balanceSumAtoms.get(assetId) ?? 0;
    check(engineSupplyAtoms === supply, () => `asset ${assetId}: engine supply ${engineSupplyAtoms}, deposits - withdrawals ${supply}`);
    check(sum === supply, () => `asset ${assetId}: balances add up to ${sum}, deposits - withdrawals ${supply}`);
  }

  private checkBalance(key: string): void {
    const [accountText, assetText] = key.split(':');
    const accountId = Number(accountText);
    const assetId = Number(assetText);
    const engineBalance = this.engine.balance(accountId, assetId);
    const model = this.balances.get(key) ?? { available: 0, held: 0 };
    check(
      engineBalance.availableAtoms === model.available && engineBalance.heldAtoms === model.held,
      () => `balance ${key} is ${engineBalance.availableAtoms}/${engineBalance.heldAtoms}, last BalanceChanged said ${model.available}/${model.held}`,
    );
    let orderHolds = 0;
    for (const market of this.markets.values()) orderHolds += market.holds.get(key) ?? 0;
    const pending = this.pendingWithdrawalAtoms.get(key) ?? 0;
    check(
      model.held === orderHolds + pending,
      () => `balance ${key}: held ${model.held}, open orders hold ${orderHolds}, pending withdrawals ${pending}`,
    );
  }

  private expectedHold(order: OrderView, market: MarketModel): number {
    const remaining = order.quantityLots - order.filledLots;
    if (order.side === Side.Sell) return remaining * market.spec.lotAtoms;
    const feeBps = this.orderHoldFeeBps.get(order.orderId);
    check(feeBps !== undefined, () => `order ${order.orderId} on the book without OrderAccepted`);
    return buyHoldAtoms(order.priceTicks, remaining, market.spec.quoteAtomsPerTickLot, feeBps!);
  }

  private checkMarket(marketId: number): void {
    const market = this.markets.get(marketId);
    check(market !== undefined, () => `events name unknown market ${marketId}`);
    const holds = new Map<string, number>();
    const levels = new Map<string, [number, number]>();
    const bestPrices: number[] = [];
    for (const side of [Side.Buy, Side.Sell] as const) {
      const orders = this.engine.bookOrders(marketId, side);
      bestPrices.push(orders.length > 0 ? orders[0]!.priceTicks : Number.NaN);
      let previous: OrderView | null = null;
      for (const order of orders) {
        const where = (): string => `market ${marketId} order ${order.orderId}`;
        check(order.side === side && order.marketId === marketId, () => `${where()} on the wrong book`);
        check(order.orderType === OrderType.Limit || order.orderType === OrderType.LimitMaker, () => `${where()} of type ${order.orderType} rests`);
        if (previous) {
          const better = side === Side.Buy ? previous.priceTicks > order.priceTicks : previous.priceTicks < order.priceTicks;
          check(
            better || (previous.priceTicks === order.priceTicks && previous.orderId < order.orderId),
            () => `${where()} breaks price-time priority after order ${previous!.orderId}`,
          );
        }
        previous = order;
        check(order.filledLots >= 0 && order.filledLots < order.quantityLots, () => `${where()} filled ${order.filledLots} of ${order.quantityLots}`);
        const lastFilled = this.lastFilledLots.get(order.orderId) ?? 0;
        check(order.filledLots >= lastFilled, () => `${where()} filled went from ${lastFilled} to ${order.filledLots}`);
        this.lastFilledLots.set(order.orderId, order.filledLots);
        const expected = this.expectedHold(order, market!);
        check(order.heldAtoms === expected, () => `${where()} holds ${order.heldAtoms}, expected ${expected}`);
        const assetId = side === Side.Buy ? market!.quoteAssetId : market!.baseAssetId;
        const key = `${order.accountId}:${assetId}`;
        holds.set(key, (holds.get(key) ?? 0) + expected);
        const levelKey = `${side}:${order.priceTicks}`;
        const level = levels.get(levelKey) ?? [0, 0];
        level[0] += order.quantityLots - order.filledLots;
        level[1] += 1;
        levels.set(levelKey, level);
      }
    }
    check(!(bestPrices[0]! >= bestPrices[1]!), () => `market ${marketId} crossed at rest: bid ${bestPrices[0]} >= ask ${bestPrices[1]}`);
    check(levels.size === market!.levels.size, () => `market ${marketId}: ${levels.size} levels on the book, events describe ${market!.levels.size}`);
    for (const [key, level] of levels) {
      const fromEvents = market!.levels.get(key);
      check(
        fromEvents !== undefined && fromEvents[0] === level[0] && fromEvents[1] === level[1],
        () => `market ${marketId} level ${key}: book ${level.join('/')}, events ${fromEvents?.join('/')}`,
      );
    }
    market!.holds = holds;
  }

  private checkDepth(marketId: number): void {
    const levelsMax = this.engine.limits().depthLevelsMax;
    const depth = this.engine.depth(marketId, levelsMax);
    const market = this.markets.get(marketId)!;
    check(depth.updateId === market.updateId, () => `depth of market ${marketId} at updateId ${depth.updateId}, events ${market.updateId}`);
    for (const side of [Side.Buy, Side.Sell] as const) {
      const expected = [...market.levels.entries()]
        .filter(([key]) => key.startsWith(`${side}:`))
        .map(([key, level]): [number, number] => [Number(key.split(':')[1]), level[0]])
        .sort((a, b) => (side === Side.Buy ? b[0] - a[0] : a[0] - b[0]))
        .slice(0, levelsMax);
      const actual = side === Side.Buy ? depth.bids : depth.asks;
      check(JSON.stringify(actual) === JSON.stringify(expected), () => `depth of market ${marketId} side ${side}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    }
  }
}
