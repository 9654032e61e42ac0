-- memlm PostgreSQL schema, version 1: equivalent to the SQLite schema at version 3.
-- Every table is keyed tenant first (primary keys and indexes lead with it), so the tables
-- can be distributed by tenant on Citus without change. The vector column gets its
-- dimension and its HNSW index when the store first learns its encoder (check_encoder).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE memories (
    tenant        TEXT NOT NULL,
    id            TEXT NOT NULL,
    rid           BIGINT GENERATED ALWAYS AS IDENTITY,
    user_id       TEXT,
    agent_id      TEXT,
    session_id    TEXT,
    kind          TEXT NOT NULL CHECK (kind IN ('episode', 'fact', 'summary')),
    role          TEXT,
    text          TEXT NOT NULL,
    norm_hash     TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    occurred_at   TIMESTAMPTZ,
    metadata      JSONB NOT NULL DEFAULT '{}',
    source_ids    JSONB NOT NULL DEFAULT '[]',
    valid_to      TIMESTAMPTZ,
    superseded_by TEXT,
    tsv           TSVECTOR NOT NULL,
    vector        VECTOR NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX memories_user ON memories (tenant, user_id, rid);
CREATE INDEX memories_agent ON memories (tenant, agent_id, rid);
CREATE INDEX memories_session ON memories (tenant, session_id, rid);
CREATE INDEX memories_hash ON memories (tenant, norm_hash);
CREATE INDEX memories_tsv ON memories USING gin (tsv);

CREATE TABLE history (
    tenant    TEXT NOT NULL,
    hid       BIGINT GENERATED ALWAYS AS IDENTITY,
    memory_id TEXT NOT NULL,
    user_id   TEXT,
    agent_id  TEXT,
    event     TEXT NOT NULL,
    old_text  TEXT,
    new_text  TEXT,
    at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, hid)
);
CREATE INDEX history_memory ON history (tenant, memory_id, hid);
CREATE INDEX history_user ON history (tenant, user_id);

-- API keys for `memlm serve` (as sqlite_0002): only the sha256 of a key is stored.
CREATE TABLE api_keys (
    tenant      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    key_hash    TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    name        TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    PRIMARY KEY (tenant, key_id)
);
CREATE UNIQUE INDEX api_keys_id ON api_keys (key_id);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);
