"""Server settings: one pydantic model, one comment per field, unknown fields refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from memlm.config import CapacityConfig, default_db_path


class ServerSettings(BaseModel):
    """What `create_app` needs; `memlm serve` fills it from options and MEMLM_* variables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # memory file (Path) or postgresql:// URL (str); API keys live in it too; None: $MEMLM_HOME/memory.db
    db: Path | str | None = None
    encoder: str | None = None  # encoder spec ("minilm", "hashing", ...); None: $MEMLM_ENCODER, else the store's own
    rate_limit_per_minute: int = Field(600, ge=0)  # requests per API key per minute (token bucket); 0: no limit
    rate_limit_burst: int | None = Field(None, ge=1)  # bucket size; None: one minute's worth of requests
    # token buckets shared by worker processes (`memlm serve --workers N` sets it); None: in-process
    rate_limit_file: Path | None = None
    max_body_bytes: int = Field(1_048_576, ge=1024)  # larger request bodies get 413
    worker_threads: int = Field(4, ge=1, le=64)  # threads running engine calls (embedding, SQLite)
    # BLAS threads per process: requests already run side by side, and more BLAS threads only
    # spin (OpenBLAS's default doubled the CPU time of a search under load)
    blas_threads: int = Field(1, ge=1, le=64)
    warm_up: bool = True  # load the encoder and open the file at start-up, not on the first request
    # LLM spec for /v1/chat/completions and fact extraction ("local", "openai:MODEL"); None: none
    llm: str | None = None
    capacity_memories: int = Field(default=0, ge=0)  # per-owner limit on current memories (CapacityConfig); 0: none
    capacity_tokens: int = Field(default=0, ge=0)  # per-owner limit on their tokens; 0: none
    # seconds between the scheduled purges of expired memories (`memlm serve --purge-every`); 0: off
    purge_every: float = Field(default=3600.0, ge=0, allow_inf_nan=False)

    @field_validator("db")
    @classmethod
    def _store_target(cls, value: Path | str | None) -> Path | str | None:
        from memlm.stores import normalize  # sqlite:///x and plain paths -> Path; postgresql:// URLs stay str

        return normalize(value) if value else None

    @property
    def db_path(self) -> Path | str:
        """The SQLite file's Path, or the PostgreSQL URL."""
        return self.db or default_db_path()

    def capacity(self) -> CapacityConfig:
        """The per-owner capacity every tenant's handle enforces (off unless a limit is set)."""
        return CapacityConfig(max_memories=self.capacity_memories, max_tokens=self.capacity_tokens)

    @classmethod
    def from_env(cls, **overrides: object) -> ServerSettings:
        """Settings from memlm.settings.Settings.from_env (MEMLM_DB / MEMLM_ENCODER / MEMLM_LLM,
        MEMLM_CAPACITY_MEMORIES / _TOKENS, MEMLM_PURGE_EVERY) and MEMLM_RATE_LIMIT, then the given
        overrides (None ignored)."""
        from memlm.settings import Settings, from_env

        shared = ("db", "encoder", "llm", "capacity_memories", "capacity_tokens", "purge_every")
        picked: dict[str, Any] = {k: overrides.pop(k) for k in shared if k in overrides}
        common = Settings.from_env(None, **picked)
        env: dict[str, object] = {k: getattr(common, k) for k in shared}
        if from_env("rate_limit"):
            env["rate_limit_per_minute"] = from_env("rate_limit")
        env.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(env)
