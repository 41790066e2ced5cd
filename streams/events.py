"""Envelope fields every event carries, and the ids that make replays idempotent.

Ids of derived events are UUIDv5 of their cause (a task of its request event,
a result of its task event, a dead letter of its topic/partition/offset), so
processing the same input twice yields the same ``event_id`` and consumers can
drop the second copy.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

__all__ = [
    "child_envelope",
    "derived_id",
    "derived_span_id",
    "envelope",
    "new_id",
    "new_span_id",
    "new_trace_id",
    "utcnow",
]

_NAMESPACE = uuid.UUID("6f1c1b2e-8d7a-5b0e-9a53-0a6e7473b0b5")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def new_trace_id() -> str:
    return uuid.uuid4().hex


def new_span_id() -> str:
    return uuid.uuid4().hex[:16]


def derived_id(cause: str, kind: str) -> str:
    """Deterministic id of the ``kind`` event caused by ``cause``."""
    return str(uuid.uuid5(_NAMESPACE, f"{cause}/{kind}"))


def derived_span_id(cause: str, kind: str) -> str:
    return uuid.uuid5(_NAMESPACE, f"span/{cause}/{kind}").hex[:16]


def envelope(
    *,
    producer: str,
    trace_id: str,
    parent_span_id: str | None,
    event_id: str | None = None,
    span_id: str | None = None,
) -> dict[str, Any]:
    """The common fields of every event (DESIGN.md, "Events")."""
    return {
        "event_id": event_id or new_id(),
        "trace_id": trace_id,
        "span_id": span_id or new_span_id(),
        "parent_span_id": parent_span_id,
        "occurred_at": utcnow(),
        "producer": producer,
    }


def child_envelope(parent: dict[str, Any], *, producer: str, kind: str) -> dict[str, Any]:
    """Envelope of the ``kind`` event caused by ``parent``: same trace, deterministic ids."""
    cause = str(parent["event_id"])
    return envelope(
        producer=producer,
        trace_id=str(parent["trace_id"]),
        parent_span_id=str(parent["span_id"]),
        event_id=derived_id(cause, kind),
        span_id=derived_span_id(cause, kind),
    )
