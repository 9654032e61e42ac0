-- memlm PostgreSQL schema, version 3: how often and when each memory was recalled into a context
-- (the forget gate's strength, write/forget.py). No text: a memory's id, its count, its last time.
CREATE TABLE IF NOT EXISTS recalls (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    last_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, id)
);
