"""The examples of docs/forgetting.md run as written, and print what the page says they print."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "forgetting.md"


def block(lang: str) -> str:
    [code] = re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return code


def test_python_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block("python"), str(DOC), "exec"), {})
    assert out.getvalue().splitlines() == ["[('ADD', None, None), ('DELETE', None, None)]", "1", "complete"]
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("forget-demo.db"))
    assert b"bike" not in raw and b"car is red" not in raw


def test_shell_example(tmp_path):
    memlm = Path(sys.executable).with_name("memlm")
    env = {**os.environ, "PATH": f"{memlm.parent}{os.pathsep}{os.environ.get('PATH', '')}", "MEMLM_HOME": str(tmp_path),
           "PYTHONPATH": str(REPO / "src")}  # this checkout's memlm, whatever the cwd
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block("bash")], check=False, cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert json.loads(lines[1]) == {"deleted": 1, "erasure": "complete"}
    assert json.loads(lines[2]) == {"purged": 0, "erasure": "complete"}
    assert (tmp_path / "forget-demo-cli.db").exists()
