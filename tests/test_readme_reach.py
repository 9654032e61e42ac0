"""The README's client, integrations and MCP sections run as written (the server URL swapped
for a real `memlm serve` on a free port; the MCP block launched with the official client)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import anyio
import pytest
from mcp import Client as McpClient
from mcp import StdioServerParameters
from tests.server.test_serve_process import _memlm
from tests.test_mcp_tools import TOOLS

README = Path(__file__).resolve().parents[1] / "README.md"


def block(heading: str, lang: str) -> str:
    """The first ```lang block under the README heading."""
    text = README.read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"```{lang}\n(.*?)```", section, re.DOTALL)
    assert match, f"no {lang} block under {heading}"
    return match.group(1)


def _run(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    return out.getvalue()


def test_client_section_runs(served, monkeypatch):
    base, key = served
    monkeypatch.setenv("MEMLM_API_KEY", key)
    code = block("## Python client", "python")
    assert "http://127.0.0.1:8420" in code
    out = _run(code.replace("http://127.0.0.1:8420", base))
    assert out.startswith("I am allergic to peanuts ") and "'I am allergic to peanuts'" in out


def test_integrations_section_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    out = _run(block("## Agent frameworks", "python")).splitlines()
    assert out[0] == "{'text': 'Ana is vegetarian'}" and out[1] == "Ana is vegetarian"
    assert "Hi, I'm Ana!" in out[2] and (tmp_path / "agent.db").is_file()


@pytest.mark.timeout(120)
def test_mcp_config_launches(tmp_path):
    config = json.loads(block("## MCP", "json"))["mcpServers"]["memlm"]
    env = {**config["env"], "MEMLM_DB": str(tmp_path / "memory.db"), "MEMLM_ENCODER": "hashing"}
    assert config["command"] == "memlm"
    command, *pre = _memlm()  # the installed `memlm`, as a client would find it on PATH

    async def go() -> set[str]:
        import os

        params = StdioServerParameters(command=command, args=[*pre, *config["args"]], env={**os.environ, **env})
        async with McpClient(params) as client:
            return {t.name for t in (await client.list_tools()).tools}

    assert anyio.run(go) == TOOLS


def test_docs_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    docs = Path(__file__).resolve().parents[1] / "docs"
    client_block = re.search(r"```python\n(.*?)```", (docs / "client.md").read_text(), re.S).group(1)
    _run(client_block)  # builds a client (nothing is sent)
    blocks = re.findall(r"```python\n(.*?)```", (docs / "integrations.md").read_text(), re.S)
    assert len(blocks) == 2
    assert _run(blocks[0]).strip() == "I recall 0 things"
    out = _run(blocks[1]).strip()
    assert out.startswith("['Ana is vegetarian']") and out.endswith("Hello!")
