"""Durability and faults on both backends: a SIGKILLed `memlm serve`, PostgreSQL restarted
under the server, a full disk / read-only database, and writers racing from threads and processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import httpx
import pytest
from tests.server.test_serve_process import _free_port, _memlm

from memlm import Memory
from memlm.bench.server import wait_ready
from memlm.server.keys import KeyStore
from memlm.stores import StoreWriteError, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def target(request, tmp_path):
    """Where the store lives: a SQLite file or a fresh PostgreSQL database."""
    return str(tmp_path / "served.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")


def serve(target: str, **env: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "MEMLM_DB": target, "MEMLM_ENCODER": "hashing", "MEMLM_PORT": str(port),
           "MEMLM_RATE_LIMIT": "0", **env}
    proc = subprocess.Popen([*_memlm(), "serve", "--host", "127.0.0.1", "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base, proc, timeout=60.0)
    return proc, base


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def new_key(target: str) -> str:
    store = open_store(target)
    try:
        return KeyStore(store).create("acme")[1]
    finally:
        store.close()


def check_store(target: str) -> None:
    """Integrity: every memory has its ADD history and its lexical row; no text is stored twice."""
    store = open_store(target)
    try:
        if not target.startswith("postgresql"):
            from tests.test_reliability import check_file

            check_file(target).close()
        orphans = store.sql("SELECT count(*) FROM memories m WHERE NOT EXISTS (SELECT 1 FROM history h "
                            "WHERE h.tenant = m.tenant AND h.memory_id = m.id AND h.event = 'ADD')")
        assert orphans[0][0] == 0
        assert store.sql("SELECT text FROM memories GROUP BY tenant, text HAVING count(*) > 1") == []
    finally:
        store.close()


def add_until_killed(base: str, key: str, proc: subprocess.Popen, clients: int = 4, at_least: int = 40) -> dict:
    """`clients` threads add distinct turns; SIGKILL the server once `at_least` are acknowledged."""
    acked: dict[str, str] = {}  # text -> id, for every 2xx
    done = threading.Event()

    def client(c: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as h:
            for i in range(100_000):
                text = f"client {c} turn {i} marker c{c}t{i}"
                body = {"messages": [{"role": "user", "content": text}], "user_id": f"c{c}", "session_id": "s"}
                try:
                    r = h.post("/v1/memories", json=body)
                except httpx.TransportError:
                    return
                if r.is_success:
                    acked[text] = r.json()["events"][0]["id"]
                if done.is_set():
                    return

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    deadline = time.time() + 120
    while len(acked) < at_least and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done.set()
    for t in threads:
        t.join(timeout=60)
    assert len(acked) >= at_least
    return dict(acked)


def test_sigkill_serve_while_four_clients_add(target):
    key = new_key(target)
    proc, base = serve(target)
    acked = add_until_killed(base, key, proc)
    check_store(target)
    proc, base = serve(target)  # the store opens again and serves
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as h:
            for text, mid in acked.items():
                got = h.get(f"/v1/memories/{mid}")
                assert got.status_code == 200 and got.json()["text"] == text
            assert h.post("/v1/memories", json={"text": "after the crash", "user_id": "c0"}).status_code == 200
    finally:
        stop(proc)
    check_store(target)


def test_postgres_restart_under_the_server(pg_instance, pg_url):
    _, server = pg_instance
    if server is None:
        pytest.skip("MEMLM_PG_URL names an external server, which this test cannot restart")
    import pgserver

    key = new_key(pg_url)
    proc, base = serve(pg_url, MEMLM_PG_TIMEOUT="2")
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as h:
            acked = [h.post("/v1/memories", json={"text": f"fact number {i} is kept", "user_id": "u"}).json()
                     ["events"][0]["id"] for i in range(5)]
            pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
            try:
                down = h.post("/v1/memories", json={"text": "written during the outage", "user_id": "u"})
                assert down.status_code == 503 and down.json()["error"]["type"] == "unavailable"
                assert h.post("/v1/memories/search", json={"query": "fact", "user_id": "u"}).status_code == 503
            finally:
                server.ensure_postgres_running()
            deadline, status = time.time() + 60, None
            while time.time() < deadline and status != 200:  # the pool reconnects by itself
                status = h.post("/v1/memories", json={"text": "written after the restart", "user_id": "u"}).status_code
                time.sleep(0.5)
            assert status == 200
            for mid in acked:
                assert h.get(f"/v1/memories/{mid}").status_code == 200
            texts = [m["text"] for m in h.get("/v1/memories", params={"user_id": "u"}).json()["memories"]]
            assert "written during the outage" not in texts and "written after the restart" in texts
    finally:
        stop(proc)
    check_store(pg_url)


DISK_FULL = textwrap.dedent("""
    import os, resource, signal, sys
    from memlm import Memory
    from memlm.encoders import HashingEncoder
    from memlm.stores import StoreWriteError
    path = sys.argv[1]
    m = Memory(path, encoder=HashingEncoder(256))
    m.add("written before the disk filled up", user_id="u")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the limit, write() fails with EFBIG instead
    limit = max(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)) + 256 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    stored = 1
    try:
        for i in range(10_000):
            events = m.add_many([{"role": "user", "content": f"turn {i}-{j} " + "words " * 100} for j in range(20)],
                                user_id="u", session_id="s")
            stored += len(events)
    except StoreWriteError as exc:
        print("FULL", stored, exc)
