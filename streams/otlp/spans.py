"""One agentbus event → one OpenTelemetry span, in the shape of the ``otel_traces`` view.

The mapping mirrors ``infra/clickhouse/009_otel_traces.sql`` so that a trace looks the
same in Grafana over ClickHouse and in Tempo, Jaeger or Langfuse over OTLP: the ids
are the events' own (a request is the root; tasks, attempts, results, workflow events
and dead letters hang under the span that caused them), a span ends at the event's
``occurred_at`` and starts ``latency_ms`` (``duration_ms``) earlier, and a model
attempt carries the GenAI attributes. Attribute values keep their types here (tokens
are ints, cost a double) where the view has only strings.

Pure functions, no I/O: :func:`span_of` for one event, :func:`export_request` for a
batch as the body of an OTLP/HTTP ``POST /v1/traces``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Final

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from streams.otlp.errors import UnmappableEvent

__all__ = ["SERVICE_NAME", "SPAN_RECORDS", "export_request", "span_of"]

SERVICE_NAME: Final = "agentbus"
"""``service.name`` of every exported span, and the instrumentation scope's name."""

SPAN_RECORDS: Final = frozenset(
    {
        "AgentRequest",
        "AgentTask",
        "Invocation",
        "AgentResult",
        "StepResult",
        "WorkflowEvent",
        "DeadLetter",
    }
)
"""The records :func:`span_of` maps (``StepResult``: an ``AgentResult`` on ``replies``)."""

_OK_OUTCOMES = frozenset({"ok", "cached", "partial"})
_ERROR_STATUSES = frozenset({"failed", "error", "timed_out"})
_NS_PER_MS = 1_000_000

Attributes = dict[str, str | int | float | bool]


def span_of(record: str, event: Mapping[str, Any]) -> Span:
    """The span of one decoded event of Avro record ``record`` (see :data:`SPAN_RECORDS`).

    Raises :class:`UnmappableEvent` for a record that is not a span, or ids that
    OpenTelemetry cannot carry.
    """
    shape = _SHAPES.get(record)
    if shape is None:
        raise UnmappableEvent(f"{record} events are not spans")
    name, kind, duration_ms, attributes, status = shape(event)
    end = _nanos(event["occurred_at"])
    return Span(
        trace_id=_id_bytes(event.get("trace_id"), 16, "trace_id"),
        span_id=_id_bytes(event.get("span_id"), 8, "span_id"),
        parent_span_id=_parent(event.get("parent_span_id")),
        name=name,
        kind=kind,
        start_time_unix_nano=max(0, end - int(max(duration_ms, 0.0) * _NS_PER_MS)),
        end_time_unix_nano=end,
        attributes=_key_values(
            {
                "agentbus.event_id": str(event["event_id"]),
                "agentbus.producer": str(event["producer"]),
                **attributes,
            }
        ),
        status=status,
    )


def export_request(spans: Iterable[Span]) -> ExportTraceServiceRequest:
    """The OTLP request carrying ``spans``: one resource (``service.name`` agentbus), one
    scope (agentbus)."""
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=_key_values({"service.name": SERVICE_NAME})),
                scope_spans=[
                    ScopeSpans(scope=InstrumentationScope(name=SERVICE_NAME), spans=list(spans))
                ],
            )
        ]
    )


_Shape = tuple[str, "Span.SpanKind.ValueType", float, Attributes, Status | None]


def _request(event: Mapping[str, Any]) -> _Shape:
    attributes: Attributes = {
        "agentbus.request_id": str(event["request_id"]),
        "agentbus.tenant": str(event["tenant"]),
        "agentbus.target_agent": event.get("target_agent") or "",
        "agentbus.session_id": event.get("session_id") or "",
    }
    if event.get("session_id"):
        attributes["session.id"] = str(event["session_id"])  # Langfuse groups by it
    return "request", Span.SPAN_KIND_SERVER, 0.0, attributes, None


def _task(event: Mapping[str, Any]) -> _Shape:
    attributes: Attributes = {
        "agentbus.request_id": str(event["request_id"]),
        "agentbus.task_id": str(event["task_id"]),
        "agentbus.tenant": str(event["tenant"]),
        "agentbus.agent": str(event["agent"]),
        "agentbus.routing.reason": str(event["routing_reason"]),
        "agentbus.routing.confidence": float(event["routing_confidence"]),
        "agentbus.routing.model_version": event.get("routing_model_version") or "",
    }
    return f"task {event['agent']}", Span.SPAN_KIND_CONSUMER, 0.0, attributes, None


def _invocation(event: Mapping[str, Any]) -> _Shape:
    model, outcome = str(event["model"]), str(event["outcome"])
    attributes: Attributes = {
        # GenAI semantic conventions as attribute names: the constants of
        # opentelemetry-semantic-conventions 0.66b2 are deprecated (FACTS.md).
        "gen_ai.operation.name": "chat",
        "gen_ai.system": str(event["provider"]),
        "gen_ai.provider.name": str(event["provider"]),  # gen_ai.system's newer name
        "gen_ai.request.model": model,
        "gen_ai.response.model": model,
        "gen_ai.request.temperature": float(event["temperature"]),
        "gen_ai.usage.input_tokens": int(event["input_tokens"]),
        "gen_ai.usage.output_tokens": int(event["output_tokens"]),
        "gen_ai.usage.cost_usd": float(event["cost_usd"]),
        "gen_ai.usage.cost": float(event["cost_usd"]),  # what Langfuse reads as the cost
        "gen_ai.agent.name": str(event["agent"]),
        "agentbus.request_id": str(event["request_id"]),
        "agentbus.task_id": str(event["task_id"]),
        "agentbus.tenant": str(event["tenant"]),
        "agentbus.tier": str(event["tier"]),
        "agentbus.attempt": int(event["attempt"]),
        "agentbus.outcome": outcome,
        "agentbus.cache_hit": bool(event["cache_hit"]),
        "agentbus.breaker_state": event.get("breaker_state") or "",
        "agentbus.perturbation": event.get("perturbation") or "",
        "agentbus.decision": event.get("decision") or "",
    }
    status = _status(outcome in _OK_OUTCOMES, event.get("error"))
    return f"chat {model}", Span.SPAN_KIND_CLIENT, _ms(event, "latency_ms"), attributes, status


