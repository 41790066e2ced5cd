"""Events → OpenTelemetry spans (the otlp role's mapping), without Faust or a receiver:
the ids, the tree, the GenAI attributes and the status a Tempo or Langfuse user sees."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from streams.events import child_envelope, envelope
from streams.otlp import SERVICE_NAME, UnmappableEvent, export_request, span_of
from streams.roles.otlp import OtlpSpans
from streams.roles.registry import all_roles
from streams.roles.runtime import Runtime, build_runtime
from streams.settings import Settings
from streams.testing import FakeMessage

AT = dt.datetime(2026, 11, 30, 12, 0, 0, 250_000, tzinfo=dt.UTC)
AT_NS = int(AT.timestamp()) * 1_000_000_000 + 250_000_000


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    settings = Settings(data_dir=tmp_path_factory.mktemp("otlp"), topic_prefix="u.")
    return build_runtime(settings)


def _attrs(span: Span) -> dict[str, Any]:
    def plain(value: AnyValue) -> Any:
        return getattr(value, value.WhichOneof("value") or "string_value")

    return {kv.key: plain(kv.value) for kv in span.attributes}


def _request() -> dict[str, Any]:
    return {
        **envelope(producer="client", trace_id="ab" * 16, parent_span_id=None),
        "occurred_at": AT,
        "request_id": "req-1",
        "tenant": "acme",
        "input": "what is my balance?",
        "target_agent": None,
        "metadata": {},
        "session_id": "s-9",
    }


def _task(request: dict[str, Any]) -> dict[str, Any]:
    return {
        **child_envelope(request, producer="router", kind="task"),
        "occurred_at": AT,
        "request_id": "req-1",
        "task_id": "task-1",
        "tenant": "acme",
        "agent": "support",
        "input": "what is my balance?",
        "routing_reason": "keyword: balance",
        "routing_confidence": 0.9,
        "metadata": {},
        "routing_model_version": None,
    }


def _invocation(task: dict[str, Any], *, outcome: str = "ok", error: str | None = None) -> Any:
    return {
        **child_envelope(task, producer="specialist:support", kind="attempt-1"),
        "occurred_at": AT,
        "request_id": "req-1",
        "task_id": "task-1",
        "tenant": "acme",
        "agent": "support",
        "agent_version": "1",
        "provider": "anthropic",
        "model": "claude-haiku",
        "tier": "small",
        "attempt": 1,
        "outcome": outcome,
        "error": error,
        "input": "what is my balance?",
        "output": "42",
        "temperature": 0.2,
        "input_tokens": 120,
        "output_tokens": 30,
        "latency_ms": 850.0,
        "cost_usd": 0.00042,
        "cache_hit": False,
        "breaker_state": "closed",
        "budget_used": None,
        "tool_calls": [],
        "perturbation": None,
        "decision": None,
        "tool_runs": [],
    }


def _result(task: dict[str, Any], *, status: str = "ok", error: str | None = None) -> Any:
    return {
        **child_envelope(task, producer="specialist:support", kind="result"),
        "occurred_at": AT,
        "request_id": "req-1",
        "task_id": "task-1",
        "tenant": "acme",
        "agent": "support",
        "status": status,
        "output": "42" if status == "ok" else None,
        "error": error,
        "disclaimer": None,
        "model": "claude-haiku",
        "attempts": 1,
        "input_tokens": 120,
        "output_tokens": 30,
        "cost_usd": 0.00042,
        "latency_ms": 1000.0,
        "answered_by": None,
        "chain": [],
    }


def _dead_letter(cause: dict[str, Any]) -> dict[str, Any]:
    return {
        **child_envelope(cause, producer="router", kind="deadletter"),
        "occurred_at": AT,
        "request_id": "req-1",
        "reason": "unknown agent 'nobody'",
        "error_type": "unknown_agent",
        "source_topic": "u.intake",
        "source_partition": 2,
        "source_offset": 17,
        "raw": b"",
    }


def _workflow(request: dict[str, Any], *, status: str | None) -> dict[str, Any]:
    return {
        **child_envelope(request, producer="orchestrator", kind="wf"),
        "occurred_at": AT,
        "request_id": "req-1",
        "tenant": "acme",
        "workflow": "report",
        "topology": "dag",
        "kind": "step_done",
        "step": "categorise",
        "agent": "analyst",
        "task_id": "task-2",
        "status": status,
        "input": None,
        "output": None,
        "detail": "deadline passed",
        "depends_on": [],
        "hop": 0,
        "path": [],
        "dedup_key": None,
        "duration_ms": 2000.0,
        "deadline_at": None,
        "model": None,
        "attempts": 1,
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_usd": 0.001,
    }


def test_a_request_is_the_root_and_its_task_and_attempt_hang_under_it_with_the_event_ids() -> None:
    request = _request()
    task = _task(request)
    invocation = _invocation(task)

    root, child, attempt = (
        span_of("AgentRequest", request),
        span_of("AgentTask", task),
        span_of("Invocation", invocation),
    )

    assert root.trace_id == bytes.fromhex("ab" * 16)
    assert root.span_id == bytes.fromhex(request["span_id"])
    assert root.parent_span_id == b""
    assert (root.name, root.kind) == ("request", Span.SPAN_KIND_SERVER)
    assert child.trace_id == root.trace_id
    assert child.parent_span_id == root.span_id
    assert (child.name, child.kind) == ("task support", Span.SPAN_KIND_CONSUMER)
    assert attempt.parent_span_id == child.span_id
    assert _attrs(root)["agentbus.request_id"] == "req-1"
    assert _attrs(root)["session.id"] == "s-9"
    assert _attrs(child)["agentbus.routing.reason"] == "keyword: balance"


def test_a_model_attempt_is_a_client_span_with_the_genai_attributes_and_its_latency() -> None:
    span = span_of("Invocation", _invocation(_task(_request())))
    attrs = _attrs(span)

    assert (span.name, span.kind) == ("chat claude-haiku", Span.SPAN_KIND_CLIENT)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.system"] == "anthropic"
    assert attrs["gen_ai.request.model"] == "claude-haiku"
    assert attrs["gen_ai.usage.input_tokens"] == 120
    assert attrs["gen_ai.usage.output_tokens"] == 30
    assert attrs["gen_ai.usage.cost_usd"] == pytest.approx(0.00042)
    assert attrs["gen_ai.agent.name"] == "support"
    assert span.end_time_unix_nano == AT_NS
    assert span.end_time_unix_nano - span.start_time_unix_nano == 850 * 1_000_000
    assert span.status.code == Status.STATUS_CODE_OK


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        ("ok", Status.STATUS_CODE_OK),
        ("cached", Status.STATUS_CODE_OK),
        ("partial", Status.STATUS_CODE_OK),
        ("error", Status.STATUS_CODE_ERROR),
        ("timeout", Status.STATUS_CODE_ERROR),
    ],
)
def test_an_attempt_that_failed_is_an_error_span_with_the_error(outcome: str, code: int) -> None:
    error = None if code == Status.STATUS_CODE_OK else "HTTP 503 from the provider"
    span = span_of("Invocation", _invocation(_task(_request()), outcome=outcome, error=error))
    assert span.status.code == code
    assert span.status.message == (error or "")


def test_results_step_results_workflow_events_and_dead_letters_carry_their_status() -> None:
    request = _request()
    task = _task(request)

    ok = span_of("AgentResult", _result(task))
    failed = span_of("AgentResult", _result(task, status="failed", error="all attempts failed"))
    degraded = span_of("AgentResult", _result(task, status="degraded"))
    step = span_of("StepResult", _result(task))
    timed_out = span_of("WorkflowEvent", _workflow(request, status="timed_out"))
    done = span_of("WorkflowEvent", _workflow(request, status="ok"))
    letter = span_of("DeadLetter", _dead_letter(request))

    assert (ok.name, ok.status.code) == ("result support", Status.STATUS_CODE_OK)
    assert ok.parent_span_id == bytes.fromhex(task["span_id"])
    assert ok.end_time_unix_nano - ok.start_time_unix_nano == 1000 * 1_000_000
    assert (failed.status.code, failed.status.message) == (
        Status.STATUS_CODE_ERROR,
        "all attempts failed",
    )
    assert degraded.status.code == Status.STATUS_CODE_UNSET
    assert step.name == "step result support"
    assert (timed_out.name, timed_out.status.code) == ("dag step_done", Status.STATUS_CODE_ERROR)
    assert done.status.code == Status.STATUS_CODE_UNSET
    assert timed_out.end_time_unix_nano - timed_out.start_time_unix_nano == 2000 * 1_000_000
    assert letter.name == "dead letter unknown_agent"
    assert (letter.status.code, letter.status.message) == (
        Status.STATUS_CODE_ERROR,
        "unknown agent 'nobody'",
    )
    assert letter.parent_span_id == bytes.fromhex(request["span_id"])
    assert _attrs(letter)["agentbus.source_offset"] == 17


def test_ids_that_opentelemetry_cannot_carry_are_refused_not_exported_malformed() -> None:
    for bad in ("xyz", "ab" * 8, "00" * 16):
        with pytest.raises(UnmappableEvent, match="trace_id"):
            span_of("AgentRequest", {**_request(), "trace_id": bad})
    with pytest.raises(UnmappableEvent, match="not spans"):
        span_of("BreakerEvent", _request())


def test_a_batch_is_one_resource_named_agentbus_in_one_agentbus_scope() -> None:
    request = _request()
    body = export_request([span_of("AgentRequest", request), span_of("AgentTask", _task(request))])

    [resource] = body.resource_spans
    assert {kv.key: kv.value.string_value for kv in resource.resource.attributes} == {
        "service.name": SERVICE_NAME
    }
    [scope] = resource.scope_spans
    assert scope.scope.name == "agentbus"
    assert [span.name for span in scope.spans] == ["request", "task support"]


def test_the_role_maps_each_topic_and_skips_what_it_cannot_read(runtime: Runtime) -> None:
    topics, codec = runtime.topics, runtime.codec
    request = _request()
    task = _task(request)
    messages = [
        FakeMessage(topics.intake, codec.encode("AgentRequest", request), offset=0),
        FakeMessage(topics.tasks("support"), codec.encode("AgentTask", task), offset=0),
        FakeMessage(topics.invocations, codec.encode("Invocation", _invocation(task)), offset=0),
        FakeMessage(topics.results, b"garbage", offset=1),
        FakeMessage(topics.replies, codec.encode("AgentResult", _result(task)), offset=0),
        FakeMessage(topics.deadletter, codec.encode("DeadLetter", _dead_letter(request))),
    ]
    decide = OtlpSpans(runtime)

    spans = decide.spans(messages)

    assert [span.name for span in spans] == [
        "request",
        "task support",
        "chat claude-haiku",
        "step result support",
        "dead letter unknown_agent",
    ]
    assert decide.skipped == 1
    # Decoded times come back as they went in, to the millisecond.
    assert spans[0].end_time_unix_nano == AT_NS


def test_the_role_reads_every_event_topic_and_not_the_shared_state(runtime: Runtime) -> None:
    topics = runtime.topics
    records = OtlpSpans(runtime).records
    assert set(records) == {
        topics.intake,
        topics.invocations,
        topics.results,
        topics.replies,
        topics.workflow,
        topics.deadletter,
        *topics.all_tasks(),
    }


def test_the_otlp_role_runs_only_when_an_endpoint_is_set(tmp_path: Path) -> None:
    plain = build_runtime(Settings(data_dir=tmp_path))
    export = build_runtime(
        Settings(data_dir=tmp_path, otlp_endpoint="http://localhost:4318/v1/traces")
    )
    assert "otlp" not in all_roles(plain)
    assert all_roles(export)[-1] == "otlp"
