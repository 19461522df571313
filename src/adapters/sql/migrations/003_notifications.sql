-- Notifications: the per-user inbox the notifier fills from engine events, each user's
-- optional webhook, and the outbox through which notifications reach that webhook with
-- retries. A notification is keyed by (account, event sequence, part), so replaying
-- events never creates a second row or a second delivery. Runs on PGlite and PostgreSQL.

CREATE TABLE IF NOT EXISTS notifications (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id BIGINT NOT NULL,
  -- order | fill | deposit | withdrawal
  kind TEXT NOT NULL,
  payload JSONB NOT NULL,
  -- The engine event that caused it; `part` tells the maker's notification (0) from the
  -- taker's (1) when one trade notifies both sides of the same account.
  event_sequence BIGINT NOT NULL,
  part SMALLINT NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL,
  read_at TIMESTAMPTZ,
  UNIQUE (account_id, event_sequence, part)
);

CREATE INDEX IF NOT EXISTS notifications_inbox ON notifications (account_id, id DESC);
CREATE INDEX IF NOT EXISTS notifications_unread ON notifications (account_id, id DESC) WHERE read_at IS NULL;

CREATE TABLE IF NOT EXISTS webhooks (
  account_id BIGINT PRIMARY KEY,
  url TEXT NOT NULL,
  -- The key of the HMAC-SHA256 signature in X-Bourse-Signature.
  secret TEXT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (url ~ '^https?://' AND length(url) <= 2048),
  CHECK (length(secret) BETWEEN 16 AND 128)
);

CREATE TABLE IF NOT EXISTS webhook_outbox (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notification_id BIGINT NOT NULL UNIQUE REFERENCES notifications (id),
  attempts INTEGER NOT NULL DEFAULT 0,
  -- When the next attempt is due (also the lease end while one is in flight).
  next_attempt_at TIMESTAMPTZ NOT NULL,
  delivered_at TIMESTAMPTZ,
  -- Set when the attempts are exhausted; the row then stays for inspection.
  failed_at TIMESTAMPTZ,
  last_error TEXT
);

CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (next_attempt_at)
  WHERE delivered_at IS NULL AND failed_at IS NULL;
