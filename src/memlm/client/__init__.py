"""`Client` and `AsyncClient`: a memlm server with the surface of `Memory` (docs/client.md).

methods.py writes each method once as an I/O-free plan; transport.py runs plans blocking or
with asyncio; wire.py turns bodies into memlm's types and error responses into exceptions.
"""

from memlm.client.transport import AsyncClient, Client
from memlm.client.wire import RetryPolicy

__all__ = ["AsyncClient", "Client", "RetryPolicy"]
