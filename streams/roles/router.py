"""The star hub: classifies each ``AgentRequest`` and hands an ``AgentTask`` to one specialist.

Every decision carries its reason (``routing_reason``) so ``agentbus trace`` can
say why a request went where it went. Bad input on the intake topic (undecodable,
over the size limit, for an unknown agent) becomes a dead letter with the reason;
the router never stops on it. :class:`Router` decides without Faust; the agent
registered by :func:`register_router` only moves its emits.
"""

from __future__ import annotations

import logging
from typing import Any

import faust

from agents.errors import UnknownAgent
from agents.routing import (
    Classifier,
    KeywordClassifier,
    LearnedClassifier,
    RouterModel,
    RouterModelError,
    latest_model_path,
)
from streams.codec import DecodeError
from streams.records import task_record
from streams.roles.errors import EventFailed
from streams.roles.messages import Emit, KafkaMessage, RequestIds
from streams.roles.runtime import (
    DeadLetters,
    RoleStats,
    Runtime,
    consume_in_order,
    raw_topic,
    read_event,
)

__all__ = ["Router", "register_router", "router_classifier"]

log = logging.getLogger("agentbus.router")

ROLE = "router"
# Routing is CPU-light: this many requests may wait on their sends at once.
_IN_FLIGHT = 1000


class Router:
    """The router's decisions: one intake message → its task, or its dead letter."""

    def __init__(
        self, runtime: Runtime, stats: RoleStats, classifier: Classifier | None = None
    ) -> None:
        self._runtime = runtime
        self._codec = runtime.codec
        self._classifier = classifier if classifier is not None else router_classifier(runtime)
        self._limit = runtime.settings.intake_max_bytes
        self._flows = frozenset(runtime.system.flows)
        self.dead = DeadLetters(runtime, ROLE, stats)

    def route(self, message: KafkaMessage) -> list[Emit]:
        """The outputs ``message`` ends as: one ``AgentTask`` or one ``DeadLetter``."""
        value = message.value
        if isinstance(value, bytes) and len(value) > self._limit:
            reason = (
                f"request of {len(value)} bytes is over the intake limit of {self._limit} "
                "bytes (AGENTBUS_INTAKE_MAX_BYTES)"
            )
            return [self.dead.letter(message, reason=reason, error_type="too_large")]
        try:
            request = read_event(self._codec, message, "AgentRequest", on="intake")
        except DecodeError as exc:
            return [self.dead.letter(message, reason=str(exc), error_type=exc.error_type)]
        ids = RequestIds.of(request)
        try:
            return self._task_for(message, request, ids)
        except Exception as exc:  # anything odd past decoding still joins the request's trace
            raise EventFailed(exc, ids) from exc

    def _task_for(
        self, message: KafkaMessage, request: dict[str, Any], ids: RequestIds
    ) -> list[Emit]:
        if request.get("target_agent") in self._flows:
            # A pipeline, workflow or mesh: the orchestrator runs it. The request goes on
            # as it came (same bytes, same framing).
            forward = message.value if isinstance(message.value, bytes) else b""
            return [
                Emit(self._runtime.topics.flows, ids.request_id.encode(), forward, "AgentRequest")
            ]
        try:
            decision = self._classifier.decide(str(request["input"]), request.get("target_agent"))
        except UnknownAgent as exc:
            return [self.dead.letter(message, reason=str(exc), error_type="unknown_agent", ids=ids)]
        task = task_record(request, decision, ROLE)
        topic = self._runtime.topics.tasks(decision.agent)
        encoded = self._codec.encode("AgentTask", task)
        return [Emit(topic, ids.request_id.encode(), encoded, "AgentTask")]


def router_classifier(runtime: Runtime) -> Classifier:
    """The system's classifier, built once per process: the trained model named by
    ``router_model``, else the newest under ``<data dir>/router/<system>/``, else keywords.

    A configured model that cannot be used stops the router (the operator asked for it);
    a discovered one that cannot is logged and keywords route instead.
    """
    settings, system = runtime.settings, runtime.system
    path = settings.router_model or latest_model_path(settings.data_dir / "router", system.name)
    if path is None:
        log.info("routing by keywords: no trained model for system %s", system.name)
        return KeywordClassifier(system)
    try:
        model = RouterModel.load(path)
        learned = LearnedClassifier(system, model, min_confidence=settings.router_min_confidence)
    except RouterModelError as exc:
        if settings.router_model is not None:
            raise
        log.warning("routing by keywords: %s", exc)
        return KeywordClassifier(system)
    log.info(
        "routing with model %s (%s; held-out accuracy %s), default agent below p=%.2f",
        model.version,
        path,
        model.info.eval_accuracy,
        settings.router_min_confidence,
    )
    return learned


def register_router(app: faust.App, runtime: Runtime) -> RoleStats:
    """Add the router agent to ``app``; returns its live counters."""
    stats = RoleStats()
    router = Router(runtime, stats)
    intake = raw_topic(app, runtime.topics.intake)

    async def handle(message: KafkaMessage) -> list[Emit]:
        return router.route(message)

    @app.agent(intake, name=ROLE)
    async def route(stream: Any) -> None:
        await consume_in_order(app, runtime, stream, handle, router.dead, stats, limit=_IN_FLIGHT)

    return stats
