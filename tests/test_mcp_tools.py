"""`memlm mcp` driven by the official SDK's client over a real stdio subprocess."""

from __future__ import annotations

import json
import os

import anyio
import pytest
from click.testing import CliRunner
from mcp import Client, StdioServerParameters
from tests.server.test_serve_process import _memlm, serve_process

import memlm
from memlm.cli import main as cli

TOOLS = {"add_memory", "search_memory", "get_context", "list_memories", "get_memory", "update_memory",
         "memory_history", "delete_memory", "delete_all_memories", "forget_memories", "purge_expired",
         "supersede_memory", "consolidate_session"}


def _data(result) -> dict:
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def _params(*args: str, **env: str) -> StdioServerParameters:
    command, *pre = _memlm()
    return StdioServerParameters(command=command, args=[*pre, "mcp", *args],
                                 env={**os.environ, "MEMLM_ENCODER": "hashing", **env})


async def _session(db) -> None:
    async with Client(_params(MEMLM_DB=str(db))) as client:
        assert client.server_info.name == "memlm" and client.server_info.version == memlm.__version__
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        for t in tools.values():  # one clean paragraph each
            assert t.description and t.description == " ".join(t.description.split())
        assert tools["search_memory"].annotations.read_only_hint
        assert tools["delete_all_memories"].annotations.destructive_hint
        search_args = set(tools["search_memory"].input_schema["properties"])
        assert {"since", "until", "agent_id", "session_id", "kinds"} <= search_args
        add_args = set(tools["add_memory"].input_schema["properties"])
        assert {"occurred_at", "agent_id", "session_id", "role", "kind"} <= add_args

        async def call(name: str, **args):
            return _data(await client.call_tool(name, args))

        added = await call("add_memory", text="I keep bees on my roof", user_id="ana", occurred_at="2023-04-01")
        assert added["events"][0]["event"] == "ADD"
        mid = added["events"][0]["id"]
        await call("add_memory", text="Do bees sting?", user_id="ana", session_id="s1", role="user",
                   occurred_at="2024-06-02")
        await call("add_memory", text="Bot reminder: water the hives", agent_id="helper")
        assert (await call("add_memory", text="I keep bees on my roof", user_id="ana"))["events"][0]["event"] == "NOOP"
        found = await call("search_memory", query="bees roof", user_id="ana", k=2)
        assert found["results"][0]["text"] == "I keep bees on my roof" and 0 <= found["results"][0]["score"] <= 1
        assert found["results"][0]["occurred_at"].startswith("2023-04-01")
        recent = await call("search_memory", query="bees", user_id="ana", since="2024-01-01")
        assert [r["text"] for r in recent["results"]] == ["Do bees sting?"]
        old = await call("search_memory", query="bees", user_id="ana", until="2023-12-31", kinds=["fact"])
        assert [r["text"] for r in old["results"]] == ["I keep bees on my roof"]
        assert [r["text"] for r in (await call("search_memory", query="bees", user_id="ana",
                                               session_id="s1"))["results"]] == ["Do bees sting?"]
        assert (await call("search_memory", query="hives", agent_id="helper"))["results"][0]["text"].startswith("Bot")
        assert (await call("search_memory", query="bees", user_id="bob"))["results"] == []
        ctx = await call("get_context", query="bees", user_id="ana", session_id="s1")
        assert "I keep bees on my roof" in ctx["context"] and ctx["tokens"] > 0
        listed = await call("list_memories", user_id="ana", limit=1)
        assert [m["id"] for m in listed["memories"]] == [mid] and listed["next_offset"] == 1
        assert (await call("list_memories", user_id="ana", offset=1))["next_offset"] is None
        assert (await call("get_memory", memory_id=mid))["text"] == "I keep bees on my roof"
        up = await call("update_memory", memory_id=mid, text="I keep three hives on my roof")
        assert up["event"] == "UPDATE" and up["previous"] == "I keep bees on my roof"
        history = await call("memory_history", memory_id=mid)
        assert [h["event"] for h in history["history"]] == ["ADD", "UPDATE"]
        assert (await call("delete_memory", memory_id=mid))["event"] == "DELETE"
        gone = await client.call_tool("delete_memory", {"memory_id": mid})
        assert gone.is_error and "no memory" in gone.content[0].text
        missing = await client.call_tool("get_memory", {"memory_id": mid})
        assert missing.is_error and "no memory" in missing.content[0].text
        bad = await client.call_tool("search_memory", {"query": "bees", "user_id": "ana", "k": 0})
        assert bad.is_error and "k must be a positive integer" in bad.content[0].text
        turn = await call("add_memory", text="We talked about the honey harvest in July", user_id="ana", role="user",
                          session_id="s9")
        summary = await call("consolidate_session", session_id="s9", user_id="ana")
        assert summary["event"] == "ADD" and "honey harvest" in summary["text"]
        gone_id = turn["events"][0]["id"]
        assert (await call("supersede_memory", memory_id=gone_id))["event"] == "SUPERSEDE"
        hits = (await call("search_memory", query="honey harvest", user_id="ana", kinds=["episode"]))["results"]
        assert gone_id not in [h["id"] for h in hits]
        refused = await client.call_tool("delete_all_memories", {"user_id": "ana"})
        assert refused.is_error and "confirm=true" in refused.content[0].text
        assert (await call("list_memories", user_id="ana"))["memories"]  # nothing erased without confirm
        assert (await call("delete_all_memories", user_id="ana", confirm=True))["deleted"] >= 1
        assert (await call("list_memories", user_id="ana"))["memories"] == []


