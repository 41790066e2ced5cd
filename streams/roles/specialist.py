"""A specialist: runs its agent on each ``AgentTask`` and emits the outcome.

Per task: one ``Invocation`` event per model attempt, a ``contract_violation`` dead
letter per attempt whose output broke the agent's contract, then one
``AgentResult`` (``failed`` with the reason when the model could not answer:
never silence). When an edge of the agent fires (``streams.roles.edges``), that
result is a step result on ``replies`` and the request goes on as the consumer's
``AgentTask``, whose result is the request's. :class:`Specialist` decides without
Faust. Model calls are I/O-bound, so one process keeps ``specialist_concurrency`` of
them in flight (an :class:`InFlightWindow`); that number is also the bound on tasks
held in memory.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

import faust
from mode import Service

from agents.contracts.validator import contract_violation
from agents.invocation import InvocationContext, InvocationDeps, invoke
from agents.providers.base import ModelProvider
from streams.codec import DecodeError
from streams.providers import ProviderSet
from streams.records import handoff_task_record, invocation_record, result_record
from streams.roles.edges import EdgeFailed, Handoff, next_hop
from streams.roles.errors import EventFailed, RoleHalted
from streams.roles.messages import Emit, KafkaMessage, RequestIds
from streams.roles.runtime import (
    DeadLetters,
    RoleStats,
    Runtime,
    consume_in_order,
    halt_process,
    raw_topic,
    read_event,
)
from streams.shared.state import SharedState

__all__ = ["Specialist", "register_specialist", "role_name"]

log = logging.getLogger("agentbus.specialist")


def role_name(agent: str) -> str:
    return f"specialist:{agent}"


class Specialist:
    """One agent's decisions: a task message → its invocations, violations and result."""

    def __init__(
        self,
        runtime: Runtime,
        agent: str,
        provider: ModelProvider,
        deps: InvocationDeps,
        stats: RoleStats,
    ) -> None:
        self._runtime = runtime
        self._codec = runtime.codec
        self._spec = runtime.system.get(agent)
        self._provider = provider
        self._deps = deps
        self.role = role_name(agent)
        # Events name the process too: "which replica did this?" is a 3 a.m. question.
        self.producer = f"{self.role}@{socket.gethostname()}:{os.getpid()}"
        self.dead = DeadLetters(runtime, self.role, stats)

    async def handle(self, message: KafkaMessage) -> list[Emit]:
        """The outputs ``message`` ends as."""
        started = time.perf_counter()
        try:
            task = read_event(self._codec, message, "AgentTask", on="a task topic")
        except DecodeError as exc:
            return [self.dead.letter(message, reason=str(exc), error_type=exc.error_type)]
        ids = RequestIds.of(task)
        try:
            return await self._run(message, task, ids, started)
        except Exception as exc:  # the window turns it into a dead letter joined to the trace
            raise EventFailed(exc, ids) from exc

    async def _run(
        self, message: KafkaMessage, task: dict[str, Any], ids: RequestIds, started: float
    ) -> list[Emit]:
        request_id = ids.request_id
        if task["agent"] != self._spec.name:
            reason = f"task for agent {task['agent']!r} arrived on the topic of {self._spec.name!r}"
            return [self.dead.letter(message, reason=reason, error_type="misrouted", ids=ids)]
        context = InvocationContext(
            request_id=request_id, task_id=str(task["task_id"]), tenant=str(task["tenant"])
        )
        outcome = await invoke(
            self._spec,
            self._provider,
            str(task["input"]),
            context=context,
            deps=self._deps,
            validate_output=contract_violation,
        )
        key = request_id.encode()
        topics = self._runtime.topics
        emits = [
            Emit(
                topics.invocations,
                key,
                self._codec.encode("Invocation", invocation_record(task, attempt, self.producer)),
                "Invocation",
            )
            for attempt in outcome.attempts
        ]
        for attempt in outcome.attempts:
            if attempt.contract_violation is not None:
                emits.append(
                    self.dead.letter(
                        message,
                        reason=attempt.contract_violation,
                        error_type="contract_violation",
                        raw=(attempt.output or "").encode(),
                        discriminator=f"attempt-{attempt.attempt}",
                        ids=ids,
                    )
                )
        try:
            hop = next_hop(self._runtime.system, task, outcome)
        except EdgeFailed as exc:  # the answer stands; the broken edge is told, not hidden
            hop = None
            emits.append(
                self.dead.letter(
                    message,
                    reason=str(exc),
                    error_type="edge_failed",
                    discriminator="edge",
                    ids=ids,
                )
            )
        latency_ms = (time.perf_counter() - started) * 1000
        result = result_record(task, outcome, self.producer, latency_ms)
        # Handed on, this answer is a step of the request: the consumer's is its result.
        result_topic = topics.replies if hop is not None else topics.reply_topic(task)
        emits.append(
            Emit(result_topic, key, self._codec.encode("AgentResult", result), "AgentResult")
        )
        if hop is not None:
            emits.append(self._hand_on(task, hop, key))
        return emits

    def _hand_on(self, task: dict[str, Any], hop: Handoff, key: bytes) -> Emit:
        consumer = hop.edge.consumer
        record = handoff_task_record(
            task,
            agent=consumer,
            input_text=hop.input,
            reason=hop.reason,
            chain=hop.chain,
            producer=self.producer,
        )
        log.info("%s hands request %s on: %s", self.role, task["request_id"], hop.reason)
        return Emit(
            self._runtime.topics.tasks(consumer),
            key,
            self._codec.encode("AgentTask", record),
            "AgentTask",
        )


def register_specialist(
    app: faust.App, runtime: Runtime, agent: str, providers: ProviderSet, shared: SharedState
) -> RoleStats:
    """Add the specialist agent for ``agent`` to ``app``; returns its live counters.

    ``shared`` (breakers, cache, policies of this process) is started before the
    first task is taken; every specialist of the process uses the same one.
    """
    stats = RoleStats()
    deps = InvocationDeps(
        board=shared.breakers,
        cache=shared.cache,
        fallbacks=runtime.system.get,
        providers=providers.for_agent,
        tools=shared.toolbox,
    )
    specialist = Specialist(runtime, agent, providers.for_agent(agent), deps, stats)
    source = raw_topic(app, runtime.topics.tasks(agent))

    @app.service
    class SharedStateOwner(Service):
        """Closes the shared-state views (their Kafka clients) when the app stops."""

        async def on_stop(self) -> None:
            await shared.stop()

    @app.agent(source, name=specialist.role.replace(":", "-"))
    async def run(stream: Any) -> None:
        try:
            await shared.start()
        except Exception as exc:  # noqa: BLE001  # without shared state no task can run
            halt_process(RoleHalted(specialist.role, "starting the shared state", exc))
        await consume_in_order(
            app,
            runtime,
            stream,
            specialist.handle,
            specialist.dead,
            stats,
            limit=runtime.settings.specialist_concurrency,
        )

    return stats
