-- memlm PostgreSQL schema, version 4: a memory's expiry in its own indexed column.
-- expires_at mirrors metadata->>'expires_at' (write/forget.py) so the store's SQL leaves expired
-- memories out of search, list and browse and purge finds them by the index. The Python step
-- backfills it from the metadata.
ALTER TABLE memories ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS memories_expires ON memories (tenant, expires_at) WHERE expires_at IS NOT NULL;
