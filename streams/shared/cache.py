"""Agent result cache shared by every replica through the compacted ``cache`` topic."""

from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from agents.cache import CacheEntry
from streams.codec import AvroCodec
from streams.events import envelope, new_trace_id
from streams.settings import Settings
from streams.shared.topic_view import TopicView

__all__ = ["KafkaCacheStore", "entry_size"]

# Python's own cost of an entry beyond its strings: the CacheEntry (slots), its
# tool-call tuple, the dict slot and OrderedDict link, and the key object.
_ENTRY_OVERHEAD = 400


def entry_size(key: str, entry: CacheEntry) -> int:
    """Bytes an entry holds in this process, close enough to bound memory by."""
    strings = (key, entry.output, entry.agent, entry.agent_version, entry.model)
    size = _ENTRY_OVERHEAD + sum(sys.getsizeof(text) for text in strings)
    return size + sum(sys.getsizeof(call) for call in entry.tool_calls)


class KafkaCacheStore:
    """A ``CacheStore`` over Kafka: ``put`` produces, every replica's view applies it.

    Memory is bounded: at most ``max_entries`` entries and ``max_bytes`` (default
    ``Settings.cache_max_bytes``) per process, least recently stored dropped first,
    and expired entries are dropped as they reach the front or when read (a dropped
    entry is a miss, never a wrong hit). Every replica follows the whole topic, so
    without a byte bound the view grows with the outputs every agent caches.
    Every field of ``CacheEntry`` travels, so each replica reports a hit the same
    way; ``stored_at`` is kept to the millisecond (the event's ``stored_at_ms``).
    """

    def __init__(
        self,
        settings: Settings,
        codec: AvroCodec,
        topic: str,
        *,
        role: str,
        max_entries: int = 100_000,
        max_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._role = role
        # key -> (entry, its size in bytes), least recently stored first.
        self._entries: OrderedDict[str, tuple[CacheEntry, int]] = OrderedDict()
        self._max = max_entries
        self._max_bytes = settings.cache_max_bytes if max_bytes is None else max_bytes
        self._bytes = 0
        self._clock = clock
        self._view = TopicView(settings, codec, topic, self._apply)

    async def start(self) -> None:
        await self._view.start()

    async def stop(self) -> None:
        await self._view.stop()

    async def sync(self) -> None:
        """Return once every entry acknowledged on the topic so far is visible to ``get``."""
        await self._view.sync()

    @property
    def size_bytes(self) -> int:
        """Bytes held by the entries kept (as :func:`entry_size` counts them)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> CacheEntry | None:
        kept = self._entries.get(key)
        if kept is None:
            return None
        if not kept[0].fresh(self._clock()):
            self._drop(key)
            return None
        return kept[0]

    async def put(self, key: str, entry: CacheEntry) -> None:
        self._store(key, entry)
        value = {
            **envelope(producer=self._role, trace_id=new_trace_id(), parent_span_id=None),
            "key": key,
            "agent": entry.agent,
            "agent_version": entry.agent_version,
            "model": entry.model,
            "output": entry.output,
            "stored_at_ms": round(entry.stored_at * 1000),
            "ttl_s": entry.ttl_s,
            "request_id": None,
            "provider": entry.provider,
            "tier": entry.tier,
            "tool_calls": list(entry.tool_calls),
        }
        await self._view.send(key, "CacheEntry", value)

    def _apply(self, record: str, value: dict[str, Any], offset: int) -> None:
        if record != "CacheEntry":
            return
        self._store(
            value["key"],
            CacheEntry(
                agent=value["agent"],
                agent_version=value["agent_version"],
                model=value["model"],
                output=value["output"],
                stored_at=value["stored_at_ms"] / 1000,
                ttl_s=value["ttl_s"],
                provider=value["provider"],
                tier=value["tier"],
                tool_calls=tuple(value["tool_calls"]),
            ),
        )

    def _store(self, key: str, entry: CacheEntry) -> None:
        if key in self._entries:
            self._drop(key)
        size = entry_size(key, entry)
        self._entries[key] = (entry, size)
        self._bytes += size
        now = self._clock()
        # The front is the least recently stored: drop it while expired or over a bound
        # (an entry larger than the byte bound on its own is not kept at all).
        while self._entries:
            oldest, (first, _) = next(iter(self._entries.items()))
            over = len(self._entries) > self._max or self._bytes > self._max_bytes
            if not over and first.fresh(now):
                break
            self._drop(oldest)

    def _drop(self, key: str) -> None:
        _, size = self._entries.pop(key)
        self._bytes -= size
