// The one command record every log carries into the engine. One class with every field
// set in the constructor keeps the engine's hot path monomorphic; unused fields hold 0,
// "" or null. `sequence` and `timestampMs` are stamped by the command log, never read
// from a clock inside the engine, so a replay of the log reproduces every event.

import type { AssetSpec, MarketSpec } from './market.ts';
import { CommandType, type OrderType, type Side, StpMode, type TimeInForce } from './codes.ts';

export class Command {
  /** Position in the command log (1, 2, 3, ...), set by the log on append. */
  sequence = 0;
  /** Milliseconds since the epoch, set by the log (or the gateway) when appended. */
  timestampMs = 0;
  type: CommandType;
  accountId = 0;
  marketId = 0;
  /** Target of CancelOrder / AmendOrder (0 when the command names a clientOrderId instead). */
  orderId = 0;
  side: Side | 0 = 0;
  orderType: OrderType | 0 = 0;
  timeInForce: TimeInForce | 0 = 0;
  priceTicks = 0;
  /** Order quantity in lots; for AmendOrder the new total quantity. */
  quantityLots = 0;
  /** MARKET orders by quote amount (quoteOrderQty), in quote atoms. */
  quoteAmountAtoms = 0;
  stpMode: StpMode = StpMode.AccountDefault;
  /** PlaceOrder: the new order's clientOrderId; Cancel/Amend: the target's clientOrderId. */
  clientOrderId = '';
  /** Deposit / Withdraw*: caller-supplied idempotency id. */
  transferId = '';
  /** Deposit / WithdrawRequest / AddAsset: asset code. */
  asset = '';
  amountAtoms = 0;
  /** Fees for SetFees, in basis points. */
  makerFeeBps = 0;
  takerFeeBps = 0;
  market: MarketSpec | null = null;
  assetSpec: AssetSpec | null = null;
  /** Opaque id that follows the command through logs and events (tracing only). */
  requestId = '';

  constructor(type: CommandType) {
    this.type = type;
  }
}

export interface PlaceOrderFields {
  accountId: number;
  marketId: number;
  side: Side;
  orderType: OrderType;
  timeInForce?: TimeInForce | 0;
  priceTicks?: number;
  quantityLots?: number;
  quoteAmountAtoms?: number;
  stpMode?: StpMode;
  clientOrderId?: string;
}

export function placeOrder(fields: PlaceOrderFields): Command {
  const command = new Command(CommandType.PlaceOrder);
  command.accountId = fields.accountId;
  command.marketId = fields.marketId;
  command.side = fields.side;
  command.orderType = fields.orderType;
  command.timeInForce = fields.timeInForce ?? 0;
  command.priceTicks = fields.priceTicks ?? 0;
  command.quantityLots = fields.quantityLots ?? 0;
  command.quoteAmountAtoms = fields.quoteAmountAtoms ?? 0;
  command.stpMode = fields.stpMode ?? StpMode.AccountDefault;
  command.clientOrderId = fields.clientOrderId ?? '';
  return command;
}

export function cancelOrder(accountId: number, marketId: number, orderId: number, clientOrderId = ''): Command {
  const command = new Command(CommandType.CancelOrder);
  command.accountId = accountId;
  command.marketId = marketId;
  command.orderId = orderId;
  command.clientOrderId = clientOrderId;
  return command;
}

export function cancelAllOrders(accountId: number, marketId: number): Command {
  const command = new Command(CommandType.CancelAllOrders);
  command.accountId = accountId;
  command.marketId = marketId;
  return command;
}

export function amendOrder(accountId: number, marketId: number, orderId: number, newQuantityLots: number, clientOrderId = ''): Command {
  const command = new Command(CommandType.AmendOrder);
  command.accountId = accountId;
  command.marketId = marketId;
  command.orderId = orderId;
  command.quantityLots = newQuantityLots;
  command.clientOrderId = clientOrderId;
  return command;
}

export function addAsset(code: string, scale: number): Command {
  const command = new Command(CommandType.AddAsset);
  command.asset = code;
  command.assetSpec = { code, scale };
  return command;
}

export function addMarket(spec: MarketSpec): Command {
  const command = new Command(CommandType.AddMarket);
  command.market = spec;
  return command;
}

export function marketCommand(type: typeof CommandType.HaltMarket | typeof CommandType.ResumeMarket, marketId: number): Command {
  const command = new Command(type);
  command.marketId = marketId;
  return command;
}

export function setFees(marketId: number, makerFeeBps: number, takerFeeBps: number): Command {
  const command = new Command(CommandType.SetFees);
  command.marketId = marketId;
  command.makerFeeBps = makerFeeBps;
  command.takerFeeBps = takerFeeBps;
  return command;
}

export function transfer(
  type:
    | typeof CommandType.Deposit
    | typeof CommandType.WithdrawRequest
    | typeof CommandType.WithdrawComplete
    | typeof CommandType.WithdrawCancel,
  transferId: string,
  accountId = 0,
  asset = '',
  amountAtoms = 0,
): Command {
  const command = new Command(type);
  command.transferId = transferId;
  command.accountId = accountId;
  command.asset = asset;
  command.amountAtoms = amountAtoms;
  return command;
}

export function setAccountStp(accountId: number, stpMode: StpMode): Command {
  const command = new Command(CommandType.SetAccountStp);
  command.accountId = accountId;
  command.stpMode = stpMode;
  return command;
}
