"""Errors of the roles, and the one rule that decides what a failure becomes.

Every consumed event ends as its outputs or as a dead letter with the reason. When
neither can be produced, the role cannot go on: it raises :class:`RoleHalted`, the
worker logs one error line and exits non-zero before anything past the event is
committed, and the supervisor's restart redelivers the event.
"""

from __future__ import annotations

from typing import Literal

from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from streams.errors import StreamsError
from streams.roles.messages import RequestIds

__all__ = ["EventFailed", "FailureVerdict", "RoleError", "RoleHalted", "verdict_for"]


class RoleError(StreamsError):
    """A role was asked for that does not exist, or lacks what it needs to run."""


class RoleHalted(StreamsError):
    """A role cannot go on; the worker process must stop (and be restarted).

    ``where`` names the event (``topic[partition]@offset``) it could not finish.
    """

    retriable = True  # a restarted worker gets the event again

    def __init__(self, role: str, where: str, cause: BaseException) -> None:
        self.role = role
        self.where = where
        self.cause = cause
        super().__init__(
            f"{role} cannot go on at {where}: {type(cause).__name__}: {_one_line(cause)}"
        )


class EventFailed(StreamsError):
    """A handler failed once it knew which request its event belongs to.

    Carries the ids so the dead letter joins the request's trace; ``cause`` is the
    failure the verdict is made on.
    """

    def __init__(self, cause: BaseException, ids: RequestIds) -> None:
        self.cause = cause
        self.ids = ids
        super().__init__(f"{type(cause).__name__}: {_one_line(cause)}")


FailureVerdict = Literal["dead_letter", "too_large", "halt"]


def verdict_for(exc: BaseException) -> FailureVerdict:
    """What an exception out of a role's handler becomes.

    - an output too large for the broker: a ``too_large`` dead letter;
    - a failure that may pass (the broker or the store briefly away): halt, so the
      event is redelivered after the restart rather than dead-lettered for a blip;
    - anything else (a bug, odd input the handler did not expect): a dead letter
      naming the exception type; the stream goes on.
    """
    if isinstance(exc, EventFailed):
        return verdict_for(exc.cause)
    # Faust wraps producer errors (ProducerSendError from the KafkaError): read the chain.
    chain = _causes(exc)
    if any(isinstance(e, MessageSizeTooLargeError) for e in chain):
        return "too_large"
    if any(isinstance(e, KafkaError) for e in chain):
        return "halt"
    if isinstance(exc, StreamsError) and exc.retriable:
        return "halt"
    return "dead_letter"


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__
    return chain


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]
