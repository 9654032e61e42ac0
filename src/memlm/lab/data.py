"""Locating the shared data directory (``../shared/data`` beside the repository)."""

from __future__ import annotations

from pathlib import Path

from memlm.settings import from_env

REPO_ROOT = Path(__file__).resolve().parents[3]  # src/memlm/lab/data.py -> repository root


def data_dirs() -> list[Path]:
    """Candidate data directories, most specific first."""
    dirs = []
    if from_env("data"):
        dirs.append(Path(from_env("data") or ""))
    for base in (REPO_ROOT, Path.cwd()):
        dirs += [base / "../shared/data", base / "shared/data"]
    dirs.append(Path("/work/shared/data"))
    return dirs


def find_data(relpath: str) -> Path:
    """Path of a data file such as ``tinyshakespeare/input.txt``; raises FileNotFoundError."""
    for d in data_dirs():
        p = d / relpath
        if p.exists():
            return p.resolve()
    tried = ", ".join(str(d) for d in data_dirs())
    raise FileNotFoundError(f"{relpath} not found; set MEMLM_DATA (tried {tried})")
