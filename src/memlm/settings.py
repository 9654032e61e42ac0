"""The settings every entry point shares (the CLI, `memlm serve`, `memlm mcp`), read from the
environment in this one place: which database, which encoder, which tenant, which LLM.

    Settings.from_env(db="x.db")  # MEMLM_* variables, then the given values (None ignored)

`MemoryConfig` holds the engine's tuning; this holds where and as whom it runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memlm.config import CapacityConfig

# field -> the environment variable it is read from
ENV: dict[str, str] = {
    "db": "MEMLM_DB",
    "encoder": "MEMLM_ENCODER",
    "tenant": "MEMLM_TENANT",
    "llm": "MEMLM_LLM",
    "capacity_memories": "MEMLM_CAPACITY_MEMORIES",
    "capacity_tokens": "MEMLM_CAPACITY_TOKENS",
    "purge_every": "MEMLM_PURGE_EVERY",
}
DEFAULT_PURGE_EVERY = 3600.0  # seconds between `memlm serve`'s purges of expired memories
DEFAULT_TENANT = "default"  # the tenant of a handle nobody named one for (MemoryConfig.tenant's default)


@dataclass(frozen=True)
class Settings:
    """Where and as whom memlm runs. Empty variables count as unset."""

    db: Path | str | None = None  # memory file (Path) or postgresql:// URL (str); None: $MEMLM_HOME/memory.db
    encoder: str | None = None  # encoder spec ("minilm", "hashing:384", ...); None: the packaged default
    tenant: str = DEFAULT_TENANT  # isolation boundary: the server uses the API key's tenant; CLI and MCP this one
    llm: str | None = None  # LLM spec ("local", "openai:MODEL", "none"); None: no LLM
    capacity_memories: int = 0  # per-owner limit on current memories (CapacityConfig.max_memories); 0: none
    capacity_tokens: int = 0  # per-owner limit on their tokens (CapacityConfig.max_tokens); 0: none
    purge_every: float = DEFAULT_PURGE_EVERY  # `memlm serve`: seconds between purges of expired memories; 0: off

    def __post_init__(self) -> None:
        from memlm.server.keys import check_tenant
        from memlm.stores import normalize

        if self.db is not None and not isinstance(self.db, Path):
            if not isinstance(self.db, str) or not self.db.strip():
                raise ValueError(f"the database must be a path or URL, got {self.db!r}")
            object.__setattr__(self, "db", normalize(self.db))  # sqlite:///x and plain paths -> Path
        check_tenant(self.tenant)
        for name in ("capacity_memories", "capacity_tokens"):
            object.__setattr__(self, name, _number(name, getattr(self, name), int))
        object.__setattr__(self, "purge_every", _number("purge_every", self.purge_every, float))

    def capacity(self) -> CapacityConfig:
        """The per-owner capacity these settings ask for (off unless a limit is set)."""
        from memlm.config import CapacityConfig

        return CapacityConfig(max_memories=self.capacity_memories, max_tokens=self.capacity_tokens)

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


def _number(name: str, value: Any, kind: type) -> Any:
    """A non-negative int / float setting from a number or its text (an environment variable)."""
    out = None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            out = int(value.strip()) if kind is int else float(value.strip())
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or isinstance(value, int)):
        out = kind(value)
    if out is None or not 0 <= out < float("inf"):
        what = "integer" if kind is int else "number"
        raise ValueError(f"{name} ({ENV[name]}) must be a non-negative {what}, got {value!r}")
    return out


def from_env(name: str) -> str | None:
    """One setting's variable ("encoder": $MEMLM_ENCODER), None when unset or empty; for code
    that needs only that one (`get_encoder(None)`, `get_llm(None)`)."""
    return os.environ.get(ENV[name]) or None
