"""What every role needs, built once per process from the settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agents.reference import fintech_system
from agents.system import AgentSystem
from streams.codec import (
    AvroCodec,
    DecodeError,
    SchemaRegistryClient,
    SchemaSet,
    default_avro_dir,
)
from streams.events import child_envelope, derived_id
from streams.roles.errors import EventFailed, RoleHalted, verdict_for
from streams.roles.inflight import Handler, InFlightWindow
from streams.roles.messages import Emit, KafkaMessage, RequestIds, where
from streams.roles.transactions import TransactionalOutputs
from streams.settings import Settings
from streams.system_loader import load_system
from streams.topics import Topics

__all__ = [
    "EXIT_HALTED",
    "DeadLetters",
    "FaustSender",
    "RoleStats",
    "Runtime",
    "build_runtime",
    "consume_in_order",
    "halt_process",
    "raw_topic",
    "read_event",
]

EXIT_HALTED = 70
"""Exit code of a worker whose role could not go on (EX_SOFTWARE): restart it."""

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
    windows: list[InFlightWindow] = field(default_factory=list)
    """The role's in-flight windows (one per event loop), for :attr:`in_flight`."""

    @property
    def in_flight(self) -> int:
        """Events being handled right now (model calls, for a specialist)."""
        return sum(window.in_flight for window in self.windows)


@dataclass(frozen=True)
class Runtime:
    """Settings, codec, topic names and the agent system shared by the roles of a process."""

    settings: Settings
    codec: AvroCodec
    topics: Topics
    system: AgentSystem


class DeadLetters:
    """Builds the ``DeadLetter`` an event ends as when it cannot be processed.

    No I/O: it returns the :class:`Emit`; the role's window sends it like any
    output. One error line is logged per dead letter. The raw bytes travel with it,
    cut to ``max_raw`` bytes so that the dead letter of an oversized event still
    fits the broker. Its id derives from topic/partition/offset, so a redelivered
    bad event yields the same dead letter, not a second one.
    """

    def __init__(
        self, runtime: Runtime, role: str, stats: RoleStats, *, max_raw: int = 64 * 1024
    ) -> None:
        self._runtime = runtime
        self._topic = runtime.topics.deadletter
        self._role = role
        self._stats = stats
        self._max_raw = max_raw

    @property
    def role(self) -> str:
        return self._role

    def letter(
        self,
        message: KafkaMessage,
        *,
        reason: str,
        error_type: str,
        ids: RequestIds | None = None,
        raw: bytes | None = None,
        discriminator: str = "",
    ) -> Emit:
        """The dead letter of ``message`` (or, with ``raw``, of a piece of output derived
        from it; ``discriminator`` then tells several dead letters of one message apart)."""
        at = where(message)
        reason = " ".join(reason.split())
        log.error("dead letter (%s) from %s in %s: %s", error_type, at, self._role, reason)
        source = f"source/{discriminator}" if discriminator else "source"
        cause = {
            "event_id": derived_id(at, source),
            "trace_id": ids.trace_id if ids else derived_id(at, "trace").replace("-", ""),
            "span_id": ids.span_id if ids else "",
        }
        envelope = child_envelope(cause, producer=self._role, kind="deadletter")
        if ids is None:
            envelope["parent_span_id"] = None
        request_id = ids.request_id if ids else _key_as_id(message.key)
        body = (
            raw if raw is not None else message.value if isinstance(message.value, bytes) else b""
        )
        if len(body) > self._max_raw:
            reason = f"{reason} (raw cut to its first {self._max_raw} of {len(body)} bytes)"
            body = body[: self._max_raw]
        value = {
            **envelope,
            "request_id": request_id,
            "reason": reason,
            "error_type": error_type,
            "source_topic": message.topic,
            "source_partition": message.partition,
            "source_offset": message.offset,
            "raw": body,
        }
        key = request_id.encode() if request_id else message.key
        self._stats.dead_letters += 1
        self._stats.by_reason[error_type] = self._stats.by_reason.get(error_type, 0) + 1
        return Emit(self._topic, key, self._runtime.codec.encode("DeadLetter", value), "DeadLetter")

    def recover(self, message: KafkaMessage, exc: BaseException) -> list[Emit]:
        """The one rule for a failed event (see :func:`streams.roles.errors.verdict_for`):
        a dead letter naming the failure, or :class:`RoleHalted` when the role cannot
        go on."""
        verdict = verdict_for(exc)
        if verdict == "halt":
            raise RoleHalted(self._role, where(message), exc) from exc
        ids = exc.ids if isinstance(exc, EventFailed) else None
        cause = exc.cause if isinstance(exc, EventFailed) else exc
        if verdict == "too_large":
            reason = f"an output of this event is over the broker's size limit: {cause}"
            return [self.letter(message, reason=reason, error_type="too_large", ids=ids)]
        log.error("handler of %s failed at %s", self._role, where(message), exc_info=cause)
        reason = f"{type(cause).__name__}: {cause}"
        return [self.letter(message, reason=reason, error_type="handler_error", ids=ids)]


