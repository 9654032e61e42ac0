"""Numbered schema migrations, recorded in the database they were applied to.

Migrations are SQL files named ``<backend>_<NNNN>_<name>.sql`` in this package's
``migrations/`` folder. Each runs once, in order, inside the caller's transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Migration:
    version: int  # the NNNN in the file name; applied in increasing order
    name: str  # the rest of the file name
    sql: str  # the statements


def migrations(backend: str) -> list[Migration]:
    """All migrations for a backend ("sqlite", "postgres"), oldest first."""
    pattern = re.compile(rf"^{backend}_(\d{{4}})_(\w+)\.sql$")
    found = []
    for entry in resources.files("memlm.stores").joinpath("migrations").iterdir():
        match = pattern.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{backend} migrations are not numbered 1..n: {versions}")
    return found
