-- The ledger projection: markets, assets, orders, trades, balances and their journal,
-- transfers, and how far each projection has read the event log. Written by the ledger
-- writer only (src/services/ledger); every row derives from engine events, so the whole
-- schema can be rebuilt by replaying the log. Amounts are BIGINT atoms/ticks/lots; times
-- are BIGINT milliseconds since the epoch (the engine's command timestamps).

CREATE TABLE assets (
  asset_id INTEGER PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,
  scale SMALLINT NOT NULL CHECK (scale BETWEEN 0 AND 18),
  created_at_ms BIGINT NOT NULL
);

CREATE TABLE markets (
  market_id INTEGER PRIMARY KEY,
  symbol TEXT NOT NULL UNIQUE,
  base_asset_id INTEGER NOT NULL REFERENCES assets (asset_id),
  quote_asset_id INTEGER NOT NULL REFERENCES assets (asset_id),
  -- 1 trading, 2 halted (MarketStatus in src/domain/codes.ts).
  status SMALLINT NOT NULL,
  lot_atoms BIGINT NOT NULL,
  quote_atoms_per_tick_lot BIGINT NOT NULL,
  maker_fee_bps INTEGER NOT NULL,
  taker_fee_bps INTEGER NOT NULL,
  -- The MarketSpec JSON exactly as the engine emitted it.
  spec TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);

CREATE TABLE orders (
  order_id BIGINT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  market_id INTEGER NOT NULL,
  client_order_id TEXT NOT NULL,
  -- Side, OrderType, TimeInForce, StpMode codes of src/domain/codes.ts.
  side SMALLINT NOT NULL,
  order_type SMALLINT NOT NULL,
  time_in_force SMALLINT NOT NULL,
  price_ticks BIGINT NOT NULL,
  -- Binance origQty (after amendments: the amended total).
  quantity_lots BIGINT NOT NULL,
  quote_amount_atoms BIGINT NOT NULL,
  -- Binance executedQty and cummulativeQuoteQty.
  filled_lots BIGINT NOT NULL DEFAULT 0,
  filled_quote_atoms BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (status IN ('NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED')),
  stp_mode SMALLINT NOT NULL,
  -- CancelReason or ExpireReason of the event that closed the order, when it was not filled.
  end_reason SMALLINT,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  event_sequence BIGINT NOT NULL,
  CHECK (filled_lots >= 0 AND filled_quote_atoms >= 0)
);
CREATE INDEX orders_by_account_market ON orders (account_id, market_id, order_id);
CREATE INDEX orders_by_account_time ON orders (account_id, market_id, created_at_ms);
CREATE INDEX orders_by_client_order_id ON orders (account_id, market_id, client_order_id);

CREATE TABLE trades (
  trade_id BIGINT PRIMARY KEY,
  market_id INTEGER NOT NULL,
  price_ticks BIGINT NOT NULL,
  quantity_lots BIGINT NOT NULL,
  quote_atoms BIGINT NOT NULL,
  maker_order_id BIGINT NOT NULL,
  taker_order_id BIGINT NOT NULL,
  maker_account_id BIGINT NOT NULL,
  taker_account_id BIGINT NOT NULL,
  taker_side SMALLINT NOT NULL,
  maker_fee_atoms BIGINT NOT NULL,
  taker_fee_atoms BIGINT NOT NULL,
  time_ms BIGINT NOT NULL,
  event_sequence BIGINT NOT NULL UNIQUE
);
CREATE INDEX trades_by_market ON trades (market_id, trade_id);
CREATE INDEX trades_by_market_time ON trades (market_id, time_ms);
CREATE INDEX trades_by_maker ON trades (maker_account_id, market_id, trade_id);
CREATE INDEX trades_by_taker ON trades (taker_account_id, market_id, trade_id);

CREATE TABLE balances (
  account_id BIGINT NOT NULL,
  asset_id INTEGER NOT NULL,
  available_atoms BIGINT NOT NULL,
  held_atoms BIGINT NOT NULL,
  event_sequence BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, asset_id),
  CHECK (available_atoms >= 0 AND held_atoms >= 0)
);

-- The journal: one row per BalanceChanged event, with the new values and the change.
CREATE TABLE balance_changes (
  event_sequence BIGINT PRIMARY KEY,
  command_sequence BIGINT NOT NULL,
  account_id BIGINT NOT NULL,
  asset_id INTEGER NOT NULL,
  available_atoms BIGINT NOT NULL,
  held_atoms BIGINT NOT NULL,
  available_delta_atoms BIGINT NOT NULL,
  held_delta_atoms BIGINT NOT NULL,
  time_ms BIGINT NOT NULL,
  CHECK (available_atoms >= 0 AND held_atoms >= 0)
);
CREATE INDEX balance_changes_by_account ON balance_changes (account_id, asset_id, event_sequence);

-- Deposits and withdrawals, by their caller-supplied idempotency id.
CREATE TABLE transfers (
  transfer_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL')),
  account_id BIGINT NOT NULL,
  asset_id INTEGER NOT NULL,
  amount_atoms BIGINT NOT NULL CHECK (amount_atoms > 0),
  status TEXT NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'CANCELED')),
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  event_sequence BIGINT NOT NULL
);
CREATE INDEX transfers_by_account ON transfers (account_id, created_at_ms);
CREATE INDEX transfers_by_asset_status ON transfers (asset_id, kind, status);

-- How far each projection has applied the event log (its idempotency key).
CREATE TABLE projection_state (
  consumer TEXT PRIMARY KEY,
  last_event_sequence BIGINT NOT NULL,
  last_command_sequence BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
