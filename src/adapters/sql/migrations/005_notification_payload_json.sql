-- Notification payloads as `json` rather than `jsonb`. The notifier writes every order
-- update and fill of every user here, and the payload is only ever read back whole (inbox
-- and webhook bodies), never queried by key, so the cost of building the binary form on
-- each insert buys nothing. `json` keeps the text as written (validated), so the keys come
-- back in the order of the user data stream message. Runs on PGlite and PostgreSQL.

ALTER TABLE notifications ALTER COLUMN payload TYPE json USING payload::json;
