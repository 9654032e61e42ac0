"""Copy a whole store into another (any backend to any backend) and prove the copy.

Every tenant's memories are written with their vectors and history exactly as they are
(ids and timestamps kept), API keys too; then both sides are read back and compared
by per-tenant counts and a sha256 over each memory's canonical JSON, vector bytes and
history. The destination must hold no memories yet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from memlm.stores.base import Store

BATCH = 500  # memories per destination transaction


@dataclass
class TenantCheck:
    """One tenant's numbers on both sides."""

    tenant: str
    memories: int  # memories in the source
    history: int  # history entries in the source
    source_sha256: str  # checksum of the source's memories, vectors and history
    target_sha256: str  # the same, read back from the destination
    target_memories: int  # memories read back from the destination

    @property
    def ok(self) -> bool:
        return self.source_sha256 == self.target_sha256 and self.memories == self.target_memories


@dataclass
class TransferReport:
    tenants: list[TenantCheck] = field(default_factory=list)
    api_keys: int = 0  # API keys copied

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tenants)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "api_keys": self.api_keys,
                "memories": sum(t.memories for t in self.tenants),
                "tenants": [{**t.__dict__, "ok": t.ok} for t in self.tenants]}


def tenants(store: Store) -> list[str]:
    return [t for (t,) in store.sql("SELECT DISTINCT tenant FROM memories ORDER BY tenant")]


def checksum(store: Store, tenant: str) -> tuple[str, int, int]:
    """(sha256, memories, history entries) over the tenant's memories in insertion order."""
    digest, n, h = hashlib.sha256(), 0, 0
    for record, vector, history in store.iter_all(tenant):
        digest.update(json.dumps(record.to_dict(), sort_keys=True, ensure_ascii=False).encode())
        digest.update(np.asarray(vector, dtype="<f4").tobytes())
        for entry in history:
            digest.update(json.dumps(entry.to_dict(), sort_keys=True, ensure_ascii=False).encode())
        n, h = n + 1, h + len(history)
    return digest.hexdigest(), n, h


def copy_store(source: Store, target: Store, progress: Callable[[str, int], None] | None = None) -> TransferReport:
    """Copy everything from source into the (empty) target, then verify; see the module doc."""
    info = source.encoder_info()
    if info is None:
        raise ValueError("the source store is empty (it has never recorded an encoder)")
    source.check_encoder(*info)
    target.check_encoder(*info)  # ValueError if the target was built with another encoder
    if target.sql("SELECT count(*) FROM memories")[0][0]:
        raise ValueError("the destination already holds memories; migrate into an empty store")
    report = TransferReport()
    with _bulk(target):
        for tenant in tenants(source):
            _copy_tenant(source, target, tenant, progress)
    report.api_keys = _copy_keys(source, target)
    for tenant in tenants(source):
        src_sum, n, h = checksum(source, tenant)
        dst_sum, m, _ = checksum(target, tenant)
        report.tenants.append(TenantCheck(tenant, n, h, src_sum, dst_sum, m))
    return report


def _bulk(target: Store):
    """The target's bulk-load mode if it has one (PostgreSQL builds its HNSW index once, at the end)."""
    bulk = getattr(target, "bulk_load", None)
    return bulk() if bulk is not None else contextlib.nullcontext()


def _copy_tenant(source: Store, target: Store, tenant: str, progress: Callable[[str, int], None] | None) -> None:
    rows = source.iter_all(tenant)
    done = 0
    while True:
        batch = [row for _, row in zip(range(BATCH), rows)]
        if not batch:
            return
        with target.transaction():
            for record, vector, history in batch:
                target.restore(record, vector, history)
        done += len(batch)
        if progress:
            progress(tenant, done)


def _copy_keys(source: Store, target: Store) -> int:
    cols = "tenant, key_id, key_hash, prefix, name, created_at, revoked_at"
    keys = source.sql(f"SELECT {cols} FROM api_keys ORDER BY created_at, key_id")
    with target.transaction():
        for row in keys:
            target.sql(f"INSERT INTO api_keys ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    return len(keys)
