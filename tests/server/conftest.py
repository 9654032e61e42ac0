"""Server fixtures: an app on a temp file with the hashing encoder, and keys for two tenants."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from memlm.server.app import create_app
from memlm.server.settings import ServerSettings


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
