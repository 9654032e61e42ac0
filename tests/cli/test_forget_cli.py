"""`memlm memory add --ttl/--expires`, `memory purge` and `memory forget` through click's runner."""

from __future__ import annotations

import json

import pytest


def test_expiry_purge_and_forget(run):
    run("memory", "add", "parked on level B", "--user", "u", "--expires", "2001-01-01")
    run("memory", "add", "hotel room 305", "--user", "u", "--ttl", "3600")
    run("memory", "add", "old note", "--user", "u", "--when", "2010-01-01")
    listed = json.loads(run("memory", "list", "--user", "u").output)
    assert {m["text"] for m in listed} == {"hotel room 305", "old note"}
    assert json.loads(run("memory", "purge").output) == {"purged": 1, "erasure": "complete"}
    dry = json.loads(run("memory", "forget", "--user", "u", "--before", "2020-01-01").output)
    assert dry["dry_run"] and [m["text"] for m in dry["memories"]] == ["old note"]
    assert len(json.loads(run("memory", "list", "--user", "u").output)) == 2
    plain = run("memory", "forget", "--user", "u", "--before", "2020-01-01", "--yes", "--plain").output
    assert plain.startswith("forgot 1 memories")
    assert [m["text"] for m in json.loads(run("memory", "list", "--user", "u").output)] == ["hotel room 305"]
    weak = json.loads(run("memory", "forget", "--user", "u", "--weaker-than", "5").output)
    assert [m["text"] for m in weak["memories"]] == ["hotel room 305"] and weak["dry_run"]


@pytest.mark.parametrize("args, message", [
    (("memory", "add", "x", "--user", "u", "--ttl", "-1"), "positive"),
    (("memory", "add", "x", "--user", "u", "--expires", "whenever"), "cannot read a date"),
    (("memory", "forget", "--user", "u"), "needs a rule"),
    (("memory", "forget", "--user", "u", "--before", "nope"), "cannot read a date"),
])
def test_bad_forget_input_is_one_line(run, args, message):
    result = run(*args, ok=False)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code != 0 and len(lines) == 1 and message in lines[0]
