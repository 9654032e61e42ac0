"""The shell examples of README.md and docs/server.md run as written, so they cannot rot.

Every line of every ```bash block is run by bash in a fresh $MEMLM_HOME (= ~/.memlm, HOME is a
temporary folder) with the hashing encoder, in the order written: `memlm` is this checkout's.
Lines are either run, run specially (the server block: `memlm serve` is started on a free
port, the printed key and port replace `mlm_...` / `$KEY` / 8420 in the curl lines; `ID` is a
stored memory's id; PostgreSQL URLs become a fresh test database), or skipped for a reason
listed in SKIP (builds, benchmarks, an LLM, model training). A line matching nothing runs.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = [  # (pattern, why the line is not run here)
    (r"^make ", "sets up the virtualenv; `make test` runs this suite"),
    (r"^pip install", "installs packages"),
    (r"^memlm bench ", "a benchmark (minutes; tests/bench runs them small)"),
    (r"--llm|^memlm chat", "needs an LLM (tests/llm)"),
    (r"^memlm (train|eval|sample|ask|classify|lab) ",
     "trains or uses a trained model (tests/cli/test_lab_cli.py, tests/cli/test_classifier_cli.py)"),
    (r"^memlm serve --db postgresql", "a server on PostgreSQL (the server runs in the server block)"),
    (r"^python -m memlm.server.openapi", "regenerates docs/openapi.json (tests/server/test_openapi.py checks it)"),
    (r"^pytest ", "runs tests"),
]
PG = re.compile(r"postgresql://\S*")


def bash_lines(path: Path) -> list[tuple[int, str]]:
    """(block number, command) for each logical line of each ```bash block (continuations joined)."""
    out: list[tuple[int, str]] = []
    blocks = re.findall(r"^```bash\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)
    for number, block in enumerate(blocks):
        pending = ""
        for raw in block.splitlines():
            line = pending + raw
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            if line.strip() and not line.lstrip().startswith("#"):
                out.append((number, line.strip()))
    return out


