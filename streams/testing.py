"""Test helpers shipped with agentbus: drive a role's decisions without Faust or Kafka.

``FakeMessage`` satisfies :class:`streams.roles.messages.KafkaMessage`;
``RecordingSink`` collects what an :class:`InFlightWindow` sends and acks, so a
test can assert that every event ended as outputs or a dead letter, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.roles.errors import RoleHalted
from streams.roles.messages import Emit

__all__ = ["FakeEvent", "FakeMessage", "RecordingSink"]


@dataclass(frozen=True)
class FakeMessage:
    """A consumed record, as the roles see one."""

    topic: str
    value: bytes | None
    offset: int = 0
    partition: int = 0
    key: bytes | None = None

    @property
    def tp(self) -> tuple[str, int]:
        return (self.topic, self.partition)


@dataclass(frozen=True)
class FakeEvent:
    """What Faust hands an agent: the message, plus identity for acks."""

    message: FakeMessage


@dataclass
class RecordingSink:
    """Records sends, acks and halts in the order they happen."""

    sent: list[Emit] = field(default_factory=list)
    acked: list[FakeMessage] = field(default_factory=list)
    halted: list[RoleHalted] = field(default_factory=list)
    log: list[tuple[str, Any]] = field(default_factory=list)

    async def send(self, emit: Emit) -> None:
        self.sent.append(emit)
        self.log.append(("send", emit))

    async def ack(self, event: FakeEvent) -> None:
        self.acked.append(event.message)
        self.log.append(("ack", event.message))

    def halt(self, halted: RoleHalted) -> None:
        self.halted.append(halted)
        self.log.append(("halt", halted))
