"""Agent-level result cache: the same question to the same agent version, answered once.

An agent opts in with `AgentSpec.cache_ttl_s`. The key hashes the agent, its version,
the tenant and the input with whitespace and case folded, so a new agent version never
serves an old answer, and one tenant never sees an answer written for another (the
system prompt is rendered per tenant). Only full answers (status "ok") are cached.

`CacheStore` is the edge: `LocalCacheStore` keeps entries in this process; a store
shared by every replica (over a compacted Kafka topic, say) implements the same two
methods.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agents.errors import ConfigError

__all__ = ["CacheEntry", "CacheStore", "LocalCacheStore", "cache_key", "normalize_input"]


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A cached answer and where it came from (the `CacheEntry` event's fields)."""

    output: str
    agent: str
    agent_version: str
    model: str
    stored_at: float
    """When it was stored, as a `time.time()` value."""
    ttl_s: float
    """How long it may be served after `stored_at`."""
    provider: str | None = None
    tier: str | None = None
    tool_calls: tuple[str, ...] = ()

    @property
    def expires_at(self) -> float:
        """The `time.time()` value from which the entry is no longer served."""
        return self.stored_at + self.ttl_s

    def fresh(self, now: float) -> bool:
        """Whether the entry may still be served at `now`."""
        return now < self.stored_at + self.ttl_s


@runtime_checkable
class CacheStore(Protocol):
    """Where cached answers live; shareable across replicas.

    `get` is a synchronous read of the local view (a shared store serves it from its
    own replica of the data) and may return an expired entry: the caller checks
    `CacheEntry.fresh`. `put` may be asynchronous (a produce to a shared log).
    Every replica's `get` returns the entry with every field as it was put (a shared
    store may keep `stored_at` to the millisecond), so all report a hit alike. A
    bounded store drops entries as misses, never as wrong hits.
    `tests/contract/stores/test_cache_contract.py` holds every implementation to this.
    """

    def get(self, key: str) -> CacheEntry | None:
        """The entry stored under `key`, or None."""
        ...

    async def put(self, key: str, entry: CacheEntry) -> None:
        """Store `entry` under `key`, replacing any previous one."""
        ...


class LocalCacheStore:
    """An in-process `CacheStore`: least recently used entries are evicted beyond
    `max_entries`, and expired entries are dropped when read.
    """

    def __init__(self, max_entries: int = 10_000, *, clock: Callable[[], float] = time.time):
        if max_entries <= 0:
            raise ConfigError(f"LocalCacheStore needs max_entries > 0, got {max_entries}")
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._evicted = 0

    @property
    def max_entries(self) -> int:
        """Most entries kept; the least recently used beyond it are dropped."""
        return self._max

    @property
    def evicted(self) -> int:
        """Entries dropped to stay within `max_entries` (not counting expiries)."""
        return self._evicted

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> CacheEntry | None:
        """The live entry under `key`, or None (an expired one is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not entry.fresh(self._clock()):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    async def put(self, key: str, entry: CacheEntry) -> None:
        """Store `entry`, evicting the least recently used entries beyond the bound."""
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
            self._evicted += 1

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()


def normalize_input(text: str) -> str:
    """`text` with case folded and every run of whitespace made one space."""
    return " ".join(text.casefold().split())


def cache_key(agent: str, agent_version: str, tenant: str, input_text: str) -> str:
    """Key of the cached answer of `agent` at `agent_version` to `input_text` for `tenant`."""
    material = "\x1f".join((agent, agent_version, tenant, normalize_input(input_text)))
    return hashlib.blake2b(material.encode(), digest_size=16).hexdigest()
