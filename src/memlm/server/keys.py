"""API keys: random secrets shown once, stored as sha256 hashes, each mapped to a tenant.

A key looks like ``mlm_<43 url-safe characters>`` (256 random bits). The table
``api_keys`` (migrations sqlite_0002 / postgres_0001) lives in the memory store itself, so `memlm keys`
and `memlm serve` share it; revoking a key takes effect on the server's next request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from memlm.stores.base import Store

KEY_PREFIX = "mlm_"  # every key starts with this, so leaked keys are easy to scan for
SHOWN_CHARS = 12  # characters of a key kept in clear (prefix column) to recognise it in lists
TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")
_COLUMNS = "key_id, tenant, prefix, name, created_at, revoked_at"


@dataclass
class ApiKey:
    """One API key as stored: never the secret, only who it belongs to and its state."""

    key_id: str  # public id, used to revoke it ("key_" + 12 hex)
    tenant: str  # the tenant every request with this key is scoped to
    prefix: str  # the key's first characters ("mlm_AbCdEfGh"), to recognise it
    name: str | None  # free label given at creation
    created_at: str  # ISO 8601, UTC
    revoked_at: str | None = None  # ISO 8601 when revoked; a revoked key authenticates nothing

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "active": self.active}


def hash_key(key: str) -> str:
    """The stored form of a key: hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def check_tenant(tenant: Any) -> str:
    if not isinstance(tenant, str) or not TENANT_RE.match(tenant):
        raise ValueError(
            f"tenant must be 1-128 characters of letters, digits and _.:@- (starting with a letter or digit), "
            f"got {tenant!r}"
        )
    return tenant


class KeyStore:
    """Create, list, revoke and check API keys in a memory file."""

    def __init__(self, store: Store) -> None:
        self.store = store  # the memory store (SQLite or PostgreSQL; needs .sql()); opening it runs the migrations

    def create(self, tenant: str, name: str | None = None) -> tuple[ApiKey, str]:
        """A new key for the tenant: (its record, the key itself, which is never stored)."""
        check_tenant(tenant)
        if name is not None and (not isinstance(name, str) or len(name) > 200):
            raise ValueError("a key's name must be a string of at most 200 characters")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey("key_" + secrets.token_hex(6), tenant, key[:SHOWN_CHARS], name, _now())
        with self.store.transaction():
            self.store.sql(
                f"INSERT INTO api_keys ({_COLUMNS}, key_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.key_id, record.tenant, record.prefix, record.name, record.created_at, None, hash_key(key)),
            )
        return record, key

    def list(self, tenant: str | None = None, *, include_revoked: bool = True) -> list[ApiKey]:
        """Keys, oldest first; one tenant's when given."""
        clauses, params = [], []
        if tenant is not None:
            clauses.append("tenant = ?")
            params.append(tenant)
        if not include_revoked:
            clauses.append("revoked_at IS NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.store.sql(f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created_at, key_id", params)
        return [ApiKey(*row) for row in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by id (KeyError if there is none); revoking twice keeps the first time."""
        with self.store.transaction():
            self.store.sql(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (_now(), key_id)
            )
            rows = self.store.sql(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,))
        if not rows:
            raise KeyError(f"no API key {key_id!r}")
        return ApiKey(*rows[0])

    def authenticate(self, key: str) -> ApiKey | None:
        """The active key record for a presented key, or None."""
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        rows = self.store.sql(
            f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (hash_key(key),)
        )
        return ApiKey(*rows[0]) if rows else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
