"""Running adapter logic written once against any memlm backend.

An adapter's operation is a generator that yields `Do(method, args, kwargs)` (a call on the
backend: `Memory`, `Client` or `AsyncClient`) and receives its result (or has its exception
thrown in). `run_sync` drives it with blocking calls; `run_async` awaits the AsyncClient's
coroutines, or runs a blocking backend's calls in a worker thread."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Do:
    method: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


Steps = Generator[Do, Any, T]


def is_async(backend: Any) -> bool:
    from memlm.client import AsyncClient

    return isinstance(backend, AsyncClient)


def run_sync(backend: Any, steps: Steps[T]) -> T:
    if is_async(backend):
        raise TypeError("this backend is an AsyncClient: use the async methods (abatch, aget, ...)")
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            do = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as done:
            return done.value
        try:
            value, error = getattr(backend, do.method)(*do.args, **do.kwargs), None
        except Exception as exc:
            value, error = None, exc


async def run_async(backend: Any, steps: Steps[T]) -> T:
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            do = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as done:
            return done.value
        method = getattr(backend, do.method)
        try:
            if is_async(backend):
                result = method(*do.args, **do.kwargs)
                value = await result if inspect.isawaitable(result) else result
            else:
                value = await asyncio.to_thread(method, *do.args, **do.kwargs)
            error = None
        except Exception as exc:
            value, error = None, exc
