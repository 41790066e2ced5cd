"""The Python door into agentbus: produce requests, follow their results.

Any Kafka client in any language can do the same with the schemas in ``avro/``;
this one adds ids, trace context and the codec.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.codec import DecodeError
from streams.kafka_options import client_options
from streams.records import request_record
from streams.roles.runtime import Runtime
from streams.shared.topic_view import partitions_of

__all__ = ["AgentbusClient", "ResultFollower", "Submitted"]


@dataclass(frozen=True)
class Submitted:
    """Ids of a produced request: look it up with ``agentbus trace <request_id>``."""

    request_id: str
    trace_id: str


class AgentbusClient:
    """Produces ``AgentRequest`` events to the intake topic. Use ``async with``."""

    def __init__(self, runtime: Runtime, *, producer_role: str = "client") -> None:
        self._runtime = runtime
        self._role = producer_role
        self._producer = AIOKafkaProducer(
            **client_options(runtime.settings), acks="all", linger_ms=5, enable_idempotence=True
        )
        self._started = False

    async def start(self) -> None:
        if not self._started:
            try:
                await self._producer.start()
            except BaseException:
                await self._producer.stop()  # release its connections; the caller reports why
                raise
            self._started = True

    async def stop(self) -> None:
        """Flush what is buffered and close; idempotent."""
        if self._started:
            self._started = False
            await self._producer.stop()

    async def __aenter__(self) -> AgentbusClient:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def submit(
        self,
        text: str,
        *,
        tenant: str = "default",
        target_agent: str | None = None,
        metadata: Mapping[str, str] | None = None,
        request_id: str | None = None,
        session_id: str | None = None,
    ) -> Submitted:
        """Produce one request; returns once the broker has it buffered for sending."""
        value = request_record(
            text,
            producer=self._role,
            tenant=tenant,
            target_agent=target_agent,
            metadata=metadata,
            request_id=request_id,
            session_id=session_id,
        )
        data = self._runtime.codec.encode("AgentRequest", value)
        request_id = str(value["request_id"])
        await self._producer.send(self._runtime.topics.intake, data, key=request_id.encode())
        return Submitted(request_id, str(value["trace_id"]))

    async def send_raw(self, data: bytes, *, key: bytes | None = None) -> None:
        """Produce arbitrary bytes to intake (tests and tooling: bad input must dead-letter)."""
        await self._producer.send(self._runtime.topics.intake, data, key=key)

    async def flush(self) -> None:
        await self._producer.flush()


class ResultFollower:
    """Reads ``AgentResult`` events from the results topic, from the offsets at ``start()``.

    No consumer group: it assigns every partition itself, so it never takes
    work from a real role. Decoding errors are skipped (the sink dead-letters them).
    """

    def __init__(self, runtime: Runtime, *, from_beginning: bool = False) -> None:
        self._runtime = runtime
        self._from_beginning = from_beginning
        self._consumer = AIOKafkaConsumer(
            **client_options(runtime.settings), enable_auto_commit=False, group_id=None
        )

    async def start(self) -> None:
        await self._consumer.start()
        topic = self._runtime.topics.results
        partitions = await partitions_of(self._consumer, topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        if self._from_beginning:
            await self._consumer.seek_to_beginning(*tps)
        else:
            await self._consumer.seek_to_end(*tps)
            for tp in tps:  # resolve the lazy seek now, before anything is submitted
                await self._consumer.position(tp)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def __aenter__(self) -> ResultFollower:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def results(self) -> AsyncIterator[dict[str, Any]]:
        """Decoded results as they arrive (redeliveries included: dedupe by ``event_id``)."""
        while True:
            batch = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                for record in records:
                    if record.value is None:
                        continue
                    try:
                        yield self._runtime.codec.decode_as("AgentResult", record.value)
                    except DecodeError:  # bad events are the sink's to dead-letter
                        continue
