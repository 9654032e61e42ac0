"""The key store: secrets shown once and hashed at rest, migration 2, revocation."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from memlm.server.keys import KEY_PREFIX, KeyStore, hash_key
from memlm.stores.migrate import migrations
from memlm.stores.sqlite import SQLiteStore


@pytest.fixture
def keystore(tmp_path):
    store = SQLiteStore(tmp_path / "keys.db")
    yield KeyStore(store)
    store.close()


def test_create_authenticate_and_hash_at_rest(keystore, tmp_path):
    record, key = keystore.create("acme", "ci")
    assert key.startswith(KEY_PREFIX) and len(key) >= 40 and record.prefix == key[:12]
    assert keystore.authenticate(key).tenant == "acme"
    assert keystore.authenticate(key + "x") is None and keystore.authenticate("mlm_") is None
    keystore.store.close()
    raw = (tmp_path / "keys.db").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("keys.db-*") if p.is_file())
    assert key.encode() not in raw and key[12:].encode() not in raw
    conn = sqlite3.connect(tmp_path / "keys.db")
    (stored,) = conn.execute("SELECT key_hash FROM api_keys").fetchone()
    assert stored == hashlib.sha256(key.encode()).hexdigest() == hash_key(key)


def test_keys_are_unique_and_listed_without_secrets(keystore):
    made = [keystore.create(t) for t in ("acme", "acme", "globex")]
    assert len({k for _, k in made}) == 3 and len({r.key_id for r, _ in made}) == 3
    listed = keystore.list()
    assert [r.tenant for r in listed] == ["acme", "acme", "globex"]
    assert [r.tenant for r in keystore.list("globex")] == ["globex"]
    for row in listed:
        assert set(row.to_dict()) == {"key_id", "tenant", "prefix", "name", "created_at", "revoked_at", "active"}


def test_revoke(keystore):
    record, key = keystore.create("acme")
    revoked = keystore.revoke(record.key_id)
    assert not revoked.active and revoked.revoked_at
    assert keystore.authenticate(key) is None
    assert keystore.revoke(record.key_id).revoked_at == revoked.revoked_at  # idempotent
    assert keystore.list(include_revoked=False) == []
    with pytest.raises(KeyError):
        keystore.revoke("key_nope")


@pytest.mark.parametrize("tenant", ["", " acme", "a/b", "x" * 129, "-lead", "ümlaut", None])
def test_bad_tenant_names_are_refused(keystore, tenant):
    with pytest.raises(ValueError, match="tenant"):
        keystore.create(tenant)


def test_migration_2_upgrades_an_old_file_and_keeps_tenant_first(tmp_path):
    store = SQLiteStore(tmp_path / "old.db")
    store.conn.execute("DROP TABLE api_keys")  # make it look like a version-1 file
    store.conn.execute("DELETE FROM schema_migrations WHERE version = 2")
    store.close()
    again = SQLiteStore(tmp_path / "old.db")
    assert again.schema_versions() == [m.version for m in migrations("sqlite")]
    pk = [r[1] for r in sorted(again.conn.execute("PRAGMA table_info(api_keys)"), key=lambda r: r[5]) if r[5]]
    assert pk == ["tenant", "key_id"]
    KeyStore(again).create("acme")
    again.close()
