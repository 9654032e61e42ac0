"""`memlm mcp` driven by the official SDK's client over a real stdio subprocess."""

from __future__ import annotations

import json
import os

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.server.test_serve_process import _memlm


def _data(result) -> dict:
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


async def _session(db) -> None:
    command, *args = _memlm()
    params = StdioServerParameters(command=command, args=[*args, "mcp"],
                                   env={**os.environ, "MEMLM_DB": str(db), "MEMLM_ENCODER": "hashing"})
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert tools == {"add_memory", "search_memory", "get_context", "delete_memory"}
        added = _data(await client.call_tool("add_memory", {"text": "I keep bees on my roof", "user_id": "ana"}))
        assert added["events"][0]["event"] == "ADD"
        await client.call_tool("add_memory", {"text": "Do bees sting?", "user_id": "ana", "session_id": "s1",
                                              "role": "user"})
        again = _data(await client.call_tool("add_memory", {"text": "I keep bees on my roof", "user_id": "ana"}))
        assert again["events"][0]["event"] == "NOOP"
        found = _data(await client.call_tool("search_memory", {"query": "bees roof", "user_id": "ana", "k": 2}))
        assert found["results"][0]["text"] == "I keep bees on my roof" and 0 <= found["results"][0]["score"] <= 1
        assert _data(await client.call_tool("search_memory", {"query": "bees", "user_id": "bob"}))["results"] == []
        ctx = _data(await client.call_tool("get_context", {"query": "bees", "user_id": "ana", "session_id": "s1"}))
        assert "I keep bees on my roof" in ctx["context"] and ctx["tokens"] > 0
        mid = added["events"][0]["id"]
        assert _data(await client.call_tool("delete_memory", {"memory_id": mid}))["event"] == "DELETE"
        gone = await client.call_tool("delete_memory", {"memory_id": mid})
        assert gone.is_error and "no memory" in gone.content[0].text
        bad = await client.call_tool("search_memory", {"query": "bees", "user_id": "ana", "k": 0})
        assert bad.is_error and "k must be a positive integer" in bad.content[0].text


@pytest.mark.timeout(120)
def test_mcp_tools_over_stdio(tmp_path):
    anyio.run(_session, tmp_path / "mcp.db")
    from memlm import Memory

    with Memory(tmp_path / "mcp.db", encoder="hashing") as m:  # what the tools wrote is in the file
        assert [r.text for r in m.list(user_id="ana")] == ["Do bees sting?"]
