-- memlm SQLite schema, version 2: API keys for `memlm serve`.
-- A key is shown once when created; only the sha256 of the whole key is stored. Each key
-- maps to one tenant; every request made with it is scoped to that tenant.
CREATE TABLE api_keys (
    tenant      TEXT NOT NULL,
    key_id      TEXT NOT NULL UNIQUE,
    key_hash    TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    name        TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    PRIMARY KEY (tenant, key_id)
);
-- Authentication looks a key up by its hash (the UNIQUE constraint above indexes it);
-- listing a tenant's keys uses the primary key, tenant first.