""")


def test_disk_full_is_a_clear_error_and_the_file_survives(tmp_path, hashing):
    path = tmp_path / "full.db"
    out = subprocess.run([sys.executable, "-c", DISK_FULL, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    word, stored, *message = out.stdout.split()
    assert word == "FULL" and "full" in " ".join(message)
    check_store(str(path))
    with Memory(path, encoder=hashing) as m:  # opens, holds every committed batch, takes writes again
        assert len(m.list(user_id="u", limit=100_000)) == int(stored)
        m.add("after the disk was freed", user_id="u")
        assert m.search("disk freed", user_id="u", k=1)[0].memory.text == "after the disk was freed"


def test_read_only_postgres_is_a_clear_error_and_reads_still_work(pg_url, pg_server, hashing):
    import psycopg

    name = pg_url.split("?")[0].rsplit("/", 1)[1]
    with Memory(pg_url, encoder=hashing) as m:
        m.add("written while writable", user_id="u")
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    with Memory(pg_url, encoder=hashing) as m:
        with pytest.raises(StoreWriteError, match="read-only"):
            m.add("refused", user_id="u")
        assert [r.text for r in m.list(user_id="u")] == ["written while writable"]
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = off")
    with Memory(pg_url, encoder=hashing) as m:
        m.add("written again", user_id="u")
        assert len(m.list(user_id="u")) == 2
    check_store(pg_url)


def test_read_only_sqlite_file_is_a_clear_error(tmp_path, hashing):
    path = tmp_path / "ro.db"
    with Memory(path, encoder=hashing) as m:
        m.add("written while writable", user_id="u")
    with Memory(path, encoder=hashing) as m:
        m.store.conn.execute("PRAGMA query_only = ON")  # the file refuses writes, as a read-only mount does
        with pytest.raises(StoreWriteError, match="cannot write"):
            m.add("refused", user_id="u")
        assert [r.text for r in m.list(user_id="u")] == ["written while writable"]
    check_store(str(path))


CONCURRENT = textwrap.dedent("""
    import sys, threading
    from memlm import Memory
    from memlm.config import MemoryConfig
    from memlm.encoders import HashingEncoder
    target, proc, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    m = Memory(target, encoder=HashingEncoder(256), config=MemoryConfig(batch_size=5))
    ids, lock = [], threading.Lock()
    def work(t):
        items = [{"role": "user", "content": f"p{proc} thread {t} turn {i} mark{proc}x{t}x{i}"} for i in range(n)]
        for start in range(0, n, 5):
            events = m.add_many(items[start:start + 5], user_id=f"p{proc}t{t}", session_id="s")
            with lock:
                ids.extend(e.id for e in events)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print(" ".join(ids))
""")


def test_eight_threads_in_two_processes_lose_and_duplicate_nothing(target, hashing):
    with Memory(target, encoder=hashing) as m:
        m.add("created first", user_id="setup")
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, target, str(p), "15"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for p in (1, 2)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        ids.extend(out.split())
    assert len(ids) == 2 * 8 * 15 and len(set(ids)) == len(ids)
    store = open_store(target)
    try:
        stored = {i for (i,) in store.sql("SELECT id FROM memories WHERE user_id <> 'setup'")}
    finally:
        store.close()
    assert stored == set(ids)
    check_store(target)
