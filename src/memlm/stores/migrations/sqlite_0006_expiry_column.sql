-- memlm SQLite schema, version 6: a memory's expiry in its own indexed column.
-- expires_at (UTC, the same text format as the other times) mirrors metadata["expires_at"]
-- (write/forget.py) so the store's SQL leaves expired memories out of search, list and browse
-- and purge finds them by the index. The Python step backfills it from the metadata.
ALTER TABLE memories ADD COLUMN expires_at TEXT;
CREATE INDEX IF NOT EXISTS memories_expires ON memories (tenant, expires_at) WHERE expires_at IS NOT NULL;
