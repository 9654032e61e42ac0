-- memlm SQLite schema, version 1.
-- One row per memory; its embedding lives in the same row, so a memory can never exist
-- without its vector. The FTS5 table shares the memory's rowid (rid).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE memories (
    rid         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    tenant      TEXT NOT NULL,
    user_id     TEXT,
    agent_id    TEXT,
    session_id  TEXT,
    kind        TEXT NOT NULL CHECK (kind IN ('episode', 'fact', 'summary')),
    role        TEXT,
    text        TEXT NOT NULL,
    norm_hash   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    occurred_at TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}',
    source_ids  TEXT NOT NULL DEFAULT '[]',
    vector      BLOB NOT NULL
);
CREATE INDEX memories_user ON memories (tenant, user_id, rid);
CREATE INDEX memories_agent ON memories (tenant, agent_id, rid);
CREATE INDEX memories_session ON memories (tenant, session_id, rid);
CREATE INDEX memories_hash ON memories (tenant, norm_hash);

-- scope: hashed owner tokens, so a MATCH never reaches another owner's rows.
CREATE VIRTUAL TABLE memories_fts USING fts5 (
    scope, body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TABLE history (
    hid       INTEGER PRIMARY KEY,
    tenant    TEXT NOT NULL,
    memory_id TEXT NOT NULL,
    user_id   TEXT,
    agent_id  TEXT,
    event     TEXT NOT NULL,
    old_text  TEXT,
    new_text  TEXT,
    at        TEXT NOT NULL
);
CREATE INDEX history_memory ON history (tenant, memory_id, hid);
CREATE INDEX history_user ON history (tenant, user_id);
