// Every enumeration the engine and its consumers share, as small integers so the hot
// path compares numbers. Names follow Binance where Binance has one. The rejection
// reasons are listed once here, grouped by the pipeline stage that raises them, each
// with the Binance API error it maps to at the gateway.

export const Side = { Buy: 1, Sell: 2 } as const;
export type Side = (typeof Side)[keyof typeof Side];

export const OrderType = { Limit: 1, Market: 2, LimitMaker: 3 } as const;
export type OrderType = (typeof OrderType)[keyof typeof OrderType];

export const TimeInForce = { GTC: 1, IOC: 2, FOK: 3 } as const;
export type TimeInForce = (typeof TimeInForce)[keyof typeof TimeInForce];

/** Self-trade prevention, as Binance defines it. `AccountDefault` only appears in commands. */
export const StpMode = { AccountDefault: 0, None: 1, ExpireTaker: 2, ExpireMaker: 3, ExpireBoth: 4 } as const;
export type StpMode = (typeof StpMode)[keyof typeof StpMode];

export const MarketStatus = { Trading: 1, Halted: 2 } as const;
export type MarketStatus = (typeof MarketStatus)[keyof typeof MarketStatus];

export const CommandType = {
  AddAsset: 1,
  AddMarket: 2,
  HaltMarket: 3,
  ResumeMarket: 4,
  SetFees: 5,
  Deposit: 6,
  WithdrawRequest: 7,
  WithdrawComplete: 8,
  WithdrawCancel: 9,
  PlaceOrder: 10,
  CancelOrder: 11,
  CancelAllOrders: 12,
  AmendOrder: 13,
  SetAccountStp: 14,
} as const;
export type CommandType = (typeof CommandType)[keyof typeof CommandType];

