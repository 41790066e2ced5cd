"""The orchestrator role: runs a system's pipelines, DAG workflows and meshes.

It reads requests the router forwards (``flows``) and step results (``replies``),
and writes ``WorkflowEvent``s (``workflow``), step tasks (``tasks.<agent>``) and one
final ``AgentResult`` per request (``results``). Its outputs and consumed offsets
always commit together in Kafka transactions, and at start it folds the
``workflow`` topic (read committed) back into its state: after a SIGKILL nothing it
decided is half-sent, and no completed step runs again. :class:`OrchestratorRole`
decides without Faust (through :class:`streams.flows.Orchestrator`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from typing import Any

import faust
from aiokafka import TopicPartition
from mode import Service

from streams.codec import DecodeError
from streams.flows import Decision, Orchestrator
from streams.roles.errors import EventFailed, RoleHalted
from streams.roles.messages import Emit, KafkaMessage, RequestIds
from streams.roles.runtime import (
    DeadLetters,
    FaustSender,
    RoleStats,
    Runtime,
    consume_in_order,
    halt_process,
    raw_topic,
    read_event,
)
from streams.shared.capabilities import CapabilityRegistry
from streams.shared.topic_view import log_reader, partitions_of

__all__ = ["ROLE", "OrchestratorRole", "register_orchestrator", "restore_from_log"]

log = logging.getLogger("agentbus.orchestrator")

ROLE = "orchestrator"
# Decisions are CPU-light; blocked pipeline entries hold a slot while they wait.
_IN_FLIGHT = 1000
_TICK_S = 0.5
# Step tasks become visible to the specialists (read_committed) when their transaction
# commits: every step waits up to this long. 0.2 s (the exactly_once default) added
# ~190 ms per pipeline stage in bench.stage_bench; a commit costs a few ms.
_COMMIT_S = 0.03


class OrchestratorRole:
    """Consumed messages → the events they end as (no I/O)."""

    def __init__(self, runtime: Runtime, stats: RoleStats, engine: Orchestrator) -> None:
        self._runtime = runtime
        self._codec = runtime.codec
        self.engine = engine
        self.dead = DeadLetters(runtime, ROLE, stats)

    def on_request(self, message: KafkaMessage) -> list[Emit] | None:
        """A forwarded request's outputs; None while its pipeline has no room."""
        try:
            request = read_event(self._codec, message, "AgentRequest", on="flows")
        except DecodeError as exc:
            return [self.dead.letter(message, reason=str(exc), error_type=exc.error_type)]
        ids = RequestIds.of(request)
        if not self.engine.handles(request.get("target_agent")):
            reason = f"no pipeline, workflow or mesh named {request.get('target_agent')!r}"
            return [self.dead.letter(message, reason=reason, error_type="unknown_agent", ids=ids)]
        try:
            decision = self.engine.start(request, partition=message.partition)
        except Exception as exc:
            raise EventFailed(exc, ids) from exc
        if decision.blocked:
            return None
        return self.emits(decision, message, ids)

    def on_reply(self, message: KafkaMessage) -> list[Emit]:
        try:
            result = read_event(self._codec, message, "AgentResult", on="replies")
        except DecodeError as exc:
            return [self.dead.letter(message, reason=str(exc), error_type=exc.error_type)]
        ids = RequestIds.of(result)
        try:
            return self.emits(self.engine.on_reply(result), message, ids)
        except Exception as exc:
            raise EventFailed(exc, ids) from exc

    def on_tick(self, now_ms: int) -> list[Emit]:
        return self.emits(self.engine.tick(now_ms))

    def emits(
        self,
        decision: Decision,
        message: KafkaMessage | None = None,
        ids: RequestIds | None = None,
    ) -> list[Emit]:
        topics, encode = self._runtime.topics, self._codec.encode
        out = [
            Emit(topics.workflow, key(e), encode("WorkflowEvent", e), "WorkflowEvent")
            for e in decision.events
        ]
        out += [
            Emit(topics.tasks(t["agent"]), key(t), encode("AgentTask", t), "AgentTask")
            for t in decision.tasks
        ]
        out += [
            Emit(topics.results, key(r), encode("AgentResult", r), "AgentResult")
            for r in decision.results
        ]
        if message is not None:
            for request_id, error_type, reason in decision.letters:
                letter_ids = ids if ids and ids.request_id == request_id else None
                out.append(
                    self.dead.letter(
                        message,
                        reason=reason,
                        error_type=error_type,
                        ids=letter_ids,
                        discriminator=f"{request_id}/{error_type}",
                    )
                )
        return out


def key(record: dict[str, Any]) -> bytes:
    return str(record["request_id"]).encode()


