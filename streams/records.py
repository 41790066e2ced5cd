"""The one mapping from each typed outcome to its Avro record.

``agents`` describes what happened in typed values (``AttemptRecord``,
``InvocationOutcome``); these functions are the only places they become the
``Invocation`` and ``AgentResult`` records, so a field added on one side cannot be
dropped on the way (an attempt used to be copied field by field in three places).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from agents.invocation import AttemptRecord, InvocationOutcome
from agents.routing import RoutingDecision
from streams.events import child_envelope, derived_id, envelope, new_id, new_trace_id

__all__ = [
    "ATTEMPT_ONLY_FIELDS",
    "CHAIN",
    "chain_of",
    "handoff_task_record",
    "invocation_record",
    "request_record",
    "result_record",
    "task_record",
]

ATTEMPT_ONLY_FIELDS = frozenset({"priced", "at", "contract_violation"})
"""``AttemptRecord`` fields that are not ``Invocation`` fields (the rest map by name)."""

CHAIN = "agentbus.chain"
"""Task metadata key: the agents that handled the request before the task's agent,
comma-separated in order (``support`` on a task an edge handed on); absent on a routed
task. Results carry it as ``AgentResult.chain``."""


def chain_of(task: Mapping[str, Any]) -> tuple[str, ...]:
    """The agents that handled ``task``'s request before its agent (``CHAIN``)."""
    metadata = task.get("metadata") or {}
    return tuple(name for name in str(metadata.get(CHAIN, "")).split(",") if name)


def request_record(
    text: str,
    *,
    producer: str,
    tenant: str = "default",
    target_agent: str | None = None,
    metadata: Mapping[str, str] | None = None,
    request_id: str | None = None,
    session_id: str | None = None,
) -> dict[str, Any]:
    """A new ``AgentRequest``: the root of its trace (fresh trace id, no parent span)."""
    return {
        **envelope(producer=producer, trace_id=new_trace_id(), parent_span_id=None),
        "request_id": request_id or new_id(),
        "tenant": tenant,
        "input": text,
        "target_agent": target_agent,
        "metadata": dict(metadata or {}),
        "session_id": session_id,
    }


def task_record(
    request: dict[str, Any], decision: RoutingDecision, producer: str
) -> dict[str, Any]:
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
        "routing_model_version": decision.model_version,
    }


def handoff_task_record(
    task: dict[str, Any],
    *,
    agent: str,
    input_text: str,
    reason: str,
    chain: tuple[str, ...],
    producer: str,
) -> dict[str, Any]:
    """The ``AgentTask`` an edge hands ``task``'s request on with, to ``agent``.

    Its ids derive from the producer's task event, so a replayed task hands on the same
    task; ``chain`` (the agents so far, the producer last) travels in its metadata.
    """
    return {
        **child_envelope(task, producer=producer, kind=f"edge-{agent}"),
        "request_id": task["request_id"],
        "task_id": derived_id(str(task["event_id"]), f"edge-{agent}-task-id"),
        "tenant": task["tenant"],
        "agent": agent,
        "input": input_text,
        "routing_reason": reason,
        "routing_confidence": 1.0,
        "metadata": {**(task.get("metadata") or {}), CHAIN: ",".join(chain)},
        "routing_model_version": None,
    }


def invocation_record(
    task: dict[str, Any], attempt: AttemptRecord, producer: str
) -> dict[str, Any]:
    """The ``Invocation`` event of one attempt, a child of the task's span, stamped with
    the attempt's own time."""
    fields = {
        f.name: getattr(attempt, f.name)
        for f in dataclasses.fields(attempt)
        if f.name not in ATTEMPT_ONLY_FIELDS
    }
    fields["tool_calls"] = list(attempt.tool_calls)
    fields["tool_runs"] = [dataclasses.asdict(run) for run in attempt.tool_runs]
    record = {
        **child_envelope(task, producer=producer, kind=f"attempt-{attempt.attempt}"),
        "request_id": task["request_id"],
        "task_id": task["task_id"],
        "tenant": task["tenant"],
        **fields,
    }
    if attempt.at:
        record["occurred_at"] = dt.datetime.fromtimestamp(attempt.at, dt.UTC)
    return record


def result_record(
    task: dict[str, Any], outcome: InvocationOutcome, producer: str, latency_ms: float
) -> dict[str, Any]:
    """The task's ``AgentResult``; its id derives from the task, so a replay repeats it.

    ``attempts`` counts model calls: a result served from the cache made none;
    ``chain`` names the agents edges handed the request on from (task metadata).
    """
    return {
        **child_envelope(task, producer=producer, kind="result"),
        "request_id": task["request_id"],
        "task_id": task["task_id"],
        "tenant": task["tenant"],
        "agent": task["agent"],
        "status": outcome.status,
        "output": outcome.output,
        "error": outcome.error,
        "disclaimer": outcome.disclaimer,
        "model": outcome.model,
        "attempts": outcome.attempt_count,
        "input_tokens": outcome.input_tokens,
        "output_tokens": outcome.output_tokens,
        "cost_usd": outcome.cost_usd,
        "latency_ms": latency_ms,
        "answered_by": outcome.agent if outcome.agent != task["agent"] else None,
        "chain": list(chain_of(task)),
    }
