"""Agent result cache shared by every replica through the compacted ``cache`` topic."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from agents.cache import CacheEntry
from streams.codec import AvroCodec
from streams.events import envelope, new_trace_id
from streams.settings import Settings
from streams.shared.topic_view import TopicView

__all__ = ["KafkaCacheStore"]


class KafkaCacheStore:
    """A ``CacheStore`` over Kafka: ``put`` produces, every replica's view applies it.

    Memory is bounded: at most ``max_entries`` live entries per process, least
    recently stored dropped first (a dropped entry is a miss, never a wrong hit).
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
    ) -> None:
        self._role = role
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._max = max_entries
        self._view = TopicView(settings, codec, topic, self._apply)

    async def start(self) -> None:
        await self._view.start()

    async def stop(self) -> None:
        await self._view.stop()

    async def sync(self) -> None:
        """Return once every entry acknowledged on the topic so far is visible to ``get``."""
        await self._view.sync()

    def get(self, key: str) -> CacheEntry | None:
        return self._entries.get(key)

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
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
