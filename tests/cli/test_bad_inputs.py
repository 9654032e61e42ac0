"""Bad inputs to the CLI: every one is a clear error and nothing is poisoned.

Each case runs one `memlm` command through click's CliRunner and expects a non-zero exit, no
traceback and no uncaught exception; our own errors are exactly one line on stderr
("Error: ..."), click's usage errors end in one "Error: ..." line. Files that are not memlm
databases (another application's SQLite file, random bytes...) must be byte-identical
afterwards, with no -wal / -shm beside them. `memlm serve` and `memlm mcp` are run as real
processes for the start-up errors.

The number of cases is printed by test_count_of_bad_inputs (run with -s to see it).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from memlm.cli import main

DEEP = 5000  # nesting depth of the too-deep JSON inputs (Python's parser gives up near 1000)


def _deep_object(depth: int = DEEP) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def _make_files(root: Path) -> dict[str, Path]:
    """The bad files, and one good memlm database (with one memory, id in good.id)."""
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    files["random"] = root / "random.db"
    files["random"].write_bytes(os.urandom(8192))
    files["text"] = root / "notes.txt"
    files["text"].write_text("just some notes\nnot a database\n", encoding="utf-8")
    files["json"] = root / "data.json"
    files["json"].write_text('{"memories": []}', encoding="utf-8")
    files["zeros"] = root / "zeros.db"
    files["zeros"].write_bytes(b"\0" * 4096)
    files["folder"] = root / "folder.db"
    files["folder"].mkdir()
    for name, schema in {
        "foreign_memories": "CREATE TABLE memories (id INTEGER PRIMARY KEY, body TEXT)",
        "foreign_any": "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)",
        "foreign_migrations": "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, "
                              "applied_at TEXT)",
        "foreign_migrations_other_columns": "CREATE TABLE schema_migrations (id TEXT PRIMARY KEY)",
    }.items():
        path = root / f"{name}.sqlite"
        conn = sqlite3.connect(path)
        conn.execute(schema)
        if name == "foreign_migrations":
            conn.execute("INSERT INTO schema_migrations VALUES (1, 'create_users', '2024-01-01')")
        conn.commit()
        conn.close()
        files[name] = path
    good = root / "good.db"
    result = CliRunner().invoke(main, ["memory", "add", "a good memory", "--user", "u", "--db", str(good)])
    assert result.exit_code == 0, result.output
    (root / "good.id").write_text(json.loads(result.output)[0]["id"])
    files["truncated"] = root / "truncated.db"
    files["truncated"].write_bytes(good.read_bytes()[:3000])
    files["good"] = good
    export = root / "good.jsonl"
    assert CliRunner().invoke(main, ["memory", "export", str(export), "--db", str(good)]).exit_code == 0
    files["export"] = export
    return files


# databases that are not memlm's: every command refuses them and leaves them as they were
BAD_DBS = ["random", "text", "json", "zeros", "folder", "truncated", "foreign_memories", "foreign_any",
           "foreign_migrations", "foreign_migrations_other_columns"]
# every command that opens a database (ID: the good memory's id; EXPORT: a good export file)
DB_COMMANDS = {
    "add": ["memory", "add", "hello", "--user", "u"],
    "add-episode": ["memory", "add", "hi", "--role", "user", "--user", "u", "--session", "s"],
    "search": ["memory", "search", "hello", "--user", "u"],
    "list": ["memory", "list"],
    "get": ["memory", "get", "ID"],
    "history": ["memory", "history", "ID"],
    "delete": ["memory", "delete", "ID"],
    "delete-all": ["memory", "delete", "--all", "--user", "u"],
    "context": ["memory", "context", "hello", "--user", "u"],
    "export": ["memory", "export", "OUT"],
    "import": ["memory", "import", "EXPORT"],
    "reembed": ["memory", "reembed", "--encoder", "hashing:64"],
    "keys-create": ["keys", "create", "acme"],
    "keys-list": ["keys", "list"],
    "keys-revoke": ["keys", "revoke", "nokey"],
}
READS = ["search", "list", "get", "history", "delete", "delete-all", "context", "export", "reembed", "keys-list",
         "keys-revoke"]
MISSING = {  # databases that do not exist: reading one is an error, not a new empty file
    "typo": "typo.db",
    "absolute-url": "sqlite:///nonexistent-memlm-dir/memory.db",
    "relative-url": "sqlite://typo2.db",
}
# other bad input, with the database a good one (GOOD) unless it names one
OTHER: dict[str, list[str]] = {
    "metadata-deep": ["memory", "add", "x", "--user", "u", "--metadata", _deep_object()],
    "metadata-deep-list": ["memory", "add", "x", "--user", "u", "--metadata", "[" * DEEP + "]" * DEEP],
    "metadata-not-json": ["memory", "add", "x", "--user", "u", "--metadata", "{bad"],
    "metadata-list": ["memory", "add", "x", "--user", "u", "--metadata", "[1, 2]"],
    "metadata-null": ["memory", "add", "x", "--user", "u", "--metadata", "null"],
    "empty-text": ["memory", "add", "   ", "--user", "u"],
    "no-owner": ["memory", "add", "text"],
    "no-text": ["memory", "add", "--user", "u"],
    "bad-date": ["memory", "add", "x", "--user", "u", "--when", "the day after never"],
    "blank-user": ["memory", "add", "x", "--user", " "],
    "k-zero": ["memory", "search", "q", "--user", "u", "-k", "0"],
    "k-negative": ["memory", "search", "q", "--user", "u", "-k", "-3"],
    "hops-zero": ["memory", "search", "q", "--user", "u", "--hops", "0"],
    "hops-three": ["memory", "search", "q", "--user", "u", "--hops", "3"],
    "since-garbage": ["memory", "search", "q", "--user", "u", "--since", "soonish"],
    "search-no-owner": ["memory", "search", "q"],
    "search-empty-query": ["memory", "search", "", "--user", "u"],
    "limit-zero": ["memory", "list", "--limit", "0"],
    "offset-negative": ["memory", "list", "--offset", "-1"],
    "get-unknown": ["memory", "get", "nope"],
    "history-unknown": ["memory", "history", "nope"],
    "delete-unknown": ["memory", "delete", "nope"],
    "delete-nothing": ["memory", "delete"],
    "delete-all-no-scope": ["memory", "delete", "--all"],
    "context-no-owner": ["memory", "context", "q"],
    "context-budget-negative": ["memory", "context", "q", "--user", "u", "--budget", "-5"],
    "tenant-invalid": ["memory", "list", "--tenant", "bad tenant!"],
    "tenant-empty": ["memory", "list", "--tenant", ""],
    "encoder-unknown": ["memory", "list", "--encoder", "bert"],
    "encoder-bad-dim": ["memory", "list", "--encoder", "hashing:abc"],
    "encoder-missing-folder": ["memory", "list", "--encoder", "minilm@/nonexistent/model"],
    "encoder-mismatch": ["memory", "search", "q", "--user", "u", "--encoder", "hashing:64"],
    "url-unknown-scheme": ["memory", "list", "--db", "mysql://host/db"],
    "url-empty": ["memory", "list", "--db", "sqlite://"],
    "db-under-a-file": ["memory", "add", "x", "--user", "u", "--db", "TEXT/inner.db"],
    "import-random": ["memory", "import", "RANDOM"],
    "import-text": ["memory", "import", "TEXT"],
    "import-sqlite": ["memory", "import", "FOREIGN"],
    "import-deep-line": ["memory", "import", "DEEPEXPORT"],
    "import-bad-version": ["memory", "import", "V9EXPORT"],
    "import-missing": ["memory", "import", "nowhere.jsonl"],
    "import-folder": ["memory", "import", "FOLDER"],
    "export-into-missing-folder": ["memory", "export", "no/such/folder/out.jsonl"],
    "export-to-folder": ["memory", "export", "FOLDER"],
    "export-blank-user": ["memory", "export", "OUT", "--user", " "],
    "stdin-deep": ["memory", "add", "--stdin", "--user", "u"],
    "reembed-bad-batch": ["memory", "reembed", "--encoder", "hashing:64", "--batch", "0"],
    "reembed-unknown-encoder": ["memory", "reembed", "--encoder", "bert"],
    "keys-bad-tenant": ["keys", "create", "no spaces allowed"],
    "migrate-missing-source": ["migrate", "--from", "nowhere.db", "--to", "new.db"],
    "migrate-random-source": ["migrate", "--from", "RANDOM", "--to", "new2.db"],
    "migrate-into-foreign": ["migrate", "--from", "GOOD", "--to", "FOREIGN"],
    "migrate-bad-url": ["migrate", "--from", "GOOD", "--to", "mysql://x/y"],
    "sample-random": ["sample", "RANDOM"],
    "sample-text": ["sample", "TEXT"],
    "ask-random": ["ask", "RANDOM", "--story", "Mary went home.", "--question", "Where is Mary?"],
    "eval-random": ["eval", "RANDOM", "babi1"],
}
STDIN = {"stdin-deep": "[" * DEEP + "]" * DEEP}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    mp = pytest.MonkeyPatch()
    mp.setenv("MEMLM_ENCODER", "hashing")
    mp.delenv("MEMLM_DB", raising=False)
    mp.delenv("MEMLM_TENANT", raising=False)
    root = tmp_path_factory.mktemp("bad")
    mp.setenv("MEMLM_HOME", str(root / "home"))
    made = _make_files(root)
    made["deepexport"] = root / "deep.jsonl"
    made["deepexport"].write_text(made["export"].read_text(encoding="utf-8").splitlines()[0] + "\n"
                                  + '{"id": "x", "text": "t", "metadata": ' + _deep_object() + "}\n", encoding="utf-8")
    made["v9export"] = root / "v9.jsonl"
    made["v9export"].write_text('{"format": "memlm-export", "version": 9}\n', encoding="utf-8")
    yield made
    mp.undo()


def _fingerprints(files: dict[str, Path]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in BAD_DBS:
        path = files[name]
        out[name] = None if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        for suffix in ("-wal", "-shm", "-journal"):
            assert not Path(f"{path}{suffix}").exists(), f"{name}: {suffix} appeared"
    return out


def _args(template: list[str], files: dict[str, Path], tmp: Path) -> list[str]:
    good_id = (files["good"].parent / "good.id").read_text()
    names = {"ID": good_id, "OUT": str(tmp / "out.jsonl"), "EXPORT": str(files["export"]),
             "RANDOM": str(files["random"]), "TEXT": str(files["text"]), "FOREIGN": str(files["foreign_memories"]),
             "DEEPEXPORT": str(files["deepexport"]), "V9EXPORT": str(files["v9export"]),
             "FOLDER": str(files["folder"]), "GOOD": str(files["good"])}
    out = []
    for a in template:
        head, sep, rest = a.partition("/")
        out.append(names[head] + sep + rest if head in names else names.get(a, a))
    return out


def _check(result, label: str) -> str:
    """The outcome of one bad input; fails unless it is a clean error."""
    assert result.exit_code != 0, f"{label}: exit 0\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{label}: uncaught {type(result.exception).__name__}: {result.exception}")
    text = result.stdout + result.stderr
    assert "Traceback" not in text, f"{label}: traceback\n{text}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.exit_code == 2:  # a click usage error: usage, hint, then one error line
        assert lines and lines[-1].startswith("Error:"), f"{label}: {result.stderr!r}"
        return "usage"
    assert len(lines) == 1 and lines[0].startswith("Error: "), f"{label}: not one line: {result.stderr!r}"
    assert result.stdout == "", f"{label}: printed output too: {result.stdout!r}"
    return "error"


CASES = ([("bad-db", db, cmd) for db in BAD_DBS for cmd in DB_COMMANDS]
         + [("missing-db", name, cmd) for name in MISSING for cmd in READS]
         + [("other", name, "") for name in OTHER])


@pytest.mark.parametrize("kind, name, command", CASES, ids=[f"{k}:{n}:{c}" if c else f"{k}:{n}" for k, n, c in CASES])
def test_bad_input_is_one_clear_line(files, tmp_path, monkeypatch, kind, name, command):
    monkeypatch.chdir(tmp_path)
    before = _fingerprints(files)
    if kind == "bad-db":
        args = _args(DB_COMMANDS[command], files, tmp_path) + ["--db", str(files[name])]
    elif kind == "missing-db":
        args = _args(DB_COMMANDS[command], files, tmp_path) + ["--db", MISSING[name]]
    else:
        args = _args(OTHER[name], files, tmp_path)
        if "--db" not in args and args[0] in ("memory", "keys"):
            args += ["--db", str(files["good"])]
    result = CliRunner().invoke(main, args, input=STDIN.get(name))
    outcome = _check(result, f"{kind}:{name}:{command}")
    assert _fingerprints(files) == before, f"{kind}:{name}:{command} changed a file that is not memlm's"
    if kind == "missing-db":
        assert "no memory database" in result.stderr
        assert not (tmp_path / "typo.db").exists() and not (tmp_path / "typo2.db").exists()
        assert not Path("/nonexistent-memlm-dir").exists()
    if kind == "bad-db":
        assert outcome == "error" and files[name].name in result.stderr  # the message names the file


def test_the_good_database_survived_every_bad_input(files):
    result = CliRunner().invoke(main, ["memory", "list", "--db", str(files["good"])])
    assert result.exit_code == 0
    texts = [m["text"] for m in json.loads(result.output)]
    assert "a good memory" in texts


def test_count_of_bad_inputs():
    """How many bad inputs this file tries (the number reported for issue 12 §5)."""
    serve = len(SERVE_CASES)
    total = len(CASES) + serve + len(MCP_CASES)
    print(f"\nbad CLI inputs tried: {total} ({len(CASES)} through CliRunner, {serve} `memlm serve` "
          f"and {len(MCP_CASES)} `memlm mcp` start-ups as processes)")
    assert total >= 200


# -- start-up of the long-running commands, as real processes ---------------------------------
SERVE_CASES = {
    "random": ["--db", "RANDOM"],
    "folder": ["--db", "FOLDER"],
    "foreign": ["--db", "FOREIGN"],
    "truncated": ["--db", "TRUNCATED"],
    "encoder-unknown": ["--db", "GOOD", "--encoder", "bert"],
    "encoder-mismatch": ["--db", "GOOD", "--encoder", "hashing:64"],
    "llm-unknown": ["--db", "GOOD", "--llm", "gpt-17"],
}
MCP_CASES = {
    "random": ["--db", "RANDOM"],
    "foreign": ["--db", "FOREIGN"],
    "tenant-invalid": ["--db", "GOOD", "--tenant", "bad tenant!"],
}


def _process(args: list[str], files: dict[str, Path], tmp: Path) -> subprocess.CompletedProcess:
    names = {"RANDOM": files["random"], "FOLDER": files["folder"], "FOREIGN": files["foreign_any"],
             "TRUNCATED": files["truncated"], "GOOD": files["good"]}
    argv = [str(names[a]) if a in names else a for a in args]
    env = {**os.environ, "MEMLM_ENCODER": "hashing", "MEMLM_HOME": str(tmp / "home"),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"),
                                          os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "memlm", *argv], check=False, capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL, cwd=tmp)


@pytest.mark.parametrize("command, name", [("serve", n) for n in SERVE_CASES] + [("mcp", n) for n in MCP_CASES])
def test_start_up_errors_are_one_line(files, tmp_path, command, name):
    extra = SERVE_CASES[name] if command == "serve" else MCP_CASES[name]
    before = _fingerprints(files)
    done = _process([command, *extra, *(["--port", "0"] if command == "serve" else [])], files, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    assert _fingerprints(files) == before
