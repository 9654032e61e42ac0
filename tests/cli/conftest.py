"""The CLI runner the memory-command tests share: a fresh file, the hashing encoder."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from memlm.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMLM_ENCODER", "hashing")
    monkeypatch.setenv("MEMLM_DB", str(tmp_path / "cli.db"))
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, ok: bool = True):
        result = runner.invoke(main, list(args), input=input)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke
