"""The fintech reference system's pipeline, DAG workflow and mesh on the real broker:
one result per request, the workflow as a tree in ``agentbus trace``, the capability
registry in ``agentbus mesh list``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from agents.reference import REFERENCE_FLOWS, reference_flow_workload, reference_workload
from streams.client import AgentbusClient, ResultFollower
from tests.harness import Stack

pytestmark = pytest.mark.integration


def agentbus(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # our own CLI
        [sys.executable, "-m", "streams.cli.main", *args],
        capture_output=True,
        text=True,
        env={**stack.settings.child_env(), "COLUMNS": "240"},
        timeout=120,
        check=False,
    )


async def _submit_and_collect(
    stack: Stack, workload: list[dict[str, Any]], timeout: float
) -> dict[str, dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    async with ResultFollower(stack.runtime) as follower, AgentbusClient(stack.runtime) as client:
        for item in workload:
            await client.submit(
                item["input"],
                tenant=item["tenant"],
                target_agent=item["target_agent"],
                metadata=item["metadata"],
                request_id=item["request_id"],
            )
        await client.flush()
        ids = {item["request_id"] for item in workload}

        async def collect() -> None:
            async for result in follower.results():
                if result["request_id"] in ids:
                    assert result["request_id"] not in seen, "two results for one request"
                    seen[result["request_id"]] = result
                    if len(seen) == len(ids):
                        return

        await asyncio.wait_for(collect(), timeout)
    return seen


def test_reference_flows_answer_once_and_trace_as_trees(stack: Stack) -> None:
    stack.start_all()
    flows = reference_flow_workload(2, seed=8)
    star = reference_workload(6, seed=8)
    results = asyncio.run(_submit_and_collect(stack, flows + star, timeout=240))

    by_flow = {
        name: [results[r["request_id"]] for r in flows if r["target_agent"] == name]
        for name in REFERENCE_FLOWS
    }
    for name, answered in by_flow.items():
        assert [r["agent"] for r in answered] == [name, name]
        assert all(r["status"] in ("ok", "degraded", "failed") for r in answered), answered
    assert all(results[r["request_id"]]["agent"] not in REFERENCE_FLOWS for r in star)

    report = next(r["request_id"] for r in flows if r["target_agent"] == "monthly_report")
    mesh = next(r["request_id"] for r in flows if r["target_agent"] == "fraud_investigation")
    finished = (
        "SELECT count() FROM agentbus.workflow_events FINAL "
        f"WHERE kind = 'finished' AND request_id IN ('{report}', '{mesh}')"
    )
    stack.wait_until(lambda: stack.scalar(finished) == 2, 60, "both flows finished in ClickHouse")
    steps = f"SELECT count() FROM agentbus.step_results FINAL WHERE request_id = '{report}'"
    stack.wait_until(lambda: stack.scalar(steps) >= 5, 60, "the report's step results")

    traced = agentbus(stack, "trace", report)
    assert traced.returncode == 0, traced.stderr
    text = traced.stdout
    assert "workflow monthly_report (hierarchical)" in text
    assert "parallel categorise ∥ check_anomalies" in text
    assert "step chart → charts" in text and "step summarise → reports" in text
    assert "synthesis" in text and "by priority" in text
    assert "step result ok by ledger" in text
    assert "result " in text and "by monthly_report" in text

    hops = agentbus(stack, "trace", mesh).stdout
    assert "mesh fraud_investigation (mesh)" in hops
    assert "hop 0" in hops and "path fraud → customer_history" in hops
    assert "cycle at hop 2" in hops  # customer_history asks the fraud screen back

    listed = agentbus(stack, "mesh", "list")
    assert listed.returncode == 0, listed.stderr
    for capability, agent in (
        ("fraud_screening", "fraud"),
        ("sanctions_screening", "compliance"),
        ("aml_review", "compliance"),
        ("customer_history", "customer_history"),
    ):
        assert any(
            capability in line and agent in line and "yes" in line
            for line in listed.stdout.splitlines()
        ), listed.stdout
    only = agentbus(stack, "mesh", "list", "--mesh", "nothing")
    assert "no capabilities advertised for mesh 'nothing'" in only.stdout