async def restore_from_log(
    runtime: Runtime, engine: Orchestrator, partitions: set[int] | None = None
) -> int:
    """Fold every committed ``WorkflowEvent`` of ``partitions`` (all when None) into
    ``engine``; returns events read."""
    consumer = log_reader(runtime.settings, isolation_level="read_committed")
    await consumer.start()
    count = 0
    try:
        topic = runtime.topics.workflow
        every = await partitions_of(consumer, topic)
        wanted = every if partitions is None else every & partitions
        tps = [TopicPartition(topic, p) for p in sorted(wanted)]
        if not tps:
            return 0
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        # Under read_committed these are the last stable offsets: an open transaction
        # of a crashed orchestrator is waited out by the broker, not read.
        ends = {tp: end for tp, end in (await consumer.end_offsets(tps)).items() if end > 0}
        while ends:
            batches = await consumer.getmany(*ends, timeout_ms=500, max_records=5000)
            for tp, records in batches.items():
                for record in records:
                    if record.value:
                        try:
                            decoded = runtime.codec.decode_as("WorkflowEvent", record.value)
                        except DecodeError as exc:
                            log.error(
                                "skipping undecodable workflow event %s@%d: %s",
                                tp,
                                record.offset,
                                exc,
                            )
                            continue
                        engine.restore(decoded, partition=tp.partition)
                        count += 1
            for tp in list(ends):
                if await consumer.position(tp) >= ends[tp]:
                    del ends[tp]
    finally:
        await consumer.stop()
    return count


class Ownership:
    """Which partitions' workflows this replica holds in memory.

    Every event of a workflow is keyed by its request id, so partition ``p`` of
    ``flows`` and ``replies`` carries the same workflows as partition ``p`` of
    ``workflow``. Before deciding on an input from a partition it has not folded yet
    (at start, after a rebalance), the replica folds that partition of the log; a
    partition that moved to another replica is forgotten.
    """

    def __init__(
        self, app: Any, runtime: Runtime, engine: Orchestrator, registry: CapabilityRegistry
    ) -> None:
        self._app = app
        self._runtime = runtime
        self._engine = engine
        self._registry = registry
        self._inputs = {runtime.topics.flows, runtime.topics.replies}
        self._lock = asyncio.Lock()
        self.restored: set[int] = set()

    def let_go(self) -> None:
        assigned = {
            tp.partition for tp in self._app.consumer.assignment() if tp.topic in self._inputs
        }
        for gone in self.restored - assigned:
            self.restored.discard(gone)
            dropped = self._engine.forget(gone)
            log.info("partition %d moved away: %d workflow(s) let go", gone, dropped)

    async def owned(self, partition: int) -> None:
        """Return once ``partition``'s running workflows are folded back from the log."""
        if partition in self.restored:
            return
        async with self._lock:
            if partition in self.restored:
                return
            begun = time.perf_counter()
            try:
                await self._registry.start()
                self.let_go()
                self._engine.forget(partition)
                events = await restore_from_log(self._runtime, self._engine, {partition})
            except Exception as exc:  # noqa: BLE001  # without its state it must not decide
                halt_process(RoleHalted(ROLE, f"restoring partition {partition}", exc))
            self.restored.add(partition)
            running = sum(1 for s in self._engine.open.values() if s.partition == partition)
            log.info(
                "orchestrator took partition %d: %d running workflow(s) resumed from %d "
                "event(s) in %.1fs",
                partition,
                running,
                events,
                time.perf_counter() - begun,
            )


def register_orchestrator(app: faust.App, runtime: Runtime) -> RoleStats:
    """Add the orchestrator's agents (requests, step results) and deadline timer."""
    stats = RoleStats()
    producer = f"{ROLE}@{socket.gethostname()}:{os.getpid()}"
    registry = CapabilityRegistry(runtime, list(runtime.system.meshes), producer=producer)
    engine = Orchestrator(runtime.system, producer=producer, resolve=registry.resolve)
    role = OrchestratorRole(runtime, stats, engine)
    changed = asyncio.Event()
    ownership = Ownership(app, runtime, engine, registry)

    async def on_request(message: KafkaMessage) -> list[Emit]:
        await ownership.owned(message.partition)
        while True:
            emits = role.on_request(message)
            if emits is not None:
                return emits
            # Its pipeline is full (block): wait until a result frees room.
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=_TICK_S)

    async def on_reply(message: KafkaMessage) -> list[Emit]:
        await ownership.owned(message.partition)
        emits = role.on_reply(message)
        changed.set()
        return emits

    @app.agent(raw_topic(app, runtime.topics.flows), name=f"{ROLE}-requests")
    async def requests(stream: Any) -> None:
        await consume_in_order(
            app,
            runtime,
            stream,
            on_request,
            role.dead,
            stats,
            limit=_IN_FLIGHT,
            transactional=True,
            name=f"{ROLE}-requests",
            commit_interval_s=_COMMIT_S,
        )

    @app.agent(raw_topic(app, runtime.topics.replies), name=f"{ROLE}-replies")
    async def replies(stream: Any) -> None:
        await consume_in_order(
            app,
            runtime,
            stream,
            on_reply,
            role.dead,
            stats,
            limit=_IN_FLIGHT,
            transactional=True,
            name=f"{ROLE}-replies",
            commit_interval_s=_COMMIT_S,
        )

    sender = FaustSender(app, ROLE, stats)

    @app.timer(_TICK_S)  # type: ignore[untyped-decorator]  # faust.App.timer is untyped
    async def deadlines() -> None:
        if not ownership.restored:
            return
        ownership.let_go()
        emits = role.on_tick(int(time.time() * 1000))
        for emit in emits:
            await sender.send(emit)
        if emits:
            changed.set()

    @app.service
    class RegistryOwner(Service):
        """Closes the registry's Kafka clients when the app stops."""

        async def on_stop(self) -> None:
            await registry.stop()

    return stats
