"""memlm: memory for language models.

The engine (`Memory`) gives an LLM application working memory (the session's recent
turns) and long-term memory (episodes, facts, summaries) in one SQLite file with a local
embedding model. The lab (`memlm.nn`, `memlm.lab`) holds the neural memory mechanisms.
"""

from memlm.classify import Classifier, Prediction
from memlm.config import GateConfig, IndexConfig, MemoryConfig, RecallConfig
from memlm.encoders.base import Encoder
from memlm.engine import Memory
from memlm.errors import ApiError, AuthenticationError, InvalidRequest, MemoryNotFound, RateLimited, ServerUnavailable
from memlm.llm import LLM, LLMError, Prompt, get_llm
from memlm.settings import Settings
from memlm.types import Event, HistoryEntry, Hit, MemoryRecord, Scope
from memlm.working import Context, WorkingMemory

__all__ = [
    "LLM",
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "Classifier",
    "Client",
    "Context",
    "Encoder",
    "Event",
    "GateConfig",
    "HistoryEntry",
    "Hit",
    "IndexConfig",
    "InvalidRequest",
    "LLMError",
    "Memory",
    "MemoryConfig",
    "MemoryNotFound",
    "MemoryRecord",
    "Prediction",
    "Prompt",
    "RateLimited",
    "RecallConfig",
    "RetryPolicy",
    "Scope",
    "ServerUnavailable",
    "Settings",
    "WorkingMemory",
    "get_llm",
]
__version__ = "0.1.0"

_CLIENT = ("AsyncClient", "Client", "RetryPolicy")  # memlm.client, imported on first use (httpx)


def __getattr__(name: str):
    if name in _CLIENT:
        import memlm.client

        return getattr(memlm.client, name)
    raise AttributeError(f"module 'memlm' has no attribute {name!r}")
