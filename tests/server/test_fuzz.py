"""Schemathesis fuzzes every operation from the OpenAPI schema: no 5xx, responses match the schema.

The schema is loaded eagerly (schemathesis' lazy `from_fixture` does not work with this
pytest); building the app opens nothing, the fixture creates the file, key and data.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection
from tests.llm.doubles import ScriptedLLM

from memlm.server.app import create_app

from .conftest import make_settings

TMP = Path(tempfile.mkdtemp(prefix="memlm-fuzz-"))
APP = create_app(make_settings(TMP, rate_limit_per_minute=0, warm_up=False))
# Every check runs, with two adjustments: an over-long text may be refused as 413 (the body
# limit comes first), and positive_data_acceptance is off because a schema-valid request may
# still be refused with 400 by the engine (whitespace-only text, an unreadable free-form date,
# delete_all without a scope).
CONFIG = schemathesis.Config.from_dict({"checks": {
    "negative_data_rejection": {"expected-statuses": ["400", "401", "404", "405", "413", "422", "429"]},
    "positive_data_acceptance": {"enabled": False},
}})
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


@pytest.fixture(scope="module")
def auth_headers():
    """A test-only key, and a few memories so that some generated scopes find something."""
    state = APP.state.memlm
    # the proxy's and extraction's input handling, not a model, is fuzzed: every task gets a valid answer
    state.pool._llm = ScriptedLLM(answer=lambda prompt: "Noted.", facts=lambda prompt: "[]",
                                  decide=lambda prompt: '{"event": "ADD"}', summary=lambda prompt: "A summary.")
    _, key = state.keys.create("fuzz")
    memory = state.pool.memory("fuzz")
    memory.add([{"role": "user", "content": "I adopted a beagle"}, {"role": "assistant", "content": "Lovely!"}],
               user_id="0", session_id="0", occurred_at="2024-01-01")
    memory.add("I live in Lisbon", user_id="0")
    yield {"Authorization": f"Bearer {key}"}
    state.pool.close()
    shutil.rmtree(TMP, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_makes_a_server_error(case, auth_headers):
    excluded = [] if _negative_on_the_wire(case) else [negative_data_rejection]
    response = case.call_and_validate(headers=auth_headers, excluded_checks=excluded)
    assert response.status_code < 500, response.text


def _negative_on_the_wire(case) -> bool:
    """Whether the request really is invalid as sent: the test replaces the headers (a removed
    Authorization comes back), and a one-item array in a query parameter is the same text on
    the wire as a plain string (`?user_id=false`), which schemathesis still counts as negative."""
    meta = case.meta
    if meta is None:
        return True
    for location, info in meta.components.items():
        if not info.mode.is_negative or location == ParameterLocation.HEADER:
            continue
        if location == ParameterLocation.QUERY:
            raw = meta.raw_containers.get(location) or {}
            if any(isinstance(v, list) and len(v) == 1 for v in raw.values()):
                continue  # (another value may be invalid too: other examples cover that)
        return True
    return False
