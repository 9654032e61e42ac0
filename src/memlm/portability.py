"""Export and import as JSONL: a header line, then one line per memory with its vector
(base64 float32, when the encoder matches) and its history. Import then export gives
the same file back.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from memlm.text import memory_text
from memlm.types import HistoryEntry, MemoryRecord
from memlm.write.inputs import check_kind, check_metadata, check_text, parse_time

if TYPE_CHECKING:
    from memlm.engine import Memory

FORMAT = "memlm-export"
VERSION = 1


def export_jsonl(memory: Memory, path: Path, *, user_id: str | None = None, agent_id: str | None = None) -> int:
    """Write every memory of the handle's tenant (or only of that user / agent) to path
    (atomically); returns the count."""
    enc = memory.encoder
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps({"format": FORMAT, "version": VERSION, "encoder": enc.name, "dim": enc.dim}) + "\n")
        for record, vector, history in memory.store.iter_all(memory.tenant):
            if (user_id is not None and record.user_id != user_id) or (
                    agent_id is not None and record.agent_id != agent_id):
                continue  # another owner's
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


def import_jsonl(memory: Memory, path: Path) -> int:
    """Load an export into this handle's tenant; vectors are re-computed if the encoder differs."""
    with open(path, encoding="utf-8") as f:
        header = _header(f.readline(), path)
        same_encoder = header.get("encoder") == memory.encoder.name and header.get("dim") == memory.encoder.dim
        rows = [_parse(line, path, i + 2) for i, line in enumerate(f) if line.strip()]
    records = [_record(row, memory.tenant) for row in rows]
    if same_encoder:
        vectors = [np.frombuffer(base64.b64decode(row["vector"]), dtype=np.float32) for row in rows]
    else:
        vectors = list(memory.encoder.encode([memory_text(r.text, r.role, r.metadata) for r in records]))
    with memory.store.transaction():
        for record, vector, row in zip(records, vectors, rows):
            history = [HistoryEntry(record.id, h["event"], h.get("old_text"), h.get("new_text"), parse_time(h["at"]))
                       for h in row.get("history", [])]
            memory.store.restore(record, vector, history)
    return len(records)


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
    return MemoryRecord(
        id=row["id"], kind=check_kind(row.get("kind")), text=check_text(row.get("text"), max_chars=10**7),
        user_id=row.get("user_id"), agent_id=row.get("agent_id"), session_id=row.get("session_id"),
        role=row.get("role"), created_at=parse_time(row.get("created_at")), updated_at=parse_time(row.get("updated_at")),
        occurred_at=parse_time(row.get("occurred_at")), metadata=check_metadata(row.get("metadata")),
        source_ids=list(row.get("source_ids") or []), tenant=tenant, valid_to=parse_time(row.get("valid_to")),
        superseded_by=row.get("superseded_by"),
    )
