"""/docs and /redoc need no network: every script and stylesheet they load is served by the app."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(api, page):
    r = api.client.get(page)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", r.text) + re.findall(r"""url: *['"]([^'"]+)['"]""", r.text)
    assert urls, r.text
    assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls  # no CDN
    for url in urls:
        asset = api.client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    if page == "/docs":
        js = api.client.get("/docs-assets/swagger-ui-bundle.js").text
        assert "isOAS31" in js  # Swagger UI 5: it renders the app's OpenAPI 3.1 schema
        assert api.client.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_docs_pages_are_not_in_the_schema(api):
    assert not [p for p in api.client.get("/openapi.json").json()["paths"] if "docs" in p or "redoc" in p]
