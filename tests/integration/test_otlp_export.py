"""The otlp role on a real run: every request's spans reach an OTLP/HTTP receiver as one
tree per trace, with the GenAI attributes and the configured headers; a receiver that
refuses for good halts the worker with one error line."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from pydantic import SecretStr

from agents.reference import reference_workload
from streams.client import AgentbusClient
from streams.otlp.testing import OtlpReceiver
from streams.roles.runtime import EXIT_HALTED
from tests.harness import Stack
from tests.integration.test_spine import submit_and_collect

pytestmark = pytest.mark.integration

HEADERS = "Authorization=Basic%20cGstbGYtMTpzay1sZi0x,x-langfuse-ingestion-version=4"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as started:
        yield started


def _attrs(span: Span) -> dict[str, Any]:
    def plain(value: AnyValue) -> Any:
        return getattr(value, value.WhichOneof("value") or "string_value")

    return {kv.key: plain(kv.value) for kv in span.attributes}


def _traces(receiver: OtlpReceiver) -> dict[str, dict[bytes, Span]]:
    """Spans by trace (hex) and span id: a redelivered event is the same span twice."""
    traces: dict[str, dict[bytes, Span]] = defaultdict(dict)
    for span in receiver.spans:
        traces[span.trace_id.hex()][span.span_id] = span
    return traces


def test_every_request_arrives_as_one_tree_of_spans_with_genai_attributes(
    stack: Stack, receiver: OtlpReceiver
) -> None:
    # With the endpoint set, `agentbus run` runs the otlp role beside the others.
    stack.start_all(
        otlp_endpoint=receiver.url,
        otlp_headers=SecretStr(HEADERS),
        otlp_flush_seconds=0.2,
    )
    results = asyncio.run(submit_and_collect(stack, reference_workload(30, seed=9), 180))
    assert len(results) == 30
    wanted = {result["trace_id"] for result in results.values()}

    def every_result_exported() -> bool:
        traces = _traces(receiver)
        return all(
            any(span.name.startswith("result ") for span in traces[trace].values())
            for trace in wanted
        )

    stack.wait_until(every_result_exported, 60, "a result span of every trace at the receiver")

    traces = _traces(receiver)
    for request_id, result in results.items():
        spans = traces[result["trace_id"]]
        roots = [span for span in spans.values() if not span.parent_span_id]
        assert [root.name for root in roots] == ["request"], request_id
        # Every other span's parent is a span of the same trace: one connected tree.
        children = [span for span in spans.values() if span.parent_span_id]
        assert all(span.parent_span_id in spans for span in children), request_id
        names = {span.name.split(" ")[0] for span in spans.values()}
        assert {"request", "task", "chat", "result"} <= names, request_id
        for chat in (span for span in spans.values() if span.name.startswith("chat ")):
            attributes = _attrs(chat)
            assert chat.kind == Span.SPAN_KIND_CLIENT
            assert attributes["gen_ai.operation.name"] == "chat"
            assert attributes["gen_ai.system"]
            assert chat.name == f"chat {attributes['gen_ai.request.model']}"
            assert attributes["gen_ai.usage.input_tokens"] >= 0
            assert attributes["gen_ai.usage.output_tokens"] >= 0
            assert "gen_ai.usage.cost_usd" in attributes
            assert attributes["agentbus.request_id"] == request_id
            assert chat.end_time_unix_nano >= chat.start_time_unix_nano > 0
    exports = receiver.exports
    assert exports
    assert {export.headers.get("authorization") for export in exports} == {
        "Basic cGstbGYtMTpzay1sZi0x"
    }
    resources = {
        kv.value.string_value
        for export in exports
        for resource in export.request.resource_spans
        for kv in resource.resource.attributes
        if kv.key == "service.name"
    }
    assert resources == {"agentbus"}


def test_a_receiver_that_refuses_for_good_halts_the_worker_with_one_error_line(
    stack: Stack, receiver: OtlpReceiver
) -> None:
    receiver.answer(*[401] * 1000)
    worker = stack.start(["otlp"], name="otlp", otlp_endpoint=receiver.url, otlp_flush_seconds=0.2)
    asyncio.run(_submit_one(stack))

    stack.wait_until(lambda: not worker.alive(), 90, "the otlp worker to halt")

    assert worker.process.returncode == EXIT_HALTED
    assert receiver.refused[:1] == [401] and not receiver.exports
    log = worker.log_tail(40)
    [line] = [line for line in log.splitlines() if "otlp cannot go on at" in line]
    assert "ExportRejected" in line and "HTTP 401" in line and "AGENTBUS_OTLP_HEADERS" in line


async def _submit_one(stack: Stack) -> None:
    async with AgentbusClient(stack.runtime) as client:
        await client.submit("what is my balance?", tenant="acme")
        await client.flush()
