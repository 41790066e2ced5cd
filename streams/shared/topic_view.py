"""Follow a whole topic in every process: the shared-state primitive (like a Faust GlobalTable)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from streams.codec import AvroCodec, DecodeError
from streams.kafka_options import client_options
from streams.settings import Settings

__all__ = ["TopicView", "log_reader", "partitions_of"]

log = logging.getLogger("agentbus.shared")

Apply = Callable[[str, dict[str, Any], int], None]
"""Called for each decoded record: (record name, value, offset)."""


def log_reader(settings: Settings, **options: Any) -> AIOKafkaConsumer:
    """A group-less consumer for reading a log from its beginning: it assigns partitions
    itself, commits nothing and never takes work from a role's group.

    ``auto_offset_reset="earliest"``: aiokafka's default, "latest", may reset a freshly
    assigned partition to its end before a ``seek_to_beginning`` lands, and then nothing
    is read (a clean CI run once saw replay read 0 events).
    """
    return AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **options,
    )


async def partitions_of(consumer: AIOKafkaConsumer, topic: str, wait_s: float = 30.0) -> set[int]:
    """Partitions of ``topic``, refreshing metadata until it shows (a topic created a
    moment ago may not be in the client's metadata yet)."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        # aiokafka has no public refresh: topics() fetches metadata without storing it.
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return set(partitions)
        if asyncio.get_running_loop().time() > deadline:
            raise KafkaError(f"topic {topic} does not exist (run `agentbus up`)")
        await asyncio.sleep(0.2)


class TopicView:
    """Reads ``topic`` from the beginning without a consumer group and applies every
    record, in order, to ``apply``; then keeps following it. Also produces to it.

    ``start()`` returns once the view has caught up with the end offsets seen at
    start, so a replica never acts on state older than the log when it starts.
    """

    def __init__(self, settings: Settings, codec: AvroCodec, topic: str, apply: Apply) -> None:
        self.topic = topic
        self._codec = codec
        self._apply = apply
        self._settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()
        self._positions: dict[int, int] = {}
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []

    async def start(self) -> None:
        if self._task is not None:
            return
        self._consumer = log_reader(self._settings, fetch_max_wait_ms=50)
        self._producer = AIOKafkaProducer(**client_options(self._settings), acks="all", linger_ms=0)
        await self._consumer.start()
        await self._producer.start()
        partitions = await partitions_of(self._consumer, self.topic)
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)
        ends = await self._consumer.end_offsets(tps)
        self._task = asyncio.create_task(
            self._follow({tp.partition: end for tp, end in ends.items()})
        )
        await self._caught_up.wait()

    async def stop(self) -> None:
        """Idempotent."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(
        self, key: str, record: str, value: dict[str, Any], *, wait_applied: bool = False
    ) -> int:
        """Produce a record; with ``wait_applied`` return only once this view has applied it
        (and so everything before it in its partition). Returns its offset."""
        assert self._producer is not None, "TopicView.send before start()"
        metadata = await (
            await self._producer.send(
                self.topic, self._codec.encode(record, value), key=key.encode()
            )
        )
        if wait_applied:
            await self.wait_applied(metadata.partition, metadata.offset)
        return int(metadata.offset)

    async def sync(self) -> None:
        """Return once this view has applied every record the topic held when called.

        What a replica awaits to see another replica's acknowledged writes; no polling.
        """
        assert self._consumer is not None, "TopicView.sync before start()"
        ends = await self._consumer.end_offsets(list(self._consumer.assignment()))
        for tp, end in ends.items():
            if end > 0:
                await self.wait_applied(tp.partition, end - 1)

    async def wait_applied(self, partition: int, offset: int) -> None:
        """Return once this view has applied the record at ``offset`` of ``partition``."""
        if self._positions.get(partition, 0) > offset:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((partition, offset, future))
        await future

    async def _follow(self, ends: dict[int, int]) -> None:
        assert self._consumer is not None
        if all(end == 0 for end in ends.values()):
            self._caught_up.set()
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=1000)
            for tp, records in batches.items():
                for record in records:
                    self._apply_one(record)
                    self._positions[tp.partition] = record.offset + 1
            if not self._caught_up.is_set() and all(
                self._positions.get(p, 0) >= end for p, end in ends.items() if end > 0
            ):
                self._caught_up.set()
            self._wake_waiters()

    def _apply_one(self, record: Any) -> None:
        if record.value is None:
            return  # a tombstone: compaction will drop the key
        try:
            decoded = self._codec.decode(record.value)
        except DecodeError as exc:
            log.error("skipping undecodable record on %s@%d: %s", self.topic, record.offset, exc)
            return
        self._apply(decoded.name, decoded.value, record.offset)

    def _wake_waiters(self) -> None:
        still = []
        for partition, offset, future in self._waiters:
            if self._positions.get(partition, 0) > offset:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((partition, offset, future))
        self._waiters = still
