"""The ClickHouse sink: every event topic lands in its table, in batches.

Offsets are committed only after the batch's rows are in ClickHouse; if the
insert fails the sink logs one line, waits and tries the same batch again, so
the consumer stops pulling (bounded by Faust's stream buffer) instead of
losing events. A failure that will not pass halts the worker with the batch
unacked. While it runs, the sink owns an embedded store and serves the
query gateway for ``agentbus sql`` and ``agentbus trace``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from mode import Service

from streams.codec import DecodeError, default_avro_dir
from streams.roles.errors import RoleHalted
from streams.roles.messages import Emit, KafkaMessage, where
from streams.roles.runtime import (
    DeadLetters,
    FaustSender,
    RoleStats,
    Runtime,
    halt_process,
    raw_topic,
    read_event,
)
from streams.warehouse import Warehouse, WarehouseError
from streams.warehouse.gateway import GatewayOptions, GatewayServer
from streams.warehouse.writer import EventWriter, record_columns

__all__ = ["Sink", "register_sink"]

log = logging.getLogger("agentbus.sink")

ROLE = "sink"
# A store back from an outage is written to within this long.
_RETRY_MAX_S = 5.0


class Sink:
    """The sink's decisions: which table each event lands in, and the dead letters of
    events that cannot be read. No I/O."""

    def __init__(self, runtime: Runtime, stats: RoleStats) -> None:
        topics = runtime.topics
        self._codec = runtime.codec
        self._intake = topics.intake
        self.expected = {
            topics.intake: "AgentRequest",
            topics.results: "AgentResult",
            topics.invocations: "Invocation",
            topics.deadletter: "DeadLetter",
            topics.breakers: "BreakerEvent",
            topics.policies: "Policy",
            topics.workflow: "WorkflowEvent",
            topics.replies: "AgentResult",
            topics.capabilities: "Capability",
            **{name: "AgentTask" for name in topics.all_tasks()},
        }
        # A step's result is an AgentResult on `replies`; its rows go to step_results.
        self.row_record = {topics.replies: "StepResult"}
        self.dead = DeadLetters(runtime, ROLE, stats)

    def rows(
        self, messages: list[KafkaMessage]
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[Emit]]:
        """The rows to insert and the dead letters of the messages that cannot be read."""
        rows: list[tuple[str, dict[str, Any]]] = []
        letters: list[Emit] = []
        for message in messages:
            want = self.expected[message.topic]
            try:
                value = read_event(self._codec, message, want)
                rows.append((self.row_record.get(message.topic, want), value))
            except DecodeError as exc:
                # The router owns intake and dead-letters its bad input; dead-lettering
                # it here too would count every bad request twice.
                if message.topic != self._intake:
                    letters.append(
                        self.dead.letter(message, reason=str(exc), error_type=exc.error_type)
                    )
        return rows, letters


def register_sink(app: faust.App, runtime: Runtime, warehouse: Warehouse) -> RoleStats:
    """Add the sink agent (and, for an embedded store, its gateway) to ``app``."""
    settings = runtime.settings
    stats = RoleStats()
    writer = EventWriter(warehouse, record_columns(default_avro_dir()))
    sink = Sink(runtime, stats)
    source = raw_topic(app, *sink.expected)
    sender = FaustSender(app, ROLE, stats)

    async def write(rows: list[tuple[str, dict[str, Any]]]) -> None:
        """Insert ``rows``, waiting out a store that is away (the batch is the buffer:
        nothing more is consumed meanwhile); a store that refuses for good halts."""
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(writer.write, rows)
            except WarehouseError as exc:
                if not exc.retriable:
                    raise
                log.error("ClickHouse insert failed, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)
            else:
                return

    async def take(manual: Any) -> None:
        async for events in manual.take_events(
            settings.sink_batch_size, within=settings.sink_flush_seconds
        ):
            messages = [event.message for event in events]
            stats.consumed += len(events)
            try:
                rows, letters = sink.rows(messages)
                await write(rows)
                for letter in letters:
                    await sender.send(letter)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  # the batch cannot land: halt, unacked
                halt_process(RoleHalted(ROLE, where(messages[0]), exc))
            stats.produced += len(rows)
            for event in events:
                await manual.ack(event)

    @app.agent(source, name=ROLE)
    async def run(stream: Any) -> None:  # a faust.Stream; StreamT lacks take_events
        try:
            await take(stream.noack())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  # never a crashed agent in a live process
            halt_process(RoleHalted(ROLE, "its event loop", exc))

    if warehouse.embedded:
        gateway = GatewayServer(
            warehouse, settings.data_dir, options=GatewayOptions.from_settings(settings)
        )

        @app.service
        class QueryGateway(Service):
            """Serves SQL for other processes while this one owns the embedded store."""

            async def on_start(self) -> None:
                await gateway.start()
                log.info("query gateway on %s for %s", gateway.url, warehouse.dsn)

            async def on_stop(self) -> None:
                await gateway.stop()

    return stats
