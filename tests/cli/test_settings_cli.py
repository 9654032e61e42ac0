"""Settings from one place: Settings.from_env, --tenant / MEMLM_TENANT on the CLI and MCP, read-only
folders, and reads that never create a database."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from memlm import Memory
from memlm.cli import main
from memlm.settings import ENDPOINT, ENV, Settings

SRC = Path(__file__).resolve().parents[2] / "src" / "memlm"


@pytest.fixture
def env(tmp_path, monkeypatch):
    for var in ENV.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MEMLM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_settings_from_env_then_overrides(env, monkeypatch):
    monkeypatch.setenv("MEMLM_DB", "sqlite:///abs/m.db")
    monkeypatch.setenv("MEMLM_TENANT", "acme")
    monkeypatch.setenv("MEMLM_LLM", "")  # empty counts as unset
    s = Settings.from_env()
    assert (s.db, s.encoder, s.tenant, s.llm) == (Path("/abs/m.db"), "hashing", "acme", None)
    s = Settings.from_env(db="rel.db", tenant=None, encoder="hashing:64")
    assert (s.db, s.encoder, s.tenant) == (Path("rel.db"), "hashing:64", "acme")
    assert Settings.from_env(env={}).db_path == env / "home" / "memory.db"
    assert Settings.from_env(env={}).tenant == "default"
    assert Settings.from_env(db="postgresql://u:p@h/db").db == "postgresql://u:p@h/db"
    with pytest.raises(ValueError, match="tenant must be"):
        Settings.from_env(tenant="no spaces")
    with pytest.raises(TypeError, match="unknown setting"):
        Settings.from_env(dbb="x")


def test_the_shared_variables_are_read_only_in_memlm_settings():
    """MEMLM_DB / _ENCODER / _TENANT / _LLM: no other module reads them (os.environ or click's envvar)."""
    pattern = re.compile(r"""(environ(\.get)?\(|environ\[|envvar=)\s*"""
                         r"""["'](MEMLM_DB|MEMLM_ENCODER|MEMLM_TENANT|MEMLM_LLM)["']""")
    readers = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert readers == []


def test_no_module_but_settings_reads_a_memlm_variable_from_the_environment():
    """Every MEMLM_* (and OPENAI_*) variable is named in memlm.settings (ENV, PATHS or ENDPOINT) and read
    through it. Outside it such a name may appear as a string only as a CLI option's `envvar=`; the one
    exception is the settings `memlm serve` hands its worker processes. Any other literal (an
    `env = os.environ; env.get("MEMLM_X")`, a getenv, a dict lookup) is a second place settings are read."""
    literal = re.compile(r"""(envvar=\s*)?["']((?:MEMLM|OPENAI)_[A-Z0-9_]+)["']""")
    found = {(str(p.relative_to(SRC)), m.group(2)) for p in SRC.rglob("*.py") if p != SRC / "settings.py"
             for m in literal.finditer(p.read_text(encoding="utf-8")) if not m.group(1)}
    assert found == {("server/app.py", "MEMLM_SERVER_SETTINGS"),
                     ("cli/serve.py", "MEMLM_SERVER_SETTINGS")}


def test_the_llm_endpoint_is_read_through_settings_ours_before_openais(monkeypatch):
    from memlm.llm.openai import OpenAIConfig

    for names in ENDPOINT.values():
        for var in names:
            monkeypatch.delenv(var, raising=False)
    assert OpenAIConfig.from_env() == OpenAIConfig()
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai.example/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    got = OpenAIConfig.from_env()
    assert (got.base_url, got.api_key, got.model) == ("http://openai.example/v1", "sk-openai", OpenAIConfig.model)
    monkeypatch.setenv("MEMLM_LLM_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("MEMLM_LLM_API_KEY", "")  # empty counts as unset: OpenAI's key still applies
    monkeypatch.setenv("MEMLM_LLM_MODEL", "qwen")
    got = OpenAIConfig.from_env()
    assert (got.base_url, got.api_key, got.model) == ("http://127.0.0.1:8080/v1", "sk-openai", "qwen")
    assert OpenAIConfig.from_env(model="gemma").model == "gemma"


def test_timeouts_server_and_key_come_from_settings(env, monkeypatch):
    from memlm.settings import DEFAULT_BUSY_TIMEOUT_S, from_env
    from memlm.stores.postgres import PoolConfig
    from memlm.stores.sqlite import SQLiteStore

    s = Settings.from_env(env={})
    assert (s.busy_timeout, s.server_url, s.api_key) == (DEFAULT_BUSY_TIMEOUT_S, None, None)
    monkeypatch.setenv("MEMLM_BUSY_TIMEOUT", "2.5")
    monkeypatch.setenv("MEMLM_PG_TIMEOUT", "3")
    monkeypatch.setenv("MEMLM_SERVER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MEMLM_API_KEY", "mk_x")
    s = Settings.from_env()
    assert (s.busy_timeout, s.pg_timeout, s.server_url, s.api_key) == (2.5, 3.0, "http://127.0.0.1:9", "mk_x")
    store = SQLiteStore(env / "t.db")
    try:
        assert store.busy_timeout_s == 2.5
    finally:
        store.close()
    assert PoolConfig().timeout_s == 3.0
    from memlm.client import Client

    with Client("http://127.0.0.1:9") as c:
        assert c.api_key == "mk_x"
    assert from_env("home") == str(env / "home")
    for var, bad in (("MEMLM_BUSY_TIMEOUT", "soon"), ("MEMLM_PG_TIMEOUT", "-1"), ("MEMLM_SERVER_URL", "ftp://x")):
        monkeypatch.setenv(var, bad)
        with pytest.raises(ValueError, match=var):
            Settings.from_env()
        monkeypatch.delenv(var)
    monkeypatch.setenv("MEMLM_BUSY_TIMEOUT", "nan")
    with pytest.raises(ValueError, match="MEMLM_BUSY_TIMEOUT must be a number of seconds"):
        SQLiteStore(env / "u.db")


def test_what_the_server_wrote_for_a_tenant_lists_from_the_cli(env, monkeypatch):
    from memlm.server.app import create_app
    from memlm.server.settings import ServerSettings

    db = env / "shared.db"
    app = create_app(ServerSettings(db=db, encoder="hashing", rate_limit_per_minute=0))
    with TestClient(app) as client:
        key = app.state.memlm.keys.create("acme")[1]
        r = client.post("/v1/memories", headers={"Authorization": f"Bearer {key}"},
                        json={"text": "Ana's flight is on Friday", "user_id": "ana"})
        assert r.status_code == 200, r.text
    run = CliRunner().invoke
    assert json.loads(run(main, ["memory", "list", "--db", str(db)]).output) == []  # the default tenant
    listed = json.loads(run(main, ["memory", "list", "--db", str(db), "--tenant", "acme"]).output)
    assert [m["text"] for m in listed] == ["Ana's flight is on Friday"] and listed[0]["tenant"] == "acme"
    monkeypatch.setenv("MEMLM_TENANT", "acme")
    hits = json.loads(run(main, ["memory", "search", "flight", "--user", "ana", "--db", str(db)]).output)
    assert hits[0]["memory"]["text"] == "Ana's flight is on Friday"
    # and the other way: what the CLI writes for the tenant, the server's key for it sees
    assert run(main, ["memory", "add", "Ana prefers aisle seats", "--user", "ana", "--db", str(db)]).exit_code == 0
    app = create_app(ServerSettings(db=db, encoder="hashing", rate_limit_per_minute=0))
    with TestClient(app) as client:
        r = client.get("/v1/memories", params={"user_id": "ana"}, headers={"Authorization": f"Bearer {key}"})
        assert sorted(m["text"] for m in r.json()["memories"]) == ["Ana prefers aisle seats",
                                                                    "Ana's flight is on Friday"]


def test_mcp_takes_the_tenant(env, monkeypatch):
    import memlm.mcp_tools

    seen = {}

    class Server:
        def run(self, transport):
            seen["transport"] = transport

    def build_server(memory):
        seen["tenant"], seen["path"] = memory.tenant, memory.path
        return Server()

    monkeypatch.setattr(memlm.mcp_tools, "build_server", build_server)
    result = CliRunner().invoke(main, ["mcp", "--db", "m.db", "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    assert seen == {"tenant": "acme", "path": Path("m.db"), "transport": "stdio"}
    monkeypatch.setenv("MEMLM_TENANT", "globex")
    assert CliRunner().invoke(main, ["mcp", "--db", "m.db"]).exit_code == 0 and seen["tenant"] == "globex"


def test_reads_never_create_a_database_and_writes_do(env):
    run = CliRunner().invoke
    for args in (["memory", "list"], ["memory", "search", "x", "--user", "u"], ["memory", "get", "x"],
                 ["memory", "history", "x"], ["memory", "export", "out.jsonl"],
                 ["memory", "context", "x", "--user", "u"], ["keys", "list"]):
        result = run(main, [*args, "--db", "typo.db"])
        assert result.exit_code == 1 and "no memory database at typo.db" in result.stderr, args
    assert not (env / "typo.db").exists() and not (env / "out.jsonl").exists()
    result = run(main, ["memory", "list", "--db", "sqlite:///memlm-not-here/memory.db"])
    assert "names the absolute path" in result.stderr and not Path("/memlm-not-here").exists()
    assert run(main, ["memory", "list"]).exit_code == 1  # the default $MEMLM_HOME/memory.db is not made either
    assert not (env / "home" / "memory.db").exists()
    assert run(main, ["memory", "add", "x", "--user", "u", "--db", "sqlite://made.db"]).exit_code == 0
    assert (env / "made.db").is_file()
    assert json.loads(run(main, ["memory", "list", "--db", "made.db"]).output)[0]["text"] == "x"


@contextlib.contextmanager
def _read_only(folder: Path):
    """Make the folder unwritable, for root too (chattr +i) or by permissions."""
    if os.geteuid() == 0:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)], check=False,
                                                        capture_output=True).returncode:
            pytest.skip("cannot make a folder read-only for root here (no chattr)")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_a_database_in_a_read_only_folder_can_be_read(env, hashing):
    folder = env / "ro"
    with Memory(folder / "m.db", encoder=hashing) as m:
        m.add("the read-only folder keeps this", user_id="u")
    assert not (folder / "m.db-wal").exists()  # closed cleanly: nothing but the file
    run = CliRunner().invoke
    with _read_only(folder):
        with Memory(folder / "m.db", encoder=hashing) as m:
            assert m.search("read-only folder", user_id="u")[0].memory.text == "the read-only folder keeps this"
        hits = run(main, ["memory", "search", "read-only folder", "--user", "u", "--db", str(folder / "m.db")])
        assert hits.exit_code == 0, hits.output
        assert json.loads(hits.output)[0]["memory"]["text"] == "the read-only folder keeps this"
        assert run(main, ["memory", "list", "--db", str(folder / "m.db")]).exit_code == 0
        write = run(main, ["memory", "add", "more", "--user", "u", "--db", str(folder / "m.db")])
        assert write.exit_code == 1 and len(write.stderr.splitlines()) == 1 and "readonly" in write.stderr
        new = run(main, ["memory", "add", "more", "--user", "u", "--db", str(folder / "new.db")])
        assert new.exit_code == 1 and "its folder is not writable" in new.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["m.db"]


def test_another_applications_database_is_refused_untouched(env, hashing):
    import sqlite3

    path = env / "app.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE memories (id INTEGER PRIMARY KEY, note TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(ValueError, match="not a memlm database"):
        Memory(path, encoder=hashing).add("x", user_id="u")
    assert path.read_bytes() == before and not Path(f"{path}-wal").exists()
    empty = env / "empty.sqlite"
    sqlite3.connect(empty).close()  # an empty file (no tables) becomes a memlm database
    with Memory(empty, encoder=hashing) as m:
        m.add("x", user_id="u")
        assert len(m.list(user_id="u")) == 1


def test_capacity_and_purge_interval_come_from_the_environment(env, monkeypatch):
    s = Settings.from_env(env={"MEMLM_CAPACITY_MEMORIES": "3", "MEMLM_PURGE_EVERY": "0.5"})
    assert (s.capacity().max_memories, s.capacity().max_tokens, s.purge_every) == (3, 0, 0.5)
    assert not Settings.from_env(env={}).capacity().limited and Settings.from_env(env={}).purge_every == 3600
    for bad in ("-1", "many", "1.5"):
        with pytest.raises(ValueError, match="MEMLM_CAPACITY_MEMORIES"):
            Settings.from_env(env={"MEMLM_CAPACITY_MEMORIES": bad})
    monkeypatch.setenv("MEMLM_CAPACITY_MEMORIES", "3")  # the CLI's handle enforces it on every write
    runner = CliRunner()
    for i, text in enumerate(["we saw the zqotters", "they were asleep", "then we had tea", "now planning"]):
        session = "old" if i < 3 else "new"
        out = runner.invoke(main, ["memory", "add", text, "--role", "user", "--user", "ana", "--session", session])
        assert out.exit_code == 0, out.output
    listed = json.loads(runner.invoke(main, ["memory", "list", "--user", "ana"]).output)
    rows = listed["memories"] if isinstance(listed, dict) else listed
    assert len(rows) == 3 and any(r["kind"] == "summary" for r in rows)