@pytest.mark.timeout(120)
def test_mcp_tools_over_stdio(tmp_path):
    anyio.run(_session, tmp_path / "mcp.db")
    from memlm import Memory

    with Memory(tmp_path / "mcp.db", encoder="hashing") as m:  # what the tools wrote is in the file
        assert [r.text for r in m.list(agent_id="helper")] == ["Bot reminder: water the hives"]


async def _tenants(db) -> None:
    for tenant, text in (("acme", "acme's secret plan"), ("globex", "globex's secret plan")):
        async with Client(_params("--tenant", tenant, MEMLM_DB=str(db))) as client:
            await client.call_tool("add_memory", {"text": text, "user_id": "ana"})
    async with Client(_params(MEMLM_DB=str(db), MEMLM_TENANT="acme")) as client:
        hits = _data(await client.call_tool("search_memory", {"query": "secret plan", "user_id": "ana"}))
        assert [h["text"] for h in hits["results"]] == ["acme's secret plan"]


@pytest.mark.timeout(120)
def test_mcp_tenant_selection(tmp_path):
    anyio.run(_tenants, tmp_path / "mcp.db")
    from memlm import Memory
    from memlm.config import MemoryConfig

    with Memory(tmp_path / "mcp.db", encoder="hashing", config=MemoryConfig(tenant="globex")) as m:
        assert [r.text for r in m.list(user_id="ana")] == ["globex's secret plan"]
    with Memory(tmp_path / "mcp.db", encoder="hashing") as m:
        assert m.list(user_id="ana") == []  # the default tenant saw neither


async def _remote(base: str, key: str) -> None:
    async with Client(_params("--server", base, MEMLM_API_KEY=key)) as client:
        added = _data(await client.call_tool("add_memory", {"text": "served over HTTP", "user_id": "ana"}))
        assert added["events"][0]["event"] == "ADD"
        hits = _data(await client.call_tool("search_memory", {"query": "HTTP", "user_id": "ana"}))
        assert hits["results"][0]["text"] == "served over HTTP"
        missing = await client.call_tool("get_memory", {"memory_id": "0" * 32})
        assert missing.is_error and "no memory" in missing.content[0].text
        # forgetting through the server too (the client's forget / purge)
        plan = _data(await client.call_tool("forget_memories", {"user_id": "ana", "before": "2999-01-01"}))
        assert plan["dry_run"] and plan["count"] == 1
        assert _data(await client.call_tool("search_memory", {"query": "HTTP", "user_id": "ana"}))["results"]
        done = _data(await client.call_tool("forget_memories", {"user_id": "ana", "before": "2999-01-01",
                                                                "dry_run": False}))
        assert done["count"] == 1
        assert _data(await client.call_tool("search_memory", {"query": "HTTP", "user_id": "ana"}))["results"] == []
        assert _data(await client.call_tool("purge_expired", {}))["purged"] == 0


@pytest.mark.timeout(120)
def test_mcp_over_a_memlm_server(tmp_path):
    with serve_process(tmp_path, "--rate-limit", "0") as (base, key):
        anyio.run(_remote, base, key)


def test_mcp_refuses_server_with_db():
    result = CliRunner().invoke(cli, ["mcp", "--server", "http://127.0.0.1:1", "--db", "x.db"])
    assert result.exit_code != 0 and "--server" in result.output and "Traceback" not in result.output


async def _forgetting(db) -> None:
    async with Client(_params(MEMLM_DB=str(db))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert {"expires_at", "ttl"} <= set(tools["add_memory"].input_schema["properties"])
        assert tools["forget_memories"].annotations.destructive_hint
        assert tools["forget_memories"].input_schema["properties"]["dry_run"]["default"] is True

        async def call(name: str, **args):
            return _data(await client.call_tool(name, args))

        await call("add_memory", text="I parked on level B", user_id="ana", expires_at="2001-01-01")
        await call("add_memory", text="my hotel room is 305", user_id="ana", ttl=3600)
        await call("add_memory", text="I lived in Rome", user_id="ana", occurred_at="2010-05-01")
        listed = await call("list_memories", user_id="ana")
        assert {m["text"] for m in listed["memories"]} == {"my hotel room is 305", "I lived in Rome"}
        assert "expires_at" in next(m for m in listed["memories"] if "305" in m["text"])["metadata"]
        assert (await call("purge_expired")) == {"purged": 1}
        assert (await call("purge_expired")) == {"purged": 0}
        dry = await call("forget_memories", user_id="ana", before="2020-01-01")
        assert dry["dry_run"] and dry["count"] == 1 and dry["memories"][0]["text"] == "I lived in Rome"
        assert len((await call("list_memories", user_id="ana"))["memories"]) == 2  # a dry run deletes nothing
        done = await call("forget_memories", user_id="ana", before="2020-01-01", dry_run=False)
        assert not done["dry_run"] and done["count"] == 1
        assert [m["text"] for m in (await call("list_memories", user_id="ana"))["memories"]] == ["my hotel room is 305"]
        bad = await client.call_tool("forget_memories", {"user_id": "ana"})
        assert bad.is_error and "forget needs a rule" in bad.content[0].text
        both = await client.call_tool("add_memory", {"text": "x", "user_id": "ana", "ttl": 5,
                                                     "expires_at": "2030-01-01"})
        assert both.is_error and "not both" in both.content[0].text


@pytest.mark.timeout(120)
def test_mcp_expiry_forget_and_purge(tmp_path):
    anyio.run(_forgetting, tmp_path / "mcp.db")
