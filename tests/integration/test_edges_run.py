"""Edges that run, on the real broker and chdb: support's escalated answers end answered
by transactions, the rest by support, each request with exactly one result."""

from __future__ import annotations

import asyncio

import pytest
from rich.console import Console

from streams.cli.commands_query import render_trace
from streams.warehouse.queries import load_trace
from tests.harness import Stack
from tests.integration.test_spine import submit_and_collect

pytestmark = pytest.mark.integration

# Sent to support by name: the sim decides escalate from each text's own seed.
TEXTS = [
    f"Someone used my card ending {4000 + n} at a shop I never visited, please check it"
    for n in range(40)
]


def test_escalated_support_answers_are_answered_by_transactions(stack: Stack) -> None:
    stack.start_all()
    items = [{"input": text, "tenant": "acme", "target_agent": "support"} for text in TEXTS]

    asyncio.run(submit_and_collect(stack, items, timeout=120))

    settled = """
        SELECT count(DISTINCT request_id) FROM agentbus.results FINAL
        WHERE request_id IN (SELECT request_id FROM agentbus.requests FINAL)
    """
    stack.wait_until(lambda: stack.scalar(settled) == len(TEXTS), 60, "every request's result")
    # The sink reads replies and results side by side: wait for the steps too.
    handed_on = """
        SELECT (SELECT count() FROM agentbus.results FINAL WHERE agent = 'transactions')
             = (SELECT count() FROM agentbus.step_results FINAL)
    """
    stack.wait_until(lambda: bool(stack.scalar(handed_on)), 30, "support's step results")
    steps = (
        stack.gateway()
        .query("SELECT request_id, agent, status FROM agentbus.step_results FINAL")
        .rows
    )
    escalated = {str(rid) for rid, _, _ in steps}
    assert escalated, "the sim escalates some support answers"
    assert {(agent, status) for _, agent, status in steps} <= {
        ("support", "ok"),
        ("support", "degraded"),
    }
    assert len(steps) == len(escalated), "one support step per escalated request"
    rows = (
        stack.gateway()
        .query("SELECT request_id, agent, chain, status FROM agentbus.results FINAL")
        .rows
    )
    assert len(rows) == len({row[0] for row in rows}) == len(TEXTS), "one result per request"
    for request_id, agent, chain, _ in rows:
        if request_id in escalated:
            assert (agent, list(chain)) == ("transactions", ["support"]), request_id
        else:
            assert (agent, list(chain)) == ("support", []), request_id
    handed = (
        stack.gateway()
        .query(
            "SELECT DISTINCT routing_reason FROM agentbus.tasks FINAL WHERE agent = 'transactions'"
        )
        .rows
    )
    assert handed == [["edge support → transactions: escalate is true"]]
    assert len(escalated) < len(TEXTS), "some answers do not escalate"

    trace = Console(record=True, width=200, color_system=None)
    [shown, *_] = sorted(row[0] for row in rows if row[0] in escalated and row[3] == "ok")
    trace.print(render_trace(shown, load_trace(stack.gateway(), shown)))
    text = trace.export_text()
    assert "edge support → transactions (escalate is true)" in text
    assert "step result ok by support" in text
    assert "result ok by transactions" in text
