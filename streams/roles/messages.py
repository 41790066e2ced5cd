"""What a role reads and what it writes, as plain values a test can build.

A role's decisions take a :class:`KafkaMessage` (any object with these fields:
Faust's ``Message``, or :class:`streams.testing.FakeMessage`) and return the
:class:`Emit` list its outcome consists of. The Faust agent around a role only
moves these: it sends the emits in order and then acknowledges the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Emit", "KafkaMessage", "RequestIds", "where"]


class KafkaMessage(Protocol):
    """The fields of a consumed Kafka record that the roles use."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> Any:
        """``bytes``, or ``None`` for a tombstone."""
        ...

    @property
    def tp(self) -> Any:
        """The (topic, partition) pair acks are ordered by."""
        ...


@dataclass(frozen=True, slots=True)
class Emit:
    """One event to produce: full topic name, key, encoded value; ``record`` names the
    Avro record (for logs and counters)."""

    topic: str
    key: bytes | None
    value: bytes
    record: str


@dataclass(frozen=True, slots=True)
class RequestIds:
    """Which request an event belongs to, and the span that caused it: what a dead
    letter needs to join the request's trace."""

    request_id: str
    trace_id: str
    span_id: str

    @classmethod
    def of(cls, event: dict[str, Any]) -> RequestIds:
        """The ids of a decoded request or task event."""
        return cls(str(event["request_id"]), str(event["trace_id"]), str(event["span_id"]))


def where(message: KafkaMessage) -> str:
    """``topic[partition]@offset``: how logs and dead letters name a consumed event."""
    return f"{message.topic}[{message.partition}]@{message.offset}"
