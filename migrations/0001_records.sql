-- Recording (docs/contract.md §17): one row per routed request, and which message blobs a session has stored.
-- Bodies live in R2 (records-store.ts names the objects); a row is written last, so a record that can be read
-- has every object it points to.
CREATE TABLE IF NOT EXISTS records (
  id TEXT PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  trace_id TEXT,
  key_id TEXT,
  session TEXT,
  protocol TEXT NOT NULL,
  route TEXT NOT NULL,
  requested_model TEXT,
  mode TEXT,
  selected_model TEXT,
  status INTEGER NOT NULL,
  stream_end TEXT,
  ttfb_ms INTEGER,
  duration_ms INTEGER NOT NULL,
  prompt_tokens INTEGER,
  completion_tokens INTEGER,
  usage_estimated INTEGER,
  cost_usd REAL,
  error_code TEXT,
  level TEXT NOT NULL,
  bodies TEXT NOT NULL,
  body_key TEXT,
  redactions TEXT,
  attempts TEXT NOT NULL,
  -- The R2 prefix of the record's objects: k/{key}/s/{session} or k/{key}/r/{id}.
  scope TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_time ON records (time_ms, id);
CREATE INDEX IF NOT EXISTS records_key ON records (key_id, time_ms);
CREATE INDEX IF NOT EXISTS records_session ON records (session, time_ms);
CREATE INDEX IF NOT EXISTS records_model ON records (selected_model, time_ms);
CREATE INDEX IF NOT EXISTS records_scope ON records (scope);

CREATE TABLE IF NOT EXISTS session_blobs (
  scope TEXT NOT NULL,
  hash TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  PRIMARY KEY (scope, hash)
);
