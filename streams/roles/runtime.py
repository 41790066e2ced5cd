"""What every role needs, built once per process from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from agents.reference import fintech_system
from agents.system import AgentSystem
from streams.codec import AvroCodec, SchemaRegistryClient, SchemaSet, default_avro_dir
from streams.events import child_envelope, derived_id
from streams.settings import Settings
from streams.topics import Topics

__all__ = ["DeadLetterSink", "RoleStats", "Runtime", "build_runtime", "raw_topic"]

log = logging.getLogger("agentbus")


def raw_topic(app: Any, *names: str) -> Any:
    """A Faust topic of raw bytes: decoding is ours, so bad bytes become dead letters."""
    return app.topic(*names, key_serializer="raw", value_serializer="raw")


@dataclass
class RoleStats:
    """Counters of one role, logged on shutdown and on request."""

    consumed: int = 0
    produced: int = 0
    dead_letters: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Runtime:
    """Settings, codec, topic names and the agent system shared by the roles of a process."""

    settings: Settings
    codec: AvroCodec
    topics: Topics
    system: AgentSystem


class DeadLetterSink:
    """Turns an event that cannot be processed into a ``DeadLetter`` with the reason.

    One error line is logged per dead letter; the raw bytes travel unchanged.
    The dead letter's id derives from topic/partition/offset, so a redelivered
    bad event yields the same dead letter, not a second one.
    """

    def __init__(self, runtime: Runtime, topic: Any, role: str, stats: RoleStats) -> None:
        self._runtime = runtime
        self._topic = topic
        self._role = role
        self._stats = stats

    async def send(
        self,
        message: Any,
        *,
        reason: str,
        error_type: str,
        request_id: str | None = None,
        trace_id: str | None = None,
        parent_span_id: str | None = None,
        raw: bytes | None = None,
        discriminator: str = "",
    ) -> None:
        """Dead-letter ``message`` (or, with ``raw``, a piece of output derived from it;
        ``discriminator`` then tells several dead letters of one message apart)."""
        where = f"{message.topic}[{message.partition}]@{message.offset}"
        log.error("dead letter (%s) from %s in %s: %s", error_type, where, self._role, reason)
        source = f"source/{discriminator}" if discriminator else "source"
        cause = {
            "event_id": derived_id(where, source),
            "trace_id": trace_id or derived_id(where, "trace").replace("-", ""),
            "span_id": parent_span_id or "",
        }
        envelope = child_envelope(cause, producer=self._role, kind="deadletter")
        if parent_span_id is None:
            envelope["parent_span_id"] = None
        value = {
            **envelope,
            "request_id": request_id,
            "reason": reason,
            "error_type": error_type,
            "source_topic": message.topic,
            "source_partition": message.partition,
            "source_offset": message.offset,
            "raw": raw
            if raw is not None
            else message.value
            if isinstance(message.value, bytes)
            else b"",
        }
        key = request_id.encode() if request_id else message.key
        await self._topic.send(key=key, value=self._runtime.codec.encode("DeadLetter", value))
        self._stats.dead_letters += 1
        self._stats.by_reason[error_type] = self._stats.by_reason.get(error_type, 0) + 1


def build_runtime(settings: Settings, system: AgentSystem | None = None) -> Runtime:
    """The runtime for ``settings``: codec with the schema registry if one is configured."""
    registry = (
        SchemaRegistryClient(settings.schema_registry_url) if settings.schema_registry_url else None
    )
    codec = AvroCodec(SchemaSet.load(default_avro_dir()), registry=registry)
    system = _with_overrides(system or fintech_system(), settings)
    return Runtime(settings=settings, codec=codec, topics=Topics(settings, system), system=system)


def _with_overrides(system: AgentSystem, settings: Settings) -> AgentSystem:
    """The system with operator overrides from the settings applied to every agent."""
    if settings.breaker_cooldown_s is None and settings.cache_ttl_s is None:
        return system
    specs = []
    for spec in system.specs.values():
        update: dict[str, Any] = {}
        if settings.breaker_cooldown_s is not None:
            update["breaker"] = spec.breaker.model_copy(
                update={"cooldown_s": settings.breaker_cooldown_s}
            )
        if settings.cache_ttl_s is not None and spec.cache_ttl_s is not None:
            update["cache_ttl_s"] = settings.cache_ttl_s
        specs.append(spec.model_copy(update=update))
    return AgentSystem(
        name=system.name,
        agents=tuple(specs),
        default_agent=system.default_agent,
        edges=system.edges,
    )
