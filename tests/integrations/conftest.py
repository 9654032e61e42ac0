"""Backends for the integration tests: a local Memory, a Client and an AsyncClient on a real server."""

from __future__ import annotations

import pytest

from memlm import Client, Memory


@pytest.fixture(params=["memory", "client"])
def backend(request, tmp_path):
    """A blocking backend: Memory on a temp file, or Client on the real server."""
    if request.param == "memory":
        memory = Memory(tmp_path / "local.db", encoder="hashing")
        yield memory
        memory.close()
    else:
        base, key = request.getfixturevalue("served")
        with Client(base, api_key=key) as client:
            yield client
