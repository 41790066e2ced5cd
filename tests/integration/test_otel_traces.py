"""The otel_traces view on a real run: each request's spans form one tree per trace, in
the shape the Grafana ClickHouse plugin's trace view reads."""

from __future__ import annotations

import asyncio

import pytest

from agents.reference import reference_workload
from tests.harness import Stack
from tests.integration.test_spine import submit_and_collect

pytestmark = pytest.mark.integration

SPANS_SQL = """
SELECT TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, Duration,
       StatusCode, SpanAttributes
FROM agentbus.otel_traces
WHERE TraceId = {trace:String}
ORDER BY Timestamp
"""


def test_a_request_trace_is_one_tree_of_spans_with_genai_attributes(stack: Stack) -> None:
    stack.start_all()
    results = asyncio.run(submit_and_collect(stack, reference_workload(40, seed=5), 180))
    assert len(results) == 40
    stack.wait_until(
        lambda: (
            stack.scalar(
                "SELECT uniqExact(TraceId) FROM agentbus.otel_traces WHERE SpanName LIKE 'result %'"
            )
            >= 40
        ),
        60,
        "40 traces with a result span",
    )
    for request_id, result in results.items():
        gateway = stack.gateway()
        rows = gateway.query(SPANS_SQL, {"trace": result["trace_id"]}).rows
        spans = {row[1]: row for row in rows}
        roots = [row for row in rows if row[2] == ""]
        assert len(roots) == 1 and roots[0][3] == "request", request_id
        # Every other span's parent is a span of the same trace: one connected tree.
        assert all(row[2] in spans for row in rows if row[2]), request_id
        kinds = {row[3].split(" ")[0]: row for row in rows}
        assert {"request", "task", "chat", "result"} <= set(kinds), request_id
        chat = kinds["chat"]
        attributes = chat[8]
        assert chat[4] == "Client"
        if attributes["agentbus.outcome"] != "cached":
            assert chat[6] > 0  # a model call, its latency in nanoseconds
        assert attributes["gen_ai.system"]
        assert attributes["gen_ai.request.model"]
        assert int(attributes["gen_ai.usage.input_tokens"]) >= 0
        assert "gen_ai.usage.cost_usd" in attributes
        assert attributes["agentbus.request_id"] == request_id
