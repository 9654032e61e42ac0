"""docs/inspector.md's commands run as written: a key, `memlm serve`, the page and its data
over that real process; the screenshot and timing script works (into a temporary folder, on a
small owner)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from tests.server.test_serve_process import _free_port, _memlm
from tests.server.ui_support import browser_missing

from memlm.bench.server import wait_ready

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "inspector.md"


def bash_blocks(text: str) -> list[list[str]]:
    """The commands of each ```bash block (comments dropped)."""
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)
    return [[line.split("  #")[0].strip() for line in b.splitlines() if line.strip()] for b in blocks]


def test_the_serve_commands_give_a_working_inspector(tmp_path):
    keys_cmd, serve_cmd = bash_blocks(DOC.read_text(encoding="utf-8"))[0]
    assert keys_cmd.startswith("memlm keys create") and serve_cmd.startswith("memlm serve")
    port = _free_port()
    import memlm

    src = str(Path(memlm.__file__).resolve().parents[1])  # this checkout's memlm, whatever the working folder
    env = {**os.environ, "MEMLM_ENCODER": "hashing",
           "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    memlm = _memlm()
    created = subprocess.run([*memlm, *shlex.split(keys_cmd)[1:]], cwd=tmp_path, env=env, capture_output=True,
                             text=True, check=True)
    key = json.loads(created.stdout)["key"]
    args = [a if a != "8420" else str(port) for a in shlex.split(serve_cmd)[1:]]
    proc = subprocess.Popen([*memlm, *args, "--log-level", "warning"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, timeout=60)
        page = httpx.get(base + "/ui", follow_redirects=True, timeout=10)
        assert page.status_code == 200 and "memlm inspector" in page.text
        assert httpx.get(base + "/ui/pages.js", timeout=10).status_code == 200
        auth = {"Authorization": f"Bearer {key}"}
        httpx.post(base + "/v1/memories", json={"text": "I grow tomatoes", "user_id": "ana"}, headers=auth, timeout=10)
        r = httpx.get(base + "/v1/owners", headers=auth, timeout=10)
        assert r.status_code == 200, r.text
        owners = r.json()["owners"]
        assert [(o["user_id"], o["counts"]["fact"]) for o in owners] == [("ana", 1)]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert (tmp_path / "inspector.db").exists()


def _script():
    spec = importlib.util.spec_from_file_location("inspector_pages", ROOT / "benchmarks" / "inspector_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(browser_missing() is not None, reason=f"no browser: {browser_missing()}")
def test_the_screenshot_and_timing_script(tmp_path, monkeypatch):
    script = _script()
    assert [b[0].split()[-1] for b in bash_blocks(DOC.read_text(encoding="utf-8"))[1:2]] == ["screenshots"]
    monkeypatch.setattr(script, "SHOTS", tmp_path / "shots")
    script.screenshots("hashing")
    assert {p.name for p in (tmp_path / "shots").iterdir()} == {
        "signin.png", "owners.png", "owner.png", "session.png", "search.png", "memory.png"}
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in (tmp_path / "shots").iterdir())
    out = script.timing(300, "hashing", 2)
    assert out["memories"] == 300 and out["search_view_median_ms"] > 0 and out["owner_page_ms"] > 0


def test_readme_points_at_the_inspector():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/inspector.md" in readme and "docs/inspector/search.png" in readme
    assert bash_blocks(DOC.read_text(encoding="utf-8"))[0] in bash_blocks(readme)  # the commands run above