def skip_reason(line: str) -> str | None:
    return next((why for pattern, why in SKIP if re.search(pattern, line)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Shell:
    """Runs README lines with this checkout's memlm in a fresh home folder."""

    def __init__(self, tmp: Path) -> None:
        self.cwd = tmp
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "memlm"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m memlm "$@"\n')
        wrapper.chmod(0o755)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MEMLM_")}
        self.env.update(HOME=str(tmp), MEMLM_HOME=str(tmp / ".memlm"), MEMLM_ENCODER="hashing",
                        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
        self.server: subprocess.Popen | None = None
        self.ran: list[str] = []

    def run(self, line: str, timeout: int = 180) -> str:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", line], check=False, cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"{line}\nexit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, f"{line}\n{done.stderr}"
        self.ran.append(line)
        return done.stdout

    def memory_id(self) -> str:
        listed = json.loads(self.run("memlm memory list --user ana"))
        assert listed, "the README's earlier lines stored nothing for ana"
        return listed[0]["id"]

    def start_server(self, line: str, port: int) -> None:
        argv = line.split("#")[0].split()
        argv = [str(port) if a == "8420" else a for a in argv]
        if "--port" not in argv:
            argv += ["--port", str(port)]
        self.server = subprocess.Popen(argv, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            assert self.server.poll() is None, self.server.stdout.read() if self.server.stdout else ""
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"{line}: the server did not start")

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)
            self.server = None


def run_file(shell: Shell, path: Path, pg_url=None) -> dict[str, list[str]]:
    """Run the file's bash lines; returns what was run and what was skipped (with why)."""
    outcome: dict[str, list[str]] = {"ran": [], "skipped": [], "output": []}
    key = None
    port = _free_port()
    try:
        for _, line in bash_lines(path):
            why = skip_reason(line)
            if PG.search(line) and why is None:
                if pg_url is None:
                    why = "needs PostgreSQL (test_readme_postgres_lines runs it)"
                else:
                    line = PG.sub(pg_url(), line)
            if why is not None:
                outcome["skipped"].append(f"{line}  [{why}]")
                continue
            if re.fullmatch(r"KEY=\S+", line):  # the docs' placeholder: the key printed earlier
                shell.env["KEY"] = key or ""
                outcome["ran"].append(line)
                continue
            if line.startswith("memlm serve"):
                shell.start_server(line, port)
                outcome["ran"].append(line)
                continue
            if re.search(r"\bID\b", line):
                line = re.sub(r"\bID\b", shell.memory_id(), line)
            line = line.replace("mlm_...", key or "mlm_...").replace("localhost:8420", f"localhost:{port}")
            out = shell.run(line)
            outcome["ran"].append(line)
            outcome["output"].append(out)
            if line.startswith("memlm keys create"):
                key = json.loads(out)["key"]
            if line.startswith("curl"):
                _check_curl(line, out)
    finally:
        shell.stop_server()
    return outcome


def _check_curl(line: str, out: str) -> None:
    if "/v1/export" in line:
        return  # redirected to a file
    body = json.loads(out)
    assert "error" not in body, f"{line}\n{out}"


def test_readme_shell_examples_run(tmp_path):
    shell = Shell(tmp_path)
    outcome = run_file(shell, ROOT / "README.md")
    ran = outcome["ran"]
    assert len(ran) >= 15, outcome
    said = dict(zip([line for line in ran if not line.startswith(("memlm serve", "KEY="))], outcome["output"]))
    # what some of them must have done
    assert "tomatoes" in next(out for line, out in said.items() if line.startswith("memlm memory search"))
    exported = json.loads(said[next(line for line in said if line.startswith("memlm memory export"))])["exported"]
    imported = json.loads(said[next(line for line in said if line.startswith("memlm memory import"))])
    assert exported >= 2 and imported == {"imported": 0, "skipped": exported}  # into the same database: idempotent
    assert "tomatoes" not in shell.run("memlm memory list --user ana")  # delete --all ran
    assert not [line for line in outcome["skipped"] if "memlm memory" in line and "postgresql" not in line]
    print(f"\nREADME.md: {len(ran)} shell lines run, {len(outcome['skipped'])} skipped:\n  "
          + "\n  ".join(outcome["skipped"]))


def test_server_doc_shell_examples_run(tmp_path):
    shell = Shell(tmp_path)
    outcome = run_file(shell, ROOT / "docs" / "server.md")
    assert any(line.startswith("curl") for line in outcome["ran"]), outcome
    exported = (tmp_path / "ana.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(exported) == 2 and json.loads(exported[1])["text"] == "I am allergic to peanuts"


def test_readme_postgres_lines(tmp_path, pg_server):
    """The README's PostgreSQL lines against fresh databases (each line its own)."""
    import uuid

    import psycopg
    from tests.conftest import with_database

    made: list[str] = []

    def fresh() -> str:
        name = "memlm_readme_" + uuid.uuid4().hex[:10]
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        made.append(name)
        return with_database(pg_server, name)

    shell = Shell(tmp_path)
    try:
        shell.run('memlm memory add "I grow tomatoes on my balcony" --user ana')
        lines = [line for _, line in bash_lines(ROOT / "README.md") if PG.search(line) and skip_reason(line) is None]
        assert any(line.startswith("memlm migrate") for line in lines), lines
        url = None
        for line in lines:
            if line.startswith("memlm migrate"):
                url = fresh()
            assert url is not None, f"{line}: a PostgreSQL line before any migrate"
            out = shell.run(PG.sub(url, line))
            if line.startswith("memlm memory search"):
                assert "tomatoes" in out
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            for name in made:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_every_skipped_line_has_a_reason():
    for path in (ROOT / "README.md", ROOT / "docs" / "server.md"):
        for _, line in bash_lines(path):
            if skip_reason(line) is not None:
                assert not line.startswith(("memlm memory", "memlm keys", "curl")), line
