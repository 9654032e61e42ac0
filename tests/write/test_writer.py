"""The Writer: the whole write path over a store and an encoder, without a Memory handle."""

from __future__ import annotations

import ast
from pathlib import Path

from memlm.config import MemoryConfig
from memlm.stores import open_store
from memlm.stores.base import Filters
from memlm.types import Scope
from memlm.write.inputs import Draft
from memlm.write.writer import Writer


def test_the_writer_writes_without_a_memory_handle(tmp_path, hashing):
    store = open_store(tmp_path / "w.db")
    try:
        store.check_encoder(hashing.name, hashing.dim)
        writer = Writer(store, hashing, MemoryConfig())
        scope = Scope("ana")
        events = writer.write([Draft("I am allergic to peanuts", "fact", scope),
                               Draft("I am allergic to peanuts", "fact", scope)])
        assert [e.event for e in events] == ["ADD", "NOOP"] and events[1].id == events[0].id
        assert writer.revise(events[0].id, "I am allergic to peanuts and shellfish").event == "UPDATE"
        turns = writer.write([Draft("hello", "episode", Scope("ana", session_id="s"), "user")])
        summary = writer.summary(Scope("ana", session_id="s"), None)
        assert (summary.event, summary.kind) == ("ADD", "summary")
        assert store.get("default", summary.id).source_ids == [turns[0].id]
        assert {r.text for r in store.list(Filters("default", "ana"), limit=10)} == {
            "I am allergic to peanuts and shellfish", "hello", summary.text}
    finally:
        store.close()


def test_the_write_path_does_not_import_the_engine():
    """extract, consolidate, working memory and portability take their parts, not a Memory:
    none of them imports memlm.engine, not even for type checking (no import circle)."""
    import memlm

    root = Path(memlm.__file__).parent
    for rel in ("write/writer.py", "write/extract.py", "write/consolidate.py", "write/gate.py", "working.py",
                "portability.py"):
        tree = ast.parse((root / rel).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert "memlm.engine" not in imported, rel
