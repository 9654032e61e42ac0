"""`memlm chat` driven as a subprocess with the real local model: a new session remembers an earlier one."""

from __future__ import annotations

import os
import subprocess

import pytest
from click.testing import CliRunner
from tests.server.test_serve_process import _memlm

from memlm import Memory
from memlm.cli import main

pytestmark = pytest.mark.slow


def run_chat(db, session: str, lines: list[str], *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEMLM_DB": str(db), "MEMLM_ENCODER": "hashing", "MEMLM_USER_ID": "ana"}
    env.pop("MEMLM_LLM", None)
    return subprocess.run([*_memlm(), "chat", "--session", session, "--max-tokens", "16", *extra],
                          input="\n".join(lines) + "\n", env=env, capture_output=True, text=True, timeout=300)


def test_a_new_session_remembers_what_was_said_in_an_earlier_one(tmp_path, local_llm_runs):
    db = tmp_path / "chat.db"
    first = run_chat(db, "monday", ["My dog is called Rex and he is a beagle.", "/quit"])
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("assistant> ") == 1
    second = run_chat(db, "tuesday", ["What is my dog called?"], "--show-memory")
    assert second.returncode == 0, second.stderr
    memory_shown, _, _ = second.stdout.partition("assistant> ")
    assert "## Recalled from long-term memory" in memory_shown
    assert "My dog is called Rex and he is a beagle." in memory_shown  # recalled from Monday's session
    with Memory(db, encoder="hashing") as m:
        monday = m.list(user_id="ana", session_id="monday")
        assert monday[0].text == "My dog is called Rex and he is a beagle." and monday[0].role == "user"
        assert [r.kind for r in monday].count("summary") == 1  # the ended session was consolidated
        assert m.list(user_id="ana", session_id="tuesday", kinds=["episode"])[0].text == "What is my dog called?"


def test_chat_needs_a_user_and_an_llm(tmp_path, monkeypatch):
    monkeypatch.delenv("MEMLM_USER_ID", raising=False)
    r = CliRunner().invoke(main, ["chat", "--db", str(tmp_path / "c.db"), "--encoder", "hashing"], input="")
    assert r.exit_code != 0 and "--user" in r.output
    r = CliRunner().invoke(main, ["chat", "--db", str(tmp_path / "c.db"), "--encoder", "hashing", "--user", "ana",
                                  "--llm", "none"], input="hi\n")
    assert r.exit_code == 1 and "needs an LLM" in r.output
