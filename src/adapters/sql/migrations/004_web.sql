-- Web UI sessions (src/services/gateway/web-session.ts). The browser holds only a random
-- session token in an HttpOnly cookie; the table stores its SHA-256, so a copy of the
-- table cannot be replayed as cookies. Each session signs its trading requests with a
-- server-side API key of its own (api_keys, from 002_accounts.sql) that the browser
-- never sees and that is revoked when the session ends. Runs on PGlite and PostgreSQL.

CREATE TABLE IF NOT EXISTS web_sessions (
  token_hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users (id),
  csrf_token TEXT NOT NULL,
  api_key TEXT NOT NULL REFERENCES api_keys (key),
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  ended_at_ms BIGINT,
  CHECK (length(token_hash) = 64 AND length(csrf_token) >= 32)
);

CREATE INDEX IF NOT EXISTS web_sessions_user_id ON web_sessions (user_id);
CREATE INDEX IF NOT EXISTS web_sessions_api_key ON web_sessions (api_key);
