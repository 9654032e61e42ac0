"""`memlm keys create/list/revoke` and `memlm serve` through click's CLI runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from memlm.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMLM_DB", str(tmp_path / "keys.db"))
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def _authenticate(db, key):
    from memlm.server.keys import KeyStore
    from memlm.stores.sqlite import SQLiteStore

    store = SQLiteStore(db)
    try:
        return KeyStore(store).authenticate(key)
    finally:
        store.close()


def test_create_prints_the_key_once_and_it_works(run, tmp_path):
    out = json.loads(run("keys", "create", "acme", "--name", "ci").output)
    assert out["key"].startswith("mlm_") and out["tenant"] == "acme" and out["name"] == "ci" and out["active"]
    assert _authenticate(tmp_path / "keys.db", out["key"]).key_id == out["key_id"]
    listed = run("keys", "list").output
    assert out["key_id"] in listed and out["key"] not in listed and out["key"][12:] not in listed
    plain = run("keys", "create", "globex", "--plain").output
    assert plain.splitlines()[0].startswith("mlm_") and "not shown again" in plain


def test_list_filters_and_plain(run):
    a = json.loads(run("keys", "create", "acme").output)
    b = json.loads(run("keys", "create", "globex").output)
    rows = json.loads(run("keys", "list").output)
    assert [r["key_id"] for r in rows] == [a["key_id"], b["key_id"]] and all("key" not in r for r in rows)
    assert [r["tenant"] for r in json.loads(run("keys", "list", "--tenant", "globex").output)] == ["globex"]
    plain = run("keys", "list", "--plain").output
    assert a["prefix"] in plain and "active" in plain and a["key"] not in plain


def test_revoke(run, tmp_path):
    a = json.loads(run("keys", "create", "acme").output)
    out = json.loads(run("keys", "revoke", a["key_id"]).output)
    assert out["key_id"] == a["key_id"] and not out["active"] and out["revoked_at"]
    assert _authenticate(tmp_path / "keys.db", a["key"]) is None
    assert json.loads(run("keys", "list", "--active").output) == []
    assert "revoked" in run("keys", "list", "--plain").output
    missing = run("keys", "revoke", "key_nope", ok=False)
    assert missing.exit_code == 1 and "no API key" in missing.output


def test_bad_tenant_is_one_line_error(run):
    result = run("keys", "create", "bad tenant!", ok=False)
    assert result.exit_code == 1 and result.output.startswith("Error: tenant must be")


def test_serve_builds_the_app_from_options_and_env(run, tmp_path, monkeypatch):
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.setenv("MEMLM_PORT", "9123")
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    result = run("serve", "--host", "127.0.0.2", "--rate-limit", "5", "--threads", "2")
    assert "no API keys" in result.output  # a hint, on stderr
    assert (seen["host"], seen["port"]) == ("127.0.0.2", 9123)
    settings = seen["app"].state.memlm.settings
    assert settings.db == tmp_path / "keys.db" and settings.encoder == "hashing"
    assert (settings.rate_limit_per_minute, settings.worker_threads) == (5, 2)
    bad = run("serve", "--port", "99999", ok=False)
    assert bad.exit_code == 2


def test_serve_takes_the_purge_interval_from_the_option_or_env(run, monkeypatch):
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    run("serve")
    assert seen["app"].state.memlm.settings.purge_every == 3600  # the default: hourly
    monkeypatch.setenv("MEMLM_PURGE_EVERY", "0")
    run("serve")
    assert seen["app"].state.memlm.settings.purge_every == 0  # off
    run("serve", "--purge-every", "90")
    assert seen["app"].state.memlm.settings.purge_every == 90  # the option wins
    assert run("serve", "--purge-every", "-1", ok=False).exit_code == 2
    monkeypatch.setenv("MEMLM_PURGE_EVERY", "soon")
    bad = run("serve", ok=False)
    assert bad.exit_code == 1 and "MEMLM_PURGE_EVERY" in bad.output and "Traceback" not in bad.output
