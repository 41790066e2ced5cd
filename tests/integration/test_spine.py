"""The event spine end to end on the real broker and chdb: intake → router →
specialists → results, every step in ClickHouse, joined by request_id."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agents.reference import reference_workload
from streams.client import AgentbusClient, ResultFollower
from tests.harness import Stack

pytestmark = pytest.mark.integration


async def submit_and_collect(
    stack: Stack, items: list[dict[str, Any]], timeout: float
) -> dict[str, Any]:
    """Submit ``items``; return the results seen on the results topic, by request_id."""
    seen: dict[str, dict[str, Any]] = {}
    async with ResultFollower(stack.runtime) as follower, AgentbusClient(stack.runtime) as client:
        ids = set()
        for item in items:
            submitted = await client.submit(
                item["input"],
                tenant=item["tenant"],
                target_agent=item.get("target_agent"),
                metadata=item.get("metadata") or {},
            )
            ids.add(submitted.request_id)
        await client.flush()

        async def collect() -> None:
            async for result in follower.results():
                if result["request_id"] in ids:
                    seen.setdefault(result["request_id"], result)
                    if len(seen) == len(ids):
                        return

        await asyncio.wait_for(collect(), timeout)
    return seen


def test_thousand_requests_give_exactly_a_thousand_results_in_clickhouse(stack: Stack) -> None:
    stack.start_all()
    workload = reference_workload(1000, seed=11)

    results = asyncio.run(submit_and_collect(stack, workload, timeout=240))

    assert len(results) == 1000
    assert {r["status"] for r in results.values()} <= {"ok", "failed"}
    join = """
        SELECT count(DISTINCT q.request_id), count(DISTINCT r.event_id), count(DISTINCT i.event_id)
        FROM agentbus.requests AS q FINAL
        INNER JOIN agentbus.results AS r FINAL ON r.request_id = q.request_id
        INNER JOIN agentbus.invocations AS i FINAL ON i.request_id = q.request_id
        """
    # The sink reads intake, invocations and results side by side; a topic's rows may
    # land a batch after another's, so wait for the join, not only for the results.
    stack.wait_until(
        lambda: stack.gateway().query(join).rows[0][0] >= 1000, 90, "1000 requests joined"
    )
    requests, result_rows, invocations = stack.gateway().query(join).rows[0]
    assert requests == 1000
    assert result_rows == 1000
    assert invocations >= 1000
    assert stack.scalar("SELECT count() FROM agentbus.requests FINAL") == 1000
    assert stack.scalar("SELECT count() FROM agentbus.results FINAL") == 1000
    # One routed task per request, plus one per escalation support handed on (edge).
    stack.wait_until(
        lambda: (
            stack.scalar("SELECT count() FROM agentbus.tasks FINAL")
            == 1000 + stack.scalar("SELECT count() FROM agentbus.step_results FINAL")
        ),
        30,
        "a task per request and per escalation",
    )
    # Every result's cost is the sum of its attempts' costs (nothing unrecorded).
    mismatched = stack.scalar(
        """
        SELECT countIf(abs(r.cost_usd - i.cost) > 1e-9) FROM agentbus.results AS r FINAL
        INNER JOIN (SELECT task_id, sum(cost_usd) AS cost FROM agentbus.invocations FINAL
                    GROUP BY task_id) AS i ON i.task_id = r.task_id
        """
    )
    assert mismatched == 0


def test_routing_reasons_and_explicit_targets_are_recorded(stack: Stack) -> None:
    stack.start_all()
    items = [
        {"input": "Please send me the quarterly revenue report", "tenant": "acme"},
        {"input": "hello there", "tenant": "acme", "target_agent": "transactions"},
        {"input": "zzz qqq", "tenant": "acme"},
    ]
    results = asyncio.run(submit_and_collect(stack, items, timeout=60))

    agents = sorted(r["agent"] for r in results.values())
    assert agents == ["general", "reports", "transactions"]
    stack.wait_until(
        lambda: stack.scalar("SELECT count() FROM agentbus.tasks FINAL") == 3, 30, "tasks"
    )
    reasons = dict(
        stack.gateway().query("SELECT agent, routing_reason FROM agentbus.tasks FINAL").rows
    )
    assert "report" in reasons["reports"]
    assert "explicit" in reasons["transactions"]
    assert "no keyword matched" in reasons["general"]
