"""The ClickHouse sink: every event topic lands in its table, in batches.

Offsets are committed only after the batch's rows are in ClickHouse; if the
insert fails the sink logs one line, waits and tries the same batch again, so
the consumer stops pulling (bounded by Faust's stream buffer) instead of
losing events. While it runs, the sink owns an embedded store and serves the
query gateway for ``agentbus sql`` and ``agentbus trace``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from mode import Service

from streams.codec import DecodeError, default_avro_dir
from streams.roles.runtime import DeadLetterSink, RoleStats, Runtime, raw_topic
from streams.warehouse import Warehouse, WarehouseError
from streams.warehouse.gateway import GatewayServer
from streams.warehouse.writer import EventWriter, record_columns

__all__ = ["register_sink"]

log = logging.getLogger("agentbus.sink")

ROLE = "sink"
_RETRY_MAX_S = 30.0


def register_sink(app: faust.App, runtime: Runtime, warehouse: Warehouse) -> RoleStats:
    """Add the sink agent (and, for an embedded store, its gateway) to ``app``."""
    settings = runtime.settings
    topics = runtime.topics
    stats = RoleStats()
    writer = EventWriter(warehouse, record_columns(default_avro_dir()))
    expected = {
        topics.intake: "AgentRequest",
        topics.results: "AgentResult",
        topics.invocations: "Invocation",
        topics.deadletter: "DeadLetter",
        topics.breakers: "BreakerEvent",
        topics.policies: "Policy",
        **{name: "AgentTask" for name in topics.all_tasks()},
    }
    source = raw_topic(app, *expected)
    dead = DeadLetterSink(runtime, raw_topic(app, topics.deadletter), ROLE, stats)

    async def decode(message: Any) -> tuple[str, dict[str, Any]] | None:
        want = expected[message.topic]
        try:
            if not isinstance(message.value, bytes):
                raise DecodeError("empty value (tombstone)", "not_avro")  # noqa: TRY301  # same path as any undecodable value
            return want, runtime.codec.decode_as(want, message.value)
        except DecodeError as exc:
            # The router owns intake and dead-letters its bad input; dead-lettering
            # it here too would count every bad request twice.
            if message.topic != topics.intake:
                await dead.send(message, reason=str(exc), error_type=exc.error_type)
            return None

    async def write(rows: list[tuple[str, dict[str, Any]]]) -> None:
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(writer.write, rows)
            except WarehouseError as exc:
                log.error("ClickHouse insert failed, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)
            else:
                return

    @app.agent(source, name=ROLE)
    async def sink(stream: Any) -> None:  # a faust.Stream; StreamT lacks take_events
        async for events in stream.take_events(
            settings.sink_batch_size, within=settings.sink_flush_seconds
        ):
            rows = []
            for event in events:
                decoded = await decode(event.message)
                if decoded is not None:
                    rows.append(decoded)
            stats.consumed += len(events)
            await write(rows)
            stats.produced += len(rows)

    if warehouse.embedded:
        gateway = GatewayServer(warehouse, settings.data_dir)

        @app.service
        class QueryGateway(Service):
            """Serves SQL for other processes while this one owns the embedded store."""

            async def on_start(self) -> None:
                await gateway.start()
                log.info("query gateway on %s for %s", gateway.url, warehouse.dsn)

            async def on_stop(self) -> None:
                await gateway.stop()

    return stats
