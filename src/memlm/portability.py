"""Export and import as JSONL: a header line, then one line per memory with its vector
(base64 float32, when the encoder matches) and its history. Import then export gives
the same file back.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from memlm.encoders.base import Encoder
from memlm.stores.base import Store
from memlm.text import memory_text
from memlm.types import HistoryEntry, MemoryRecord, Scope
from memlm.validate import check_id
from memlm.write.inputs import check_kind, check_metadata, check_text, parse_time

FORMAT = "memlm-export"
VERSION = 1


@dataclass
class ImportCounts:
    """What an import did."""

    imported: int  # memories written
    skipped: int  # memories already here with the same content (an import is idempotent)

    def to_dict(self) -> dict[str, int]:
        return {"imported": self.imported, "skipped": self.skipped}


def export_jsonl(
    store: Store, enc: Encoder, tenant: str, path: Path, *, user_id: str | None = None, agent_id: str | None = None
) -> int:
    """Write every memory of the tenant (only `user_id`'s / `agent_id`'s when given) to
    path (atomically); returns the count."""
    header: dict[str, Any] = {"format": FORMAT, "version": VERSION, "encoder": enc.name, "dim": enc.dim}
    header.update({k: v for k, v in (("user_id", user_id), ("agent_id", agent_id)) if v is not None})
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(header) + "\n")
        for record, vector, history in store.iter_all(tenant):
            if (user_id is not None and record.user_id != user_id) or (
                agent_id is not None and record.agent_id != agent_id
            ):
                continue
            row = record.to_dict()
            del row["tenant"]
            row["vector"] = base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode()
            row["history"] = [h.to_dict() for h in history]
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return n


def import_jsonl(store: Store, enc: Encoder, tenant: str, path: Path) -> ImportCounts:
    """Load an export into this tenant; vectors are re-computed if the encoder differs.
    Memories already here with the same content are skipped (importing a file twice, or into
    the database it came from, changes nothing); one here under the same id with other content
    is an error, and then nothing is imported."""
    try:
        with open(path, encoding="utf-8") as f:
            header = _header(f.readline(), path)
            same_encoder = header.get("encoder") == enc.name and header.get("dim") == enc.dim
            rows = [_parse(line, path, i + 2) for i, line in enumerate(f) if line.strip()]
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a memlm export (not UTF-8 text)") from None
    records = [_record(row, tenant) for row in rows]
    existing = store.fetch(tenant, [r.id for r in records])
    changed = [r.id for r in records if r.id in existing and _content(existing[r.id]) != _content(r)]
    if changed:
        raise ValueError(
            f"{len(changed)} memories of {path} exist here with other content (first: {changed[0]}); "
            f"nothing imported: delete them first, or import into another database or tenant"
        )
    keep = [i for i, r in enumerate(records) if r.id not in existing]
    rows, records = [rows[i] for i in keep], [records[i] for i in keep]
    if same_encoder:
        vectors = [np.frombuffer(base64.b64decode(row["vector"]), dtype=np.float32) for row in rows]
    else:
        vectors = list(enc.encode([memory_text(r.text, r.role, r.metadata) for r in records]))
    with store.transaction():
        for record, vector, row in zip(records, vectors, rows):
            history = [
                HistoryEntry(record.id, h["event"], h.get("old_text"), h.get("new_text"),
                             _history_time(h["at"], record.id))
                for h in row.get("history", [])
            ]
            store.restore(record, vector, history)
    return ImportCounts(len(records), len(existing))


def _history_time(value: Any, memory_id: str) -> datetime:
    """A history entry's time: required (the stores keep it NOT NULL)."""
    at = parse_time(value)
    if at is None:
        raise ValueError(f"a history entry of memory {memory_id} has no time (at)")
    return at


def _content(record: MemoryRecord) -> dict[str, Any]:
    """What makes two copies of a memory the same one (everything its export line holds but vectors)."""
    return json.loads(json.dumps(record.to_dict(), sort_keys=True, default=str))


def _header(line: str, path: Path) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path} is not a memlm export (no header line)")
    if header.get("version") != VERSION:
        raise ValueError(f"{path} is export version {header.get('version')}; this memlm reads version {VERSION}")
    return header


def _parse(line: str, path: Path, lineno: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
    if not isinstance(row, dict) or not isinstance(row.get("id"), str):
        raise ValueError(f"{path}:{lineno}: a memory line needs an id")
    return row


def _record(row: dict[str, Any], tenant: str) -> MemoryRecord:
    Scope(row.get("user_id"), row.get("agent_id"), row.get("session_id")).validate(require_owner=False)
    if row.get("role") is not None:
        check_id(row["role"], "role")
    return MemoryRecord(
        id=row["id"],
        kind=check_kind(row.get("kind")),
        text=check_text(row.get("text"), max_chars=10**7),
        user_id=row.get("user_id"),
        agent_id=row.get("agent_id"),
        session_id=row.get("session_id"),
        role=row.get("role"),
        created_at=parse_time(row.get("created_at")),
        updated_at=parse_time(row.get("updated_at")),
        occurred_at=parse_time(row.get("occurred_at")),
        metadata=check_metadata(row.get("metadata")),
        source_ids=list(row.get("source_ids") or []),
        tenant=tenant,
        valid_to=parse_time(row.get("valid_to")),
        superseded_by=row.get("superseded_by"),
    )
