"""A specialist: runs its agent on each ``AgentTask`` and emits the outcome.

Per task: one ``Invocation`` event per model attempt, then one ``AgentResult``
(``failed`` with the reason when the model could not answer: never silence).
Model calls are I/O-bound, so one process keeps ``specialist_concurrency`` of
them in flight (an :class:`InFlightWindow`); that number is also the bound on
tasks held in memory, and acks reach Faust in offset order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
from typing import Any

import faust
from aiokafka.errors import KafkaError
from mode import Service

from agents.contracts.validator import CONTRACT_VIOLATION, contract_violation
from agents.invocation import InvocationContext, InvocationDeps, InvocationOutcome, invoke
from agents.providers.base import ModelProvider
from agents.spec import AgentSpec
from streams.codec import DecodeError
from streams.events import child_envelope
from streams.roles.inflight import InFlightWindow
from streams.roles.runtime import DeadLetterSink, RoleStats, Runtime, raw_topic
from streams.shared.state import SharedState

__all__ = ["register_specialist"]

log = logging.getLogger("agentbus.specialist")


def role_name(agent: str) -> str:
    return f"specialist:{agent}"


def register_specialist(
    app: faust.App, runtime: Runtime, agent: str, provider: ModelProvider, shared: SharedState
) -> RoleStats:
    """Add the specialist agent for ``agent`` to ``app``; returns its live counters.

    ``shared`` (breakers, cache, policies of this process) is started before the
    first task is taken; every specialist of the process uses the same one.
    """
    spec = runtime.system.get(agent)
    role = role_name(agent)
    # Events name the process too: "which replica did this?" is a 3 a.m. question.
    producer = f"{role}@{socket.gethostname()}:{os.getpid()}"
    codec = runtime.codec
    stats = RoleStats()
    source = raw_topic(app, runtime.topics.tasks(agent))
    results = raw_topic(app, runtime.topics.results)
    invocations = raw_topic(app, runtime.topics.invocations)
    dead = DeadLetterSink(runtime, raw_topic(app, runtime.topics.deadletter), role, stats)
    deps = InvocationDeps(board=shared.breakers, cache=shared.cache, fallbacks=runtime.system.get)

    async def handle(message: Any) -> None:
        started = time.perf_counter()
        if not isinstance(message.value, bytes):
            await dead.send(
                message, reason="empty value (tombstone) on a task topic", error_type="not_avro"
            )
            return
        try:
            task = codec.decode_as("AgentTask", message.value)
        except DecodeError as exc:
            await dead.send(message, reason=str(exc), error_type=exc.error_type)
            return
        if task["agent"] != agent:
            await dead.send(
                message,
                reason=f"task for agent {task['agent']!r} arrived on the topic of {agent!r}",
                error_type="misrouted",
                request_id=str(task["request_id"]),
                trace_id=str(task["trace_id"]),
                parent_span_id=str(task["span_id"]),
            )
            return
        context = InvocationContext(
            request_id=str(task["request_id"]),
            task_id=str(task["task_id"]),
            tenant=str(task["tenant"]),
        )
        outcome = await invoke(
            spec,
            provider,
            str(task["input"]),
            context=context,
            deps=deps,
            validate_output=contract_violation,
        )
        key = str(task["request_id"]).encode()
        for event in invocation_events(task, spec, outcome, producer):
            await invocations.send(key=key, value=codec.encode("Invocation", event))
        for attempt in outcome.attempts:
            if attempt.error and attempt.error.startswith(CONTRACT_VIOLATION):
                await dead.send(
                    message,
                    reason=attempt.error,
                    error_type="contract_violation",
                    request_id=str(task["request_id"]),
                    trace_id=str(task["trace_id"]),
                    parent_span_id=str(task["span_id"]),
                    raw=(attempt.output or "").encode(),
                    discriminator=f"attempt-{attempt.attempt}",
                )
        result = result_event(task, outcome, producer, (time.perf_counter() - started) * 1000)
        await results.send(key=key, value=codec.encode("AgentResult", result))
        stats.produced += 1

    async def handle_safely(message: Any) -> None:
        try:
            await handle(message)
        except (asyncio.CancelledError, KafkaError):
            raise  # shutdown, or the broker is gone: no ack, the event is redelivered
        except Exception as exc:  # a bug in one task must not stall the partition
            where = f"{message.topic}[{message.partition}]@{message.offset}"
            log.exception("task at %s failed in %s", where, role)
            reason = f"{type(exc).__name__}: {exc}"
            await dead.send(message, reason=reason, error_type="processing_error")

    @app.service
    class SharedStateOwner(Service):
        """Closes the shared-state views (their Kafka clients) when the app stops."""

        async def on_stop(self) -> None:
            await shared.stop()

    @app.agent(source, name=role.replace(":", "-"))
    async def specialist(stream: Any) -> None:
        await shared.start()
        manual = stream.noack()
        window = InFlightWindow(runtime.settings.specialist_concurrency, manual.ack)
        async for event in manual.events():
            stats.consumed += 1
            await window.admit(event, handle_safely)

    return stats


def invocation_events(
    task: dict[str, Any], spec: AgentSpec, outcome: InvocationOutcome, role: str
) -> list[dict[str, Any]]:
    """One ``Invocation`` per attempt, children of the task's span."""
    events = []
    for attempt in outcome.attempts:
        events.append(
            {
                **child_envelope(task, producer=role, kind=f"attempt-{attempt.attempt}"),
                # The attempt's own time, not the time the task's events were emitted.
                **(
                    {"occurred_at": dt.datetime.fromtimestamp(attempt.at, dt.UTC)}
                    if attempt.at
                    else {}
                ),
                "request_id": task["request_id"],
                "task_id": task["task_id"],
                "tenant": task["tenant"],
                "agent": attempt.agent,
                "agent_version": attempt.agent_version,
                "provider": attempt.provider,
                "model": attempt.model,
                "tier": attempt.tier,
                "attempt": attempt.attempt,
                "outcome": attempt.outcome,
                "error": attempt.error,
                "input": attempt.input,
                "output": attempt.output,
                "temperature": attempt.temperature,
                "input_tokens": attempt.input_tokens,
                "output_tokens": attempt.output_tokens,
                "latency_ms": attempt.latency_ms,
                "cost_usd": attempt.cost_usd,
                "cache_hit": attempt.cache_hit,
                "breaker_state": attempt.breaker_state,
                "budget_used": attempt.budget_used,
                "tool_calls": list(attempt.tool_calls),
                "perturbation": attempt.perturbation,
                "decision": attempt.decision,
            }
        )
    return events


def result_event(
    task: dict[str, Any], outcome: InvocationOutcome, role: str, latency_ms: float
) -> dict[str, Any]:
    """The task's ``AgentResult``; its id derives from the task, so a replay repeats it."""
    return {
        **child_envelope(task, producer=role, kind="result"),
        "request_id": task["request_id"],
        "task_id": task["task_id"],
        "tenant": task["tenant"],
        "agent": task["agent"],
        "status": outcome.status,
        "output": outcome.output,
        "error": outcome.error,
        "disclaimer": outcome.disclaimer,
        "model": outcome.model,
        "attempts": len(outcome.attempts),
        "input_tokens": outcome.input_tokens,
        "output_tokens": outcome.output_tokens,
        "cost_usd": outcome.cost_usd,
        "latency_ms": latency_ms,
        "answered_by": outcome.agent if outcome.agent != task["agent"] else None,
    }
