"""Server fixtures: an app on a temp file with the hashing encoder, and keys for two tenants;
`serve_process`, a real `memlm serve` on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from memlm.bench.server import wait_ready
from memlm.server.app import create_app
from memlm.server.keys import KeyStore
from memlm.server.settings import ServerSettings
from memlm.stores.sqlite import SQLiteStore


@dataclass
class Api:
    """A TestClient plus one key per tenant; `as_(tenant)` gives that tenant's headers."""

    client: TestClient
    keys: dict[str, str]

    def headers(self, tenant: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[tenant]}"}

    def call(self, tenant: str, method: str, url: str, **kwargs):
        kwargs.setdefault("headers", self.headers(tenant))
        return self.client.request(method, url, **kwargs)


def make_settings(tmp_path, **overrides) -> ServerSettings:
    return ServerSettings(db=tmp_path / "server.db", encoder="hashing", **overrides)


def make_api(settings: ServerSettings, tenants=("acme", "globex")):
    app = create_app(settings)
    keys = {t: app.state.memlm.keys.create(t)[1] for t in tenants}
    return app, keys


@pytest.fixture
def api(tmp_path):
    app, keys = make_api(make_settings(tmp_path, rate_limit_per_minute=0))
    with TestClient(app) as client:
        yield Api(client, keys)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memlm() -> list[str]:
    exe = Path(sys.executable).with_name("memlm")
    return [str(exe)] if exe.exists() else [shutil.which("memlm") or "memlm"]


@contextmanager
def serve_process(tmp_path, *args: str, ready_s: float = 30.0) -> Iterator[tuple[str, str]]:
    """`memlm serve ARGS` on a fresh file with one key for tenant acme: yields (base URL, key)."""
    db = tmp_path / "served.db"
    store = SQLiteStore(db)
    _, key = KeyStore(store).create("acme")
    store.close()
    port = _free_port()
    env = {**os.environ, "MEMLM_DB": str(db), "MEMLM_ENCODER": "hashing", "MEMLM_PORT": str(port)}
    # the log goes to a file: a pipe nobody reads fills up and stalls the server
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen([*_memlm(), "serve", "--host", "127.0.0.1", "--log-level", "warning", *args], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, timeout=ready_s)
        yield base, key
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