export const EventType = {
  OrderAccepted: 1,
  OrderRejected: 2,
  OrderDuplicate: 3,
  TradeExecuted: 4,
  OrderFilled: 5,
  OrderCanceled: 6,
  OrderExpired: 7,
  OrderAmended: 8,
  OrdersCanceledAll: 9,
  BalanceChanged: 10,
  BookLevelChanged: 11,
  AssetAdded: 12,
  MarketAdded: 13,
  MarketHalted: 14,
  MarketResumed: 15,
  FeesSet: 16,
  Deposited: 17,
  WithdrawRequested: 18,
  WithdrawCompleted: 19,
  WithdrawCanceled: 20,
  CommandDuplicate: 21,
  CommandRejected: 22,
  AccountStpSet: 23,
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export const eventTypeNames: Record<number, string> = Object.fromEntries(
  Object.entries(EventType).map(([name, value]) => [value, name]),
);
export const commandTypeNames: Record<number, string> = Object.fromEntries(
  Object.entries(CommandType).map(([name, value]) => [value, name]),
);

/** Why an order left the book without being filled or canceled by its owner. */
export const ExpireReason = {
  /** IOC or MARKET remainder after matching. */
  ImmediateRemainder: 1,
  /** FOK could not be filled in full; nothing traded. */
  FillOrKillUnfillable: 2,
  /** Self-trade prevention expired this order (taker or maker side). */
  SelfTradePrevention: 3,
  /** A market order found no (more) liquidity. */
  NoLiquidity: 4,
} as const;
export type ExpireReason = (typeof ExpireReason)[keyof typeof ExpireReason];

export const CancelReason = { User: 1, CancelAll: 2 } as const;
export type CancelReason = (typeof CancelReason)[keyof typeof CancelReason];

/**
 * Business rejections. Value = numeric reason carried in events. `binance` is the API
 * error code (and HTTP status) the gateway answers with.
 */
export const Reason = {
  // Stage VALIDATE: the command's own fields.
  VALIDATE_ACCOUNT_INVALID: 101,
  VALIDATE_PRICE_NOT_POSITIVE: 102,
  VALIDATE_PRICE_OFF_TICK: 103,
  VALIDATE_PRICE_UNSAFE: 104,
  VALIDATE_QUANTITY_NOT_POSITIVE: 105,
  VALIDATE_QUANTITY_OFF_LOT: 106,
  VALIDATE_QUANTITY_UNSAFE: 107,
  VALIDATE_AMOUNT_INVALID: 108,
  VALIDATE_ENUM_INVALID: 109,
  VALIDATE_PARAMETERS_CONFLICT: 110,
  VALIDATE_ID_INVALID: 111,
  // Stage MARKET: the market's existence, state and filters.
  MARKET_UNKNOWN: 201,
  MARKET_HALTED: 202,
  MARKET_EXISTS: 203,
  MARKET_SPEC_INVALID: 204,
  MARKET_PRICE_ABOVE_MAX: 205,
  MARKET_QUANTITY_BELOW_MIN: 206,
  MARKET_QUANTITY_ABOVE_MAX: 207,
  MARKET_NOTIONAL_BELOW_MIN: 208,
  MARKET_ASSET_UNKNOWN: 209,
  MARKET_ASSET_EXISTS: 210,
  MARKET_LIMIT_REACHED: 211,
  // Stage RISK: funds and account limits.
  RISK_INSUFFICIENT_FUNDS: 301,
  RISK_TOO_MANY_OPEN_ORDERS: 302,
  RISK_BALANCE_OVERFLOW: 303,
  RISK_DUPLICATE_CLIENT_ORDER_ID: 304,
  // Stage MATCH: the book.
  MATCH_UNKNOWN_ORDER: 401,
  MATCH_WOULD_CROSS: 402,
  MATCH_AMEND_QUANTITY_INVALID: 403,
  MATCH_NO_OPEN_ORDERS: 404,
  // Stage TRANSFER: deposits and withdrawals.
  TRANSFER_ID_CONFLICT: 501,
  TRANSFER_UNKNOWN: 502,
  TRANSFER_NOT_PENDING: 503,
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export const reasonNames: Record<number, string> = Object.fromEntries(
  Object.entries(Reason).map(([name, value]) => [value, name]),
);

/** Binance-style API error for each reason: HTTP status, code and message. */
export const reasonApiErrors: Record<Reason, { status: number; code: number; msg: string }> = {
  [Reason.VALIDATE_ACCOUNT_INVALID]: { status: 400, code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' },
  [Reason.VALIDATE_PRICE_NOT_POSITIVE]: { status: 400, code: -1013, msg: 'Filter failure: PRICE_FILTER' },
  [Reason.VALIDATE_PRICE_OFF_TICK]: { status: 400, code: -1013, msg: 'Filter failure: PRICE_FILTER' },
  [Reason.VALIDATE_PRICE_UNSAFE]: { status: 400, code: -1013, msg: 'Filter failure: PRICE_FILTER' },
  [Reason.VALIDATE_QUANTITY_NOT_POSITIVE]: { status: 400, code: -1013, msg: 'Filter failure: LOT_SIZE' },
  [Reason.VALIDATE_QUANTITY_OFF_LOT]: { status: 400, code: -1013, msg: 'Filter failure: LOT_SIZE' },
  [Reason.VALIDATE_QUANTITY_UNSAFE]: { status: 400, code: -1013, msg: 'Filter failure: LOT_SIZE' },
  [Reason.VALIDATE_AMOUNT_INVALID]: { status: 400, code: -1100, msg: 'Illegal characters found in a parameter.' },
  [Reason.VALIDATE_ENUM_INVALID]: { status: 400, code: -1116, msg: 'Invalid orderType.' },
  [Reason.VALIDATE_PARAMETERS_CONFLICT]: { status: 400, code: -1106, msg: 'Parameter sent when not required.' },
  [Reason.VALIDATE_ID_INVALID]: { status: 400, code: -1100, msg: 'Illegal characters found in a parameter.' },
  [Reason.MARKET_UNKNOWN]: { status: 400, code: -1121, msg: 'Invalid symbol.' },
  [Reason.MARKET_HALTED]: { status: 400, code: -1013, msg: 'Market is closed.' },
  [Reason.MARKET_EXISTS]: { status: 400, code: -1130, msg: 'Market already exists.' },
  [Reason.MARKET_SPEC_INVALID]: { status: 400, code: -1130, msg: 'Invalid market specification.' },
  [Reason.MARKET_PRICE_ABOVE_MAX]: { status: 400, code: -1013, msg: 'Filter failure: PRICE_FILTER' },
  [Reason.MARKET_QUANTITY_BELOW_MIN]: { status: 400, code: -1013, msg: 'Filter failure: LOT_SIZE' },
  [Reason.MARKET_QUANTITY_ABOVE_MAX]: { status: 400, code: -1013, msg: 'Filter failure: LOT_SIZE' },
  [Reason.MARKET_NOTIONAL_BELOW_MIN]: { status: 400, code: -1013, msg: 'Filter failure: NOTIONAL' },
  [Reason.MARKET_ASSET_UNKNOWN]: { status: 400, code: -1130, msg: 'Unknown asset.' },
  [Reason.MARKET_ASSET_EXISTS]: { status: 400, code: -1130, msg: 'Asset already exists.' },
  [Reason.MARKET_LIMIT_REACHED]: { status: 400, code: -1130, msg: 'Too many markets or assets.' },
  [Reason.RISK_INSUFFICIENT_FUNDS]: { status: 400, code: -2010, msg: 'Account has insufficient balance for requested action.' },
  [Reason.RISK_TOO_MANY_OPEN_ORDERS]: { status: 400, code: -2010, msg: 'Filter failure: MAX_NUM_ORDERS' },
  [Reason.RISK_BALANCE_OVERFLOW]: { status: 400, code: -1130, msg: 'Amount would overflow the balance.' },
  [Reason.RISK_DUPLICATE_CLIENT_ORDER_ID]: { status: 400, code: -2010, msg: 'Duplicate order sent.' },
  [Reason.MATCH_UNKNOWN_ORDER]: { status: 400, code: -2011, msg: 'Unknown order sent.' },
  [Reason.MATCH_WOULD_CROSS]: { status: 400, code: -2010, msg: 'Order would immediately match and take.' },
  [Reason.MATCH_AMEND_QUANTITY_INVALID]: { status: 400, code: -2038, msg: 'The requested quantity must be less than the original quantity and more than the executed quantity.' },
  [Reason.MATCH_NO_OPEN_ORDERS]: { status: 400, code: -2011, msg: 'Unknown order sent.' },
  [Reason.TRANSFER_ID_CONFLICT]: { status: 409, code: -1130, msg: 'Transfer id already used with different parameters.' },
  [Reason.TRANSFER_UNKNOWN]: { status: 404, code: -1130, msg: 'Unknown transfer.' },
  [Reason.TRANSFER_NOT_PENDING]: { status: 409, code: -1130, msg: 'Transfer is not pending.' },
};
