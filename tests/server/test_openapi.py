"""docs/openapi.json is the app's schema: regenerate with `python -m memlm.server.openapi > docs/openapi.json`."""

from __future__ import annotations

import json
from pathlib import Path

from memlm.server.openapi import render, schema

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_checked_in_schema_matches_the_app():
    assert CHECKED_IN.exists(), "run: python -m memlm.server.openapi > docs/openapi.json"
    current = schema()
    assert json.loads(CHECKED_IN.read_text(encoding="utf-8")) == current, (
        "docs/openapi.json is stale; run: python -m memlm.server.openapi > docs/openapi.json")
    assert CHECKED_IN.read_text(encoding="utf-8") == render()


def test_served_schema_is_the_same(api):
    served = api.client.get("/openapi.json")
    assert served.status_code == 200 and served.json() == schema()


def test_schema_documents_every_resource_and_the_key():
    doc = schema()
    assert set(doc["paths"]) == {
        "/healthz", "/v1/memories", "/v1/memories/search", "/v1/memories/{memory_id}",
        "/v1/memories/{memory_id}/history", "/v1/context", "/v1/export", "/v1/memories/consolidate",
        "/v1/chat/completions", "/v1/owners", "/v1/sessions", "/v1/timeline", "/v1/browse", "/v1/memories/purge",
        "/v1/memories/forget", "/v1/memories/{memory_id}/supersede"}
    assert doc["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http", "scheme": "bearer",
        "description": "An API key from `memlm keys create TENANT`, sent as `Authorization: Bearer KEY`."}
    for path, ops in doc["paths"].items():
        for op in ops.values():
            if path.startswith("/v1"):
                assert op["security"] == [{"ApiKey": []}]
                assert {"401", "422", "429"} <= set(op["responses"])
    for name, model in doc["components"]["schemas"].items():
        # the OpenAI-compatible request ignores fields it does not use, as OpenAI clients send many
        if model.get("type") == "object" and name not in ("HTTPValidationError", "ChatRequest", "ChatMessage",
                                                           "ContentPart"):
            assert model.get("additionalProperties") is False, name
