"""Token buckets by key: in a dict (one process) or in a memory-mapped file that the worker
processes of one `memlm serve --workers N` share, so that a key gets its limit once, not N times.

Both stores answer `take(key, now, rate, burst)`: 0.0 when a token was taken, else the seconds
until one is available. The arithmetic is `take_token`'s, for both.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import threading
import time
from pathlib import Path
from struct import Struct

# Slots of a shared file. A slot holds one key's bucket and the keys are API keys, a few dozen,
# so 4096 slots (96 KiB) leave the open-addressing table nearly empty and probes short.
SLOTS = 4096

_SLOT = Struct("<Qdd")  # digest of the key (0: empty slot), tokens, time of last refill (time.monotonic())


def take_token(tokens: float, last: float, now: float, rate: float, burst: float) -> tuple[float, float, float]:
    """Refill a bucket holding `tokens` at `last` up to `now` (rate tokens a second, at most burst)
    and take one token: (tokens left, new time of last refill, 0.0 or the seconds to wait)."""
    tokens = min(burst, tokens + max(0.0, now - last) * rate)  # a `now` older than `last` adds nothing
    last = max(last, now)
    if tokens >= 1.0:
        return tokens - 1.0, last, 0.0
    return tokens, last, (1.0 - tokens) / rate


class DictBuckets:
    """The buckets of one process, in a dict: key -> (tokens, time of last refill)."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None, rate: float, burst: float) -> float:
        """Take a token for key at `now` (None: time.monotonic()); 0.0 or the seconds to wait."""
        with self._lock:
            now = time.monotonic() if now is None else now
            tokens, last = self._buckets.get(key, (burst, now))  # a new key starts with a full bucket
            tokens, last, wait = take_token(tokens, last, now, rate, burst)
            self._buckets[key] = (tokens, last)
            return wait

    def close(self) -> None:
        pass


class SharedBuckets:
    """The buckets of several processes, in a file made by `create` and opened by each process.

    The file is a table of fixed-size slots (see _SLOT), found by open addressing: the key's
    digest modulo the slot count, then the following slots. Each take runs under a
    threading.Lock (this process's threads) and flock(LOCK_EX) on the file (other processes).
    time.monotonic() is CLOCK_MONOTONIC on Linux: one clock for all processes of the machine.
    """

    @staticmethod
    def create(path: Path, slots: int = SLOTS) -> None:
        """Write an empty table of `slots` slots at path (replacing what is there)."""
        if slots < 1:
            raise ValueError("a bucket file needs at least one slot")
        with open(path, "wb") as f:
            f.truncate(slots * _SLOT.size)  # zeros: every slot empty

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDWR)
        try:
            size = os.fstat(self._fd).st_size
            if size == 0 or size % _SLOT.size:
                raise ValueError(f"{self.path} is not a bucket file ({size} bytes)")
            self.slots = size // _SLOT.size
            self._map = mmap.mmap(self._fd, size)  # MAP_SHARED: writes are seen by every process
        except BaseException:
            os.close(self._fd)
            raise
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None, rate: float, burst: float) -> float:
        """Take a token for key at `now` (None: time.monotonic(), read under the lock); 0.0 or the seconds to wait."""
        digest = _digest(key)
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                now = time.monotonic() if now is None else now
                offset, tokens, last = self._find(digest, now, burst)
                tokens, last, wait = take_token(tokens, last, now, rate, burst)
                _SLOT.pack_into(self._map, offset, digest, tokens, last)
                return wait
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _find(self, digest: int, now: float, burst: float) -> tuple[int, float, float]:
        """The key's slot (offset, tokens, time of last refill); a new key gets a full bucket in an
        empty slot or, when the table is full, in the slot refilled longest ago. The key that
        held that slot then starts again with a full bucket when it comes back."""
        stalest, stalest_last = 0, float("inf")
        for i in range(self.slots):
            offset = (digest + i) % self.slots * _SLOT.size
            held, tokens, last = _SLOT.unpack_from(self._map, offset)
            if held == digest:
                return offset, tokens, last
            if held == 0:  # slots are never emptied: the key is in no later slot
                return offset, burst, now
            if last < stalest_last:
                stalest, stalest_last = offset, last
        return stalest, burst, now

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


def _digest(key: str) -> int:
    """8 bytes of BLAKE2b of the key, never 0 (0 marks an empty slot)."""
    value = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    return value or 1
