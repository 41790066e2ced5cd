"""A specialist worker killed with SIGKILL mid-run and started again: every request
still ends with exactly one result (idempotent by event_id, deduplicated in ClickHouse)."""

from __future__ import annotations

import asyncio

import pytest

from agents.reference import reference_workload
from streams.client import AgentbusClient
from tests.harness import Stack

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

SPECIALISTS = [
    "specialist:support",
    "specialist:transactions",
    "specialist:reports",
    "specialist:general",
]


async def submit(stack: Stack, count: int) -> list[str]:
    async with AgentbusClient(stack.runtime) as client:
        ids = [
            (await client.submit(item["input"], tenant=item["tenant"])).request_id
            for item in reference_workload(count, seed=5)
        ]
        await client.flush()
    return ids


def test_killed_specialist_restarts_and_every_request_has_exactly_one_result(stack: Stack) -> None:
    stack.start_front()
    # 200 ms per model call and 5 calls in flight per specialist: at most about 100
    # requests/s, so 400 take seconds and the kill lands in the middle of the run.
    slow = {"sim_latency_ms": 200.0, "sim_latency_scale": 1.0, "specialist_concurrency": 5}
    specialists = stack.start(SPECIALISTS, name="specialists-1", **slow)
    ids = asyncio.run(submit(stack, 400))

    results = "SELECT count() FROM agentbus.results FINAL"
    stack.wait_until(lambda: stack.scalar(results) >= 60, 120, "the first results")
    specialists.kill()
    done_at_kill = stack.scalar(results)
    assert done_at_kill < 400, "the kill must land mid-run"

    stack.start(SPECIALISTS, name="specialists-2", **slow)
    stack.wait_until(lambda: stack.scalar(results) >= 400, 240, "all 400 results after the restart")

    per_request = (
        stack.gateway()
        .query("SELECT request_id, count() AS n FROM agentbus.results FINAL GROUP BY request_id")
        .rows
    )
    assert len(per_request) == 400
    assert {n for _, n in per_request} == {1}
    assert {rid for rid, _ in per_request} == set(ids)
    # And no request lost its invocation trail.
    without = stack.scalar(
        "SELECT count() FROM agentbus.results FINAL WHERE request_id NOT IN "
        "(SELECT request_id FROM agentbus.invocations)"
    )
    assert without == 0
