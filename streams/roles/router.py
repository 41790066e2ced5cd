"""The star hub: classifies each ``AgentRequest`` and hands an ``AgentTask`` to one specialist.

Every decision carries its reason (``routing_reason``) so ``agentbus trace`` can
say why a request went where it went. Bad input on the intake topic becomes a
dead letter; the router never stops on it.
"""

from __future__ import annotations

import logging
from typing import Any

import faust

from agents.errors import UnknownAgent
from agents.routing import KeywordClassifier, RoutingDecision
from streams.codec import DecodeError
from streams.events import child_envelope, derived_id
from streams.roles.runtime import DeadLetterSink, RoleStats, Runtime, raw_topic

__all__ = ["register_router", "task_event"]

log = logging.getLogger("agentbus.router")

ROLE = "router"
_BATCH = 500
_BATCH_WAIT_S = 0.02


def register_router(app: faust.App, runtime: Runtime) -> RoleStats:
    """Add the router agent to ``app``; returns its live counters."""
    codec = runtime.codec
    stats = RoleStats()
    classifier = KeywordClassifier(runtime.system)
    intake = raw_topic(app, runtime.topics.intake)
    task_topics = {
        name: raw_topic(app, runtime.topics.tasks(name)) for name in runtime.system.names
    }
    dead = DeadLetterSink(
        runtime,
        raw_topic(app, runtime.topics.deadletter),
        ROLE,
        stats,
    )

    async def route(message: Any) -> None:
        if not isinstance(message.value, bytes):
            await dead.send(
                message, reason="empty value (tombstone) on intake", error_type="not_avro"
            )
            return
        try:
            request = codec.decode_as("AgentRequest", message.value)
        except DecodeError as exc:
            await dead.send(message, reason=str(exc), error_type=exc.error_type)
            return
        request_id = str(request["request_id"])
        try:
            decision = classifier.decide(str(request["input"]), request.get("target_agent"))
        except UnknownAgent as exc:
            await dead.send(
                message,
                reason=str(exc),
                error_type="unknown_agent",
                request_id=request_id,
                trace_id=str(request["trace_id"]),
                parent_span_id=str(request["span_id"]),
            )
            return
        task = task_event(request, decision, ROLE)
        await task_topics[decision.agent].send(
            key=request_id.encode(), value=codec.encode("AgentTask", task)
        )
        stats.produced += 1

    @app.agent(intake, name=ROLE)
    async def router(stream: Any) -> None:  # a faust.Stream; StreamT lacks take_events
        # Batches amortise Faust's per-event cost; events are acked after the
        # batch, and Faust flushes the producer before it commits offsets.
        async for events in stream.take_events(_BATCH, within=_BATCH_WAIT_S):
            for event in events:
                stats.consumed += 1
                await route(event.message)

    return stats


def task_event(request: dict[str, Any], decision: RoutingDecision, producer: str) -> dict[str, Any]:
    """The ``AgentTask`` for a routed request; its ids derive from the request event, so
    routing the same request again yields the same task."""
    return {
        **child_envelope(request, producer=producer, kind="task"),
        "request_id": request["request_id"],
        "task_id": derived_id(str(request["event_id"]), "task-id"),
        "tenant": request["tenant"],
        "agent": decision.agent,
        "input": request["input"],
        "routing_reason": decision.reason,
        "routing_confidence": decision.confidence,
        "metadata": request["metadata"],
    }
