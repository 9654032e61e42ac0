"""memlm as a service: a FastAPI app over `Memory`, API keys mapped to tenants.

`create_app(settings)` (memlm.server.app) builds the app; `memlm serve` runs it with
uvicorn; `memlm keys` manages keys. Importing this package loads nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memlm.server.app import create_app
    from memlm.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from memlm.server.app import create_app

        return create_app
    if name == "ServerSettings":
        from memlm.server.settings import ServerSettings

        return ServerSettings
    raise AttributeError(name)