def _result(event: Mapping[str, Any], prefix: str) -> _Shape:
    attributes: Attributes = {
        "agentbus.request_id": str(event["request_id"]),
        "agentbus.task_id": str(event["task_id"]),
        "agentbus.tenant": str(event["tenant"]),
        "agentbus.agent": str(event["agent"]),
        "agentbus.status": str(event["status"]),
        "gen_ai.request.model": str(event["model"]),
        "gen_ai.usage.input_tokens": int(event["input_tokens"]),
        "gen_ai.usage.output_tokens": int(event["output_tokens"]),
        "gen_ai.usage.cost_usd": float(event["cost_usd"]),
        "agentbus.attempts": int(event["attempts"]),
        "agentbus.answered_by": event.get("answered_by") or "",
        "agentbus.chain": ",".join(event.get("chain") or ()),
    }
    status = {"ok": _status(True, None), "failed": _status(False, event.get("error"))}.get(
        str(event["status"])
    )
    name = f"{prefix} {event['agent']}"
    return name, Span.SPAN_KIND_INTERNAL, _ms(event, "latency_ms"), attributes, status


def _workflow(event: Mapping[str, Any]) -> _Shape:
    attributes: Attributes = {
        "agentbus.request_id": str(event["request_id"]),
        "agentbus.workflow": str(event["workflow"]),
        "agentbus.topology": str(event["topology"]),
        "agentbus.kind": str(event["kind"]),
        "agentbus.step": event.get("step") or "",
        "agentbus.agent": event.get("agent") or "",
        "agentbus.status": event.get("status") or "",
        "agentbus.hop": int(event["hop"]),
        "agentbus.detail": str(event["detail"]),
        "gen_ai.usage.input_tokens": int(event["input_tokens"]),
        "gen_ai.usage.output_tokens": int(event["output_tokens"]),
        "gen_ai.usage.cost_usd": float(event["cost_usd"]),
    }
    failed = (event.get("status") or "") in _ERROR_STATUSES
    status = _status(False, event.get("detail")) if failed else None
    name = f"{event['topology']} {event['kind']}"
    return name, Span.SPAN_KIND_INTERNAL, _ms(event, "duration_ms"), attributes, status


def _dead_letter(event: Mapping[str, Any]) -> _Shape:
    attributes: Attributes = {
        "agentbus.request_id": event.get("request_id") or "",
        "agentbus.error_type": str(event["error_type"]),
        "agentbus.source_topic": str(event["source_topic"]),
        "agentbus.source_partition": int(event["source_partition"]),
        "agentbus.source_offset": int(event["source_offset"]),
    }
    status = _status(False, str(event["reason"]))
    name = f"dead letter {event['error_type']}"
    return name, Span.SPAN_KIND_INTERNAL, 0.0, attributes, status


_SHAPES: Final = {
    "AgentRequest": _request,
    "AgentTask": _task,
    "Invocation": _invocation,
    "AgentResult": lambda event: _result(event, "result"),
    "StepResult": lambda event: _result(event, "step result"),
    "WorkflowEvent": _workflow,
    "DeadLetter": _dead_letter,
}


def _status(ok: bool, message: object) -> Status:
    if ok:
        return Status(code=Status.STATUS_CODE_OK)
    return Status(code=Status.STATUS_CODE_ERROR, message=str(message or ""))


def _ms(event: Mapping[str, Any], field: str) -> float:
    return float(event.get(field) or 0.0)


def _nanos(occurred_at: object) -> int:
    """``occurred_at`` (a datetime as fastavro decodes timestamp-millis, or epoch ms) in
    nanoseconds since the epoch."""
    if isinstance(occurred_at, dt.datetime):
        if occurred_at.tzinfo is None:  # fastavro's naive datetimes are UTC
            occurred_at = occurred_at.replace(tzinfo=dt.UTC)
        delta = occurred_at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if isinstance(occurred_at, int):
        return occurred_at * _NS_PER_MS
    raise UnmappableEvent(f"occurred_at {occurred_at!r} is not a time")


def _id_bytes(value: object, size: int, field: str) -> bytes:
    text = str(value or "")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != size or raw == bytes(size):
        raise UnmappableEvent(f"{field} {text!r} is not {size * 2} hex digits (nor all zero)")
    return raw


def _parent(value: object) -> bytes:
    """The parent span id, or no parent (a root) when there is none."""
    return _id_bytes(value, 8, "parent_span_id") if value else b""


def _key_values(attributes: Attributes) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any_value(value)) for key, value in attributes.items()]


def _any_value(value: str | int | float | bool) -> AnyValue:
    # bool before int: True is an int too.
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=value)
