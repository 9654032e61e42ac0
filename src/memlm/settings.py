"""The settings every entry point shares (the CLI, `memlm serve`, `memlm mcp`), read from the
environment in this one place: which database, which encoder, which tenant, which LLM.

    Settings.from_env(db="x.db")  # MEMLM_* variables, then the given values (None ignored)

`MemoryConfig` holds the engine's tuning; this holds where and as whom it runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

# field -> the environment variable it is read from
ENV: dict[str, str] = {
    "db": "MEMLM_DB",
    "encoder": "MEMLM_ENCODER",
    "tenant": "MEMLM_TENANT",
    "llm": "MEMLM_LLM",
}
DEFAULT_TENANT = "default"  # the tenant of a handle nobody named one for (MemoryConfig.tenant's default)


@dataclass(frozen=True)
class Settings:
    """Where and as whom memlm runs. Empty variables count as unset."""

    db: Path | str | None = None  # memory file (Path) or postgresql:// URL (str); None: $MEMLM_HOME/memory.db
    encoder: str | None = None  # encoder spec ("minilm", "hashing:384", ...); None: the packaged default
    tenant: str = DEFAULT_TENANT  # isolation boundary: the server uses the API key's tenant; CLI and MCP this one
    llm: str | None = None  # LLM spec ("local", "openai:MODEL", "none"); None: no LLM

    def __post_init__(self) -> None:
        from memlm.server.keys import check_tenant
        from memlm.stores import normalize

        if self.db is not None and not isinstance(self.db, Path):
            if not isinstance(self.db, str) or not self.db.strip():
                raise ValueError(f"the database must be a path or URL, got {self.db!r}")
            object.__setattr__(self, "db", normalize(self.db))  # sqlite:///x and plain paths -> Path
        check_tenant(self.tenant)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """MEMLM_DB / MEMLM_ENCODER / MEMLM_TENANT / MEMLM_LLM (from `env`, default os.environ),
        then `overrides` (a None value leaves the variable's value); unknown names are refused."""
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        env = os.environ if env is None else env
        values: dict[str, Any] = {name: env.get(var) for name, var in ENV.items() if env.get(var)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def db_path(self) -> Path | str:
        """The SQLite file's Path (default $MEMLM_HOME/memory.db), or the PostgreSQL URL."""
        from memlm.config import default_db_path

        return self.db if self.db is not None else default_db_path()

    def with_(self, **changes: Any) -> Settings:
        """A copy with the given fields changed (None values ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def from_env(name: str) -> str | None:
    """One setting's variable ("encoder": $MEMLM_ENCODER), None when unset or empty; for code
    that needs only that one (`get_encoder(None)`, `get_llm(None)`)."""
    return os.environ.get(ENV[name]) or None
