"""Crash safety, concurrent writers and complete erasure, on real SQLite files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from memlm import Memory

WRITER = textwrap.dedent("""
    import sys
    from memlm import Memory
    from memlm.config import MemoryConfig
    from memlm.encoders import HashingEncoder
    path, tag, n, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    m = Memory(path, encoder=HashingEncoder(256), config=MemoryConfig(batch_size=batch))
    for start in range(0, n, batch):
        items = [{"role": "user", "content": f"{tag} item {i} " + "filler words " * (i % 7)}
                 for i in range(start, min(n, start + batch))]
        events = m.add_many(items, user_id=tag, session_id="s")
        print(" ".join(e.id for e in events), flush=True)
""")


def writer(path: Path, tag: str, n: int, batch: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(n), str(batch)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_file(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    mem_rids = {r for (r,) in conn.execute("SELECT rid FROM memories")}
    fts_rids = {r for (r,) in conn.execute("SELECT rowid FROM memories_fts")}
    assert mem_rids == fts_rids  # no memory without its index row, and no orphan index rows
    assert conn.execute("SELECT count(*) FROM memories WHERE length(vector) = 0").fetchone()[0] == 0
    return conn


def test_sigkill_mid_ingest_loses_no_acknowledged_write(tmp_path, hashing):
    path = tmp_path / "crash.db"
    proc = writer(path, "k", 100_000, 20)
    acked: list[str] = []
    deadline = time.time() + 120
    while len(acked) < 200 and time.time() < deadline:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        acked.extend(line.split())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = check_file(path)
    stored = {r for (r,) in conn.execute("SELECT id FROM memories")}
    assert set(acked) <= stored and len(acked) >= 200
    conn.close()
    with Memory(path, encoder=hashing) as m:  # the store opens and keeps working
        m.add("after the crash", user_id="k")
        assert m.search("after the crash", user_id="k", k=1)[0].memory.text == "after the crash"


def test_two_processes_writing_one_file_lose_nothing(tmp_path, hashing):
    path = tmp_path / "shared.db"
    with Memory(path, encoder=hashing) as m:
        m.add("created first", user_id="setup")
    procs = [writer(path, tag, 150, 10) for tag in ("p1", "p2")]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        ids.extend(out.split())
    conn = check_file(path)
    assert conn.execute("SELECT count(*) FROM memories WHERE user_id IN ('p1', 'p2')").fetchone()[0] == 300
    assert {r for (r,) in conn.execute("SELECT id FROM memories")} >= set(ids)
    assert len(set(ids)) == 300


def test_delete_all_leaves_nothing_of_that_user_in_the_file(tmp_path, hashing):
    path = tmp_path / "privacy.db"
    with Memory(path, encoder=hashing) as m:
        for i in range(50):
            m.add({"role": "user", "content": f"zqxsecretmarker number {i} belongs to xavier"}, user_id="xavier",
                  session_id="s")
            m.add({"role": "user", "content": f"yvonnekeepsthis note {i}"}, user_id="yvonne", session_id="s")
        [e] = m.add("zqxsecretmarker fact to edit", user_id="xavier")
        m.update(e.id, "zqxsecretmarker fact edited")
        assert m.delete_all(user_id="xavier") == 51
        assert m.list(user_id="xavier") == [] and m.search("zqxsecretmarker", user_id="xavier") == []
        assert len(m.list(user_id="yvonne", limit=100)) == 50
        assert m.search("yvonnekeepsthis", user_id="yvonne", k=1)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("privacy.db"))
    assert b"zqxsecret" not in raw and b"xavier" not in raw
    assert b"yvonnekeepsthis" in raw
    conn = check_file(path)
    assert conn.execute("SELECT count(*) FROM history WHERE user_id='xavier'").fetchone()[0] == 0


def test_threads_search_while_another_writes(mem):
    import threading

    mem.add({"role": "user", "content": "seed turn about gardens"}, user_id="u", session_id="s0")
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                for h in mem.search("garden turn", user_id="u", k=5):
                    assert h.memory.user_id == "u"
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(150):
        mem.add({"role": "user", "content": f"garden turn number {i}"}, user_id="u", session_id=f"s{i % 4}")
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert len(mem.list(user_id="u", limit=500)) == 151
