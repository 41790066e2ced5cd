"""`CacheStore` contract: what one replica cached, every replica serves the same way.

Runs against `LocalCacheStore` and `KafkaCacheStore`. A cache hit is reported with the
entry's provider, tier and tool calls, so a replica that loses any field reports a
different hit than the one that stored it.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from agents.cache import CacheEntry
from tests.contract.stores.backends import CacheBackend

# Timestamps to the millisecond: the event carries epoch milliseconds. NOW is taken at
# import, so the TTLs below outlast any test session (a long suite once outlived 60 s).
NOW = round(time.time(), 3)

FULL = CacheEntry(
    output="Réinitialisez le PIN 🔐 dans l'app:\n1. Cartes\n2. PIN\t\u200b(fin)",
    agent="support",
    agent_version="3",
    model="sim-standard",
    stored_at=NOW,
    ttl_s=86_400.5,
    provider="sim",
    tier="standard",
    tool_calls=("lookup_card", "reset_pin"),
)
BARE = CacheEntry(
    output="",
    agent="general",
    agent_version="1",
    model="sim-small",
    stored_at=NOW,
    ttl_s=86_400.0,
)


def entry(output: str, **changes: object) -> CacheEntry:
    return CacheEntry(**{**_fields(FULL), "output": output, **changes})  # type: ignore[arg-type]


def _fields(e: CacheEntry) -> dict[str, object]:
    return {name: getattr(e, name) for name in CacheEntry.__slots__}


@pytest.mark.parametrize("stored", [FULL, BARE], ids=["every-field-set", "optional-fields-empty"])
def test_every_field_round_trips_to_another_replica(
    cache_backend: CacheBackend, stored: CacheEntry
) -> None:
    async def scenario() -> None:
        async with cache_backend.replicas(2) as (writer, reader):
            await writer.put("k-full", stored)
            await cache_backend.settle(writer, reader)

            assert writer.get("k-full") == stored
            assert reader.get("k-full") == stored, "the replica reports a different hit"

    asyncio.run(scenario())


def test_an_unknown_key_is_a_miss(cache_backend: CacheBackend) -> None:
    async def scenario() -> None:
        async with cache_backend.replicas(2) as (writer, reader):
            await writer.put("known", FULL)
            await cache_backend.settle(writer, reader)
            assert reader.get("unknown") is None
            assert writer.get("unknown") is None

    asyncio.run(scenario())


def test_an_expired_entry_is_never_served_as_fresh(cache_backend: CacheBackend) -> None:
    # `get` may hand back an expired entry (the caller checks `fresh`), never a live-looking one.
    async def scenario() -> None:
        async with cache_backend.replicas(2) as (writer, reader):
            now = time.time()
            await writer.put("old", entry("old", stored_at=round(now - 120, 3), ttl_s=60.0))
            await writer.put("live", entry("live", stored_at=round(now, 3), ttl_s=600.0))
            await cache_backend.settle(writer, reader)

            for store in (writer, reader):
                old = store.get("old")
                assert old is None or not old.fresh(time.time())
                live = store.get("live")
                assert live is not None
                assert live.fresh(time.time())
                assert live.expires_at == pytest.approx(round(now, 3) + 600.0)

    asyncio.run(scenario())


def test_a_put_replaces_the_previous_entry_everywhere(cache_backend: CacheBackend) -> None:
    async def scenario() -> None:
        async with cache_backend.replicas(2) as (writer, reader):
            await writer.put("k", entry("first answer", tier="small", tool_calls=("a",)))
            await writer.put("k", entry("second answer", tier=None, tool_calls=()))
            await cache_backend.settle(writer, reader)

            expected = entry("second answer", tier=None, tool_calls=())
            assert writer.get("k") == expected
            assert reader.get("k") == expected

    asyncio.run(scenario())


def test_a_replica_started_later_sees_earlier_entries(cache_backend: CacheBackend) -> None:
    async def scenario() -> None:
        async with cache_backend.replica() as writer:
            for i in range(20):
                await writer.put(f"k{i}", entry(f"answer {i}"))
            async with cache_backend.replica() as late:
                # No settle: a replica is caught up with the log when it starts.
                assert [late.get(f"k{i}") for i in range(20)] == [
                    entry(f"answer {i}") for i in range(20)
                ]

    asyncio.run(scenario())


def test_a_replica_writing_back_sees_the_other_replicas_answer(
    cache_backend: CacheBackend,
) -> None:
    # Two replicas store under different keys; each serves the other's answer.
    async def scenario() -> None:
        async with cache_backend.replicas(2) as (a, b):
            await asyncio.gather(a.put("from-a", entry("A")), b.put("from-b", entry("B")))
            await cache_backend.settle(a, b)
            for store in (a, b):
                assert store.get("from-a") == entry("A")
                assert store.get("from-b") == entry("B")

    asyncio.run(scenario())


def test_the_store_keeps_at_most_max_entries_dropping_the_oldest(
    cache_backend: CacheBackend,
) -> None:
    # A dropped entry is a miss (the model is asked again), never a wrong hit.
    async def scenario() -> None:
        async with cache_backend.replicas(2, max_entries=2) as (writer, reader):
            for key in ("a", "b", "c"):
                await writer.put(key, entry(key.upper()))
            await cache_backend.settle(writer, reader)

            for store in (writer, reader):
                assert store.get("a") is None
                assert store.get("b") == entry("B")
                assert store.get("c") == entry("C")

    asyncio.run(scenario())
