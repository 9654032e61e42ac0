"""The settings every entry point shares (the CLI, `memlm serve`, `memlm mcp`, the client),
read from the environment in this one place: which database, which encoder, which tenant,
which LLM, which server and key, how long to wait for a lock.

    Settings.from_env(db="x.db")  # MEMLM_* variables, then the given values (None ignored)
    from_env("busy_timeout")      # one variable, for code that needs only that one

`MemoryConfig` holds the engine's tuning; this holds where and as whom it runs. Every MEMLM_*
variable memlm reads is named in `ENV`, `PATHS` or `ENDPOINT` below, and read through this module.
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

# Settings field -> the environment variable it is read from
ENV: dict[str, str] = {
    "db": "MEMLM_DB",
    "encoder": "MEMLM_ENCODER",
    "tenant": "MEMLM_TENANT",
    "llm": "MEMLM_LLM",
    "server_url": "MEMLM_SERVER_URL",
    "api_key": "MEMLM_API_KEY",
    "busy_timeout": "MEMLM_BUSY_TIMEOUT",
    "pg_timeout": "MEMLM_PG_TIMEOUT",
    "capacity_memories": "MEMLM_CAPACITY_MEMORIES",
    "capacity_tokens": "MEMLM_CAPACITY_TOKENS",
    "purge_every": "MEMLM_PURGE_EVERY",
}
# where things live on disk (not per-run settings; read by `from_env` where they are used)
PATHS: dict[str, str] = {
    "home": "MEMLM_HOME",  # memlm's own directory (default ~/.memlm): the default memory file, keys
    "cache": "MEMLM_CACHE",  # converted encoder models (default under the user cache directory)
    "data": "MEMLM_DATA",  # the lab's and benchmarks' data sets (default ../shared/data)
    "locomo": "MEMLM_LOCOMO",  # the LoCoMo file or directory for `memlm bench locomo`
    "llm_model_path": "MEMLM_LLM_MODEL_PATH",  # a GGUF file for the local LLM instead of the packaged one
    "rate_limit": "MEMLM_RATE_LIMIT",  # `memlm serve`: requests per API key per minute
}
# the OpenAI-compatible LLM endpoint (memlm.llm.openai.OpenAIConfig.from_env): memlm's variable first,
# then the name the OpenAI SDK itself reads, so an environment set up for it works unchanged
ENDPOINT: dict[str, tuple[str, ...]] = {
    "llm_base_url": ("MEMLM_LLM_BASE_URL", "OPENAI_BASE_URL"),  # ends before /chat/completions
    "llm_model": ("MEMLM_LLM_MODEL",),  # the model name the endpoint expects (`openai:MODEL` wins)
    "llm_api_key": ("MEMLM_LLM_API_KEY", "OPENAI_API_KEY"),  # sent as a Bearer token
}
DEFAULT_BUSY_TIMEOUT_S = 60.0  # a SQLite write waits this long for the lock before StoreBusy (503 / one-line error)
DEFAULT_PG_TIMEOUT_S = 10.0  # a PostgreSQL caller waits this long for a pooled connection
DEFAULT_PURGE_EVERY = 3600.0  # seconds between `memlm serve`'s purges of expired memories
DEFAULT_TENANT = "default"  # the tenant of a handle nobody named one for (MemoryConfig.tenant's default)


@dataclass(frozen=True)
class Settings:
    """Where and as whom memlm runs. Empty variables count as unset."""

    db: Path | str | None = None  # memory file (Path) or postgresql:// URL (str); None: $MEMLM_HOME/memory.db
    encoder: str | None = None  # encoder spec ("minilm", "hashing:384", ...); None: the packaged default
    tenant: str = DEFAULT_TENANT  # isolation boundary: the server uses the API key's tenant; CLI and MCP this one
    llm: str | None = None  # LLM spec ("local", "openai:MODEL", "none"); None: no LLM
    server_url: str | None = None  # a memlm server (http:// or https://) for `memlm mcp --server` and Client()
    api_key: str | None = None  # the key Client() sends when none is given (it picks the tenant on the server)
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S  # seconds a SQLite write waits for the lock
    pg_timeout: float = DEFAULT_PG_TIMEOUT_S  # seconds a PostgreSQL caller waits for a pooled connection
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
        for name in ("busy_timeout", "pg_timeout"):
            object.__setattr__(self, name, seconds(name, getattr(self, name)))
        if self.server_url is not None and not str(self.server_url).startswith(("http://", "https://")):
            raise ValueError(f"{ENV['server_url']} must be an http:// or https:// URL, not {self.server_url!r}")
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


def _number(name: str, value: Any, kind: type, unit: str | None = None) -> Any:
    """A non-negative int / float setting from a number or its text (an environment variable);
    a clear error naming its variable otherwise (`unit`: what the number counts, for the message)."""
    out = None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            out = int(value.strip()) if kind is int else float(value.strip())
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or isinstance(value, int)):
        out = kind(value)
    if out is None or not 0 <= out < float("inf"):
        if unit is not None:
            raise ValueError(f"{ENV[name]} must be a number of {unit} >= 0, not {value!r}")
        what = "integer" if kind is int else "number"
        raise ValueError(f"{name} ({ENV[name]}) must be a non-negative {what}, got {value!r}")
    return out


def from_env(name: str) -> str | None:
    """One setting ("encoder": $MEMLM_ENCODER, "home": $MEMLM_HOME, "llm_api_key": $MEMLM_LLM_API_KEY
    or else $OPENAI_API_KEY), None when unset or empty; for code that needs only that one
    (`get_encoder(None)`, `get_llm(None)`, the data paths, the LLM endpoint)."""
    names = ENDPOINT.get(name) or (ENV.get(name) or PATHS[name],)
    return next((value for var in names if (value := os.environ.get(var))), None)


def seconds(name: str, value: Any) -> float:
    """A timeout setting (busy_timeout, pg_timeout) as seconds >= 0."""
    return float(_number(name, value, float, unit="seconds"))


def timeout_from_env(name: str) -> float:
    """busy_timeout / pg_timeout from the environment, else its default."""
    raw = from_env(name)
    default = {"busy_timeout": DEFAULT_BUSY_TIMEOUT_S, "pg_timeout": DEFAULT_PG_TIMEOUT_S}[name]
    return default if raw is None else seconds(name, raw)
