"""Requests at a steady rate, with odd and garbage events mixed into the intake topic.

Each request is encoded once and, if its delivery fails (the broker restarts),
sent again as the same bytes: a retried request keeps its ``event_id``, so any
second outcome found later is the system's doing, not the client's. The events
are built field for field as :meth:`streams.client.AgentbusClient.submit` builds
them; raw aiokafka is used because ``AgentbusClient`` does not hand back the
delivery future (partition, offset, failure) a ledger needs.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from agents.reference import reference_workload
from streams.events import envelope, new_id, new_trace_id
from streams.kafka_options import client_options
from streams.roles.runtime import Runtime

__all__ = ["ODD_KINDS", "Ledger", "Sent", "Traffic"]

log = logging.getLogger("chaos.traffic")

# Odd kind -> the dead letter's error_type it must end as (None: an ordinary
# outcome, a result or a dead letter, exactly one like any request).
ODD_KINDS: dict[str, str | None] = {
    "garbage": "not_avro",
    "empty_value": "not_avro",
    "oversized": "too_large",
    "unknown_agent": "unknown_agent",
    "control_chars": None,
    "odd_request_id": None,
}
_OVERSIZED_FIRST = 1_500_000  # above the broker's message.max.bytes (1 MiB) by default
_OVERSIZED_FALLBACK = 900_000  # below it, above the router's intake_max_bytes
_CONTROL = "\x00\x01\x07\x08\x0b\x0c\x1b[31m\x7f\u2028\u202e\ufeff\r\n\t"
_SEND_ATTEMPTS = 8


@dataclass
class Sent:
    """One event produced to intake, and what it must become."""

    kind: str  # "request" or one of ODD_KINDS
    request_id: str | None
    expect: str | None  # required dead-letter error_type, None: any single outcome
    size: int
    partition: int | None = None
    offset: int | None = None
    attempts: int = 0
    note: str = ""


@dataclass
class Ledger:
    sent: list[Sent]

    def request_ids(self) -> list[str]:
        return [s.request_id for s in self.sent if s.request_id is not None]

    def odd(self) -> list[Sent]:
        return [s for s in self.sent if s.kind != "request"]

    def undelivered(self) -> list[Sent]:
        return [s for s in self.sent if s.offset is None]


def request_value(
    *,
    request_id: str,
    text: str,
    tenant: str,
    target_agent: str | None,
    metadata: dict[str, str],
    producer: str,
) -> dict[str, Any]:
    """An ``AgentRequest`` value as ``AgentbusClient.submit`` builds it."""
    return {
        **envelope(producer=producer, trace_id=new_trace_id(), parent_span_id=None),
        "request_id": request_id,
        "tenant": tenant,
        "input": text,
        "target_agent": target_agent,
        "metadata": metadata,
        "session_id": None,
    }


class Traffic:
    """Produces requests and odd events to one deployment's intake topic."""

    def __init__(self, runtime: Runtime, *, seed: int = 11, producer: str = "chaos") -> None:
        self._runtime = runtime
        self._rng = random.Random(seed)
        self._seed = seed
        self._producer_name = producer
        options = client_options(runtime.settings)
        self._producer = AIOKafkaProducer(
            **options, acks="all", linger_ms=5, enable_idempotence=True
        )
        # Odd events may be larger than a client would ever send: let the broker judge.
        self._odd = AIOKafkaProducer(**options, acks="all", max_request_size=2_000_000)
        self._deliveries: set[asyncio.Task[None]] = set()
        self.ledger = Ledger([])

    async def __aenter__(self) -> Traffic:
        await self._producer.start()
        try:
            await self._odd.start()
        except BaseException:
            await self._producer.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.drain()
        await self._odd.stop()
        await self._producer.stop()

    # -- sending ------------------------------------------------------------------------

    def _encode_request(self, **fields: Any) -> bytes:
        return self._runtime.codec.encode(
            "AgentRequest", request_value(producer=self._producer_name, **fields)
        )

    async def _deliver(
        self, producer: AIOKafkaProducer, sent: Sent, data: bytes | None, key: bytes | None
    ) -> None:
        topic = self._runtime.topics.intake
        while True:
            sent.attempts += 1
            try:
                future = await producer.send(topic, data, key=key)
                metadata = await future
            except KafkaError as exc:
                if sent.attempts >= _SEND_ATTEMPTS:
                    sent.note = f"undelivered after {sent.attempts} attempts: {exc!r}"
                    log.error("%s %s", sent.request_id or sent.kind, sent.note)
                    return
                await asyncio.sleep(min(0.5 * sent.attempts, 5.0))
            else:
                sent.partition, sent.offset = metadata.partition, metadata.offset
                return

    def _spawn_delivery(
        self, producer: AIOKafkaProducer, sent: Sent, data: bytes | None, key: bytes | None
    ) -> None:
        self.ledger.sent.append(sent)
        task = asyncio.create_task(self._deliver(producer, sent, data, key))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def drain(self) -> None:
        """Wait until every event is delivered or given up."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries))

    async def send_request(self, item: dict[str, Any]) -> None:
        request_id = new_id()
        data = self._encode_request(
            request_id=request_id,
            text=item["input"],
            tenant=item["tenant"],
            target_agent=item["target_agent"],
            metadata=item["metadata"],
        )
        sent = Sent("request", request_id, None, len(data))
        self._spawn_delivery(self._producer, sent, data, request_id.encode())

    async def send_odd(self, kind: str, n: int) -> None:
        expect = ODD_KINDS[kind]
        if kind == "garbage":
            # Not 0x00 (Confluent framing) nor C3 01 (single-object): plain garbage.
            data = b"\xffgarbage" + os.urandom(self._rng.randint(1, 200))
            self._spawn_delivery(self._odd, Sent(kind, None, expect, len(data)), data, None)
            return
        if kind == "empty_value":
            sent = Sent(kind, None, expect, 0)
            self._spawn_delivery(self._odd, sent, None, f"odd-empty-{n}".encode())
            return
        if kind == "oversized":
            await self._send_oversized(n)
            return
        request_id = new_id()
        fields: dict[str, Any] = {
            "request_id": request_id,
            "text": f"card refund please #{n}",
            "tenant": "chaos-odd",
            "target_agent": None,
            "metadata": {"odd": kind},
        }
        if kind == "unknown_agent":
            fields["target_agent"] = "astrology"
        elif kind == "control_chars":
            fields["text"] = f"refund{_CONTROL}my card {n}{_CONTROL}"
            fields["metadata"] = {"odd": kind, "ctl\x01key": "v\x00al"}
        elif kind == "odd_request_id":
            request_id = f"odd id ☃/{n}:\t'\"; DROP TABLE results;--"
            fields["request_id"] = request_id
        data = self._encode_request(**fields)
        self._spawn_delivery(
            self._odd, Sent(kind, request_id, expect, len(data)), data, request_id.encode()
        )

    async def _send_oversized(self, n: int) -> None:
        """1.5 MB if the broker takes it, else a ~900 KB request it does take."""
        topic = self._runtime.topics.intake
        note = ""
        for size in (_OVERSIZED_FIRST, _OVERSIZED_FALLBACK):
            request_id = new_id()
            data = self._encode_request(
                request_id=request_id,
                text="refund " + "x" * size,
                tenant="chaos-odd",
                target_agent=None,
                metadata={"odd": "oversized"},
            )
            sent = Sent("oversized", request_id, "too_large", len(data), note=note)
            try:
                future = await self._odd.send(topic, data, key=request_id.encode())
                metadata = await future
            except KafkaError as exc:
                note = f"{len(data)} bytes refused by the broker ({type(exc).__name__}); "
                continue
            sent.partition, sent.offset, sent.attempts = metadata.partition, metadata.offset, 1
            self.ledger.sent.append(sent)
            return
        log.error("no oversized request was accepted: %s", note)

    async def run(
        self, count: int, rate: float, *, odd_share: float = 0.01, deadline_s: float = 3600.0
    ) -> None:
        """``count`` requests at ``rate`` per second, odd events spread among them."""
        kinds = list(ODD_KINDS)
        odd_count = max(len(kinds), round(odd_share * count)) if odd_share > 0 else 0
        odd_at: dict[int, list[str]] = {}
        for kind in itertools.islice(itertools.cycle(kinds), odd_count):
            odd_at.setdefault(self._rng.randrange(count), []).append(kind)
        workload = reference_workload(min(count, 5000), seed=self._seed)
        started = time.monotonic()
        n_odd = 0
        for i in range(count):
            # Pacing, not waiting on a condition: the offered load is the experiment.
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.monotonic() - started > deadline_s:
                log.error("submission deadline reached after %d of %d requests", i, count)
                break
            await self.send_request(workload[i % len(workload)])
            for kind in odd_at.get(i, []):
                n_odd += 1
                await self.send_odd(kind, n_odd)
        await self.drain()