def _key_as_id(key: bytes | None) -> str | None:
    """The message key as a request id when it reads as one: producers key intake by
    ``request_id``, so an event too odd to decode can still be found by it."""
    if not key or len(key) > 200:
        return None
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def read_event(
    codec: AvroCodec, message: KafkaMessage, record: str, *, on: str | None = None
) -> dict[str, Any]:
    """``message`` decoded as ``record``; a tombstone or an empty value is a ``not_avro``
    :class:`DecodeError` like any undecodable one (``on`` names the topic in its reason)."""
    value = message.value
    if not isinstance(value, bytes) or not value:
        what = "empty value (tombstone)" if value is None else "empty value"
        raise DecodeError(f"{what} on {on}" if on else what, "not_avro")
    return codec.decode_as(record, value)


def halt_process(halted: RoleHalted) -> None:
    """Stop this worker loudly: one error line, exit code :data:`EXIT_HALTED`.

    ``os._exit`` on purpose: Faust's own stop can hang (faust #324) and would commit
    offsets on the way out; exiting at once leaves the failed event uncommitted, so
    the restarted worker gets it again.
    """
    log.error("%s; exiting (code %d) so a supervisor restarts this worker", halted, EXIT_HALTED)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(EXIT_HALTED)


class FaustSender:
    """Sends :class:`Emit`s through a Faust app's producer and watches their delivery.

    A delivery that fails after the send was accepted (the broker refused the batch)
    halts the worker: the event was acked, but its commit waits for the producer to
    flush, and exiting now keeps it uncommitted.
    """

    def __init__(self, app: Any, role: str, stats: RoleStats) -> None:
        self._app = app
        self._role = role
        self._stats = stats
        self._topics: dict[str, Any] = {}

    async def send(self, emit: Emit) -> None:
        topic = self._topics.get(emit.topic)
        if topic is None:
            topic = self._topics[emit.topic] = raw_topic(self._app, emit.topic)
        delivery = await topic.send(key=emit.key, value=emit.value)
        delivery.add_done_callback(self._check)
        if emit.record != "DeadLetter":
            self._stats.produced += 1

    def _check(self, delivery: Any) -> None:
        if delivery.cancelled():
            return
        exc = delivery.exception()
        if exc is not None:
            halt_process(RoleHalted(self._role, "a produced event", exc))


async def consume_in_order(
    app: Any,
    runtime: Runtime,
    stream: Any,
    handler: Handler,
    dead: DeadLetters,
    stats: RoleStats,
    *,
    limit: int,
    transactional: bool | None = None,
    name: str | None = None,
    commit_interval_s: float = 0.2,
) -> None:
    """The body of every event-at-a-time role: up to ``limit`` events in flight; each
    ends as its outputs or its dead letters, sent and acked in offset order; a role
    that cannot go on halts the process. Under ``exactly_once`` (or ``transactional``)
    the outputs and offsets commit together in Kafka transactions. ``name`` tells two
    loops of one role apart (each has its own transactional producer); a transaction
    commits every ``commit_interval_s`` (what its outputs wait before downstream
    ``read_committed`` consumers see them)."""
    manual = stream.noack()
    if transactional is None:
        transactional = runtime.settings.processing_guarantee == "exactly_once"
    outputs: TransactionalOutputs | None = None
    if transactional:
        outputs = TransactionalOutputs(
            runtime.settings,
            app.conf.id,
            name or dead.role,
            manual.ack,
            halt_process,
            commit_interval_s=commit_interval_s,
        )
        await outputs.start()
        window = InFlightWindow(
            limit,
            ack=outputs.ack,
            send=_counting(outputs.send, stats),
            recover=dead.recover,
            halt=halt_process,
            guard=outputs.guard,
        )
    else:
        sender = FaustSender(app, dead.role, stats)
        window = InFlightWindow(
            limit, ack=manual.ack, send=sender.send, recover=dead.recover, halt=halt_process
        )
    stats.windows.append(window)
    try:
        async for event in manual.events():
            stats.consumed += 1
            await window.admit(event, handler)
    except asyncio.CancelledError:
        if outputs is not None:  # shutdown: commit what is acked, close the producer
            with contextlib.suppress(Exception):
                await outputs.stop()
        raise
    except Exception as exc:  # noqa: BLE001  # never a crashed agent in a live process
        halt_process(RoleHalted(dead.role, "its event loop", exc))


def _counting(
    send: Callable[[Emit], Awaitable[None]], stats: RoleStats
) -> Callable[[Emit], Awaitable[None]]:
    async def counted(emit: Emit) -> None:
        await send(emit)
        if emit.record != "DeadLetter":
            stats.produced += 1

    return counted


def build_runtime(settings: Settings, system: AgentSystem | None = None) -> Runtime:
    """The runtime for ``settings``: codec with the schema registry if one is configured."""
    registry = (
        SchemaRegistryClient(settings.schema_registry_url) if settings.schema_registry_url else None
    )
    codec = AvroCodec(SchemaSet.load(default_avro_dir()), registry=registry)
    if system is None:
        system = load_system(settings.system) if settings.system else fintech_system()
    system = _with_overrides(system, settings)
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
    # Every field as the user declared it (endpoints, tools, MCP servers…), agents replaced.
    fields = {name: getattr(system, name) for name in AgentSystem.model_fields}
    return AgentSystem(**{**fields, "agents": tuple(specs)})
