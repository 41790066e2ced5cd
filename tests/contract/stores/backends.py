"""Each shared store twice: the in-memory double and the Kafka-backed store.

A contract test asks its backend for replica handles (``async with backend.replica()``)
and calls ``settle`` before reading what another handle wrote. In memory every handle
is the one shared object and ``settle`` does nothing; over Kafka each handle is its own
store on the test's unique topic (a replica process) and ``settle`` waits until every
handle has applied the topic up to its end offsets: a wait on a condition, not a sleep.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import pytest

from agents.cache import CacheStore, LocalCacheStore
from agents.providers.sim import SimConfig, SimProvider
from agents.resilience.breaker import BreakerBoard, LocalBreakerBoard
from streams.broker import ensure_topics
from streams.broker.topics import TopicSpec
from streams.codec import AvroCodec, SchemaSet, default_avro_dir
from streams.settings import Settings
from streams.shared.breakers import KafkaBreakerBoard
from streams.shared.cache import KafkaCacheStore
from streams.shared.policies import LocalPolicyBoard, PolicyBoard, PolicyFollower

__all__ = ["BACKENDS", "Backend", "backend_for"]

T = TypeVar("T")
BACKENDS = ["local", pytest.param("kafka", marks=pytest.mark.integration)]

# The production partition counts (streams/topics.py): one for the breakers (their
# total order decides the probe), several for the cache.
_PARTITIONS = {"cache": 3, "breakers": 1, "policies": 1}


class _Syncable(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def sync(self) -> None: ...


class Backend(Generic[T]):
    """Replica handles of one store kind, and a way to let them catch up."""

    def __init__(
        self,
        kind: str,
        make: Callable[..., Any],
        shared: bool,
        providers: list[SimProvider] | None = None,
    ) -> None:
        self.kind = kind
        self._make = make
        self._shared = shared
        self._local: Any = None
        self.providers = providers if providers is not None else []
        """Policies only: the sim provider of each distinct handle, in creation order."""

    @asynccontextmanager
    async def replica(self, **options: Any) -> AsyncIterator[T]:
        """A handle on the store as one more replica sees it."""
        if self._shared:
            if self._local is None:
                self._local = self._make(**options)
            yield self._local
            return
        store: _Syncable = self._make(**options)
        await store.start()
        try:
            yield store  # type: ignore[misc]
        finally:
            await store.stop()

    @asynccontextmanager
    async def replicas(self, count: int, **options: Any) -> AsyncIterator[list[T]]:
        """``count`` handles started together."""
        async with AsyncExitStack() as stack:
            yield [await stack.enter_async_context(self.replica(**options)) for _ in range(count)]

    async def settle(self, *handles: Any) -> None:
        """Return once every handle has applied everything acknowledged so far."""
        if not self._shared:
            await asyncio.gather(*(h.sync() for h in handles))


def _codec() -> AvroCodec:
    return AvroCodec(SchemaSet.load(default_avro_dir()))


def _local(kind: str) -> Backend[Any]:
    if kind == "cache":
        return Backend(kind, lambda max_entries=10_000: LocalCacheStore(max_entries), True)
    if kind == "breakers":
        return Backend(kind, LocalBreakerBoard, True)
    providers: list[SimProvider] = []

    def make() -> LocalPolicyBoard:
        providers.append(SimProvider(SimConfig()))
        return LocalPolicyBoard(providers[-1])

    return Backend(kind, make, True, providers)


def _kafka(kind: str, bootstrap: str, data_dir: Path) -> Backend[Any]:
    topic = f"contract.{uuid.uuid4().hex[:12]}.{kind}"
    asyncio.run(ensure_topics(bootstrap, [TopicSpec(topic, _PARTITIONS[kind], compacted=True)]))
    settings = Settings(data_dir=data_dir, kafka_bootstrap=bootstrap)
    codec = _codec()
    if kind == "cache":
        return Backend(
            kind,
            lambda max_entries=100_000: KafkaCacheStore(
                settings, codec, topic, role="contract", max_entries=max_entries
            ),
            False,
        )
    if kind == "breakers":
        return Backend(
            kind, lambda: KafkaBreakerBoard(settings, codec, topic, role="contract"), False
        )
    providers: list[SimProvider] = []

    def make_follower() -> PolicyFollower:
        providers.append(SimProvider(SimConfig()))
        return PolicyFollower(settings, codec, topic, providers[-1])

    return Backend(kind, make_follower, False, providers)


def backend_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The fixture body: the backend named by ``request.param`` for store ``kind``."""
    if request.param == "local":
        yield _local(kind)
    else:
        yield _kafka(kind, request.getfixturevalue("kafka_bootstrap"), tmp_path)


# Typed aliases for the tests' annotations.
CacheBackend = Backend[CacheStore]
BreakerBackend = Backend[BreakerBoard]
PolicyBackend = Backend[PolicyBoard]
