"""Pipelines, DAG workflows, sagas and meshes on the real broker, every step in ClickHouse."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from streams.client import AgentbusClient, ResultFollower
from tests.harness import Stack, deploy

pytestmark = pytest.mark.integration

SYSTEM = "tests.flows_system:system"


async def submit_and_collect(
    stack: Stack, targets: list[str], timeout: float
) -> dict[str, dict[str, Any]]:
    """Submit one request per target; the results seen on ``results``, by request id
    (a second result for a request would show as a duplicate in ``seen_twice``)."""
    seen: dict[str, dict[str, Any]] = {}
    async with ResultFollower(stack.runtime) as follower, AgentbusClient(stack.runtime) as client:
        ids = set()
        for i, target in enumerate(targets):
            submitted = await client.submit(f"request {i} for {target}", target_agent=target)
            ids.add(submitted.request_id)
        await client.flush()

        async def collect() -> None:
            async for result in follower.results():
                if result["request_id"] in ids:
                    assert result["request_id"] not in seen, "two results for one request"
                    seen[result["request_id"]] = result
                    if len(seen) == len(ids):
                        return

        await asyncio.wait_for(collect(), timeout)
    return seen


@pytest.fixture
def flows(kafka_bootstrap: str, tmp_path: Path) -> Any:
    deployed = deploy(kafka_bootstrap, tmp_path / "agentbus", system=SYSTEM)
    yield deployed
    for worker in deployed.workers:
        worker.stop()


def test_every_topology_ends_each_request_with_one_result_and_records_its_steps(
    flows: Stack,
) -> None:
    flows.start_all()
    targets = ["report"] * 4 + ["booking"] * 2 + ["loop"] * 2 + ["ingest"] * 12
    results = asyncio.run(submit_and_collect(flows, targets, timeout=180))

    by_target: dict[str, list[dict[str, Any]]] = {}
    for result in results.values():
        by_target.setdefault(result["agent"], []).append(result)
    # The diamond: every step ran, the synthesis merged them.
    assert [r["status"] for r in by_target["report"]] == ["ok"] * 4
    merged = json.loads(by_target["report"][0]["output"])
    assert set(merged["sources"].values()) <= {"fetch", "categorise", "anomalies", "summarise"}
    assert all(r["attempts"] == 4 for r in by_target["report"])
    # The saga: charge failed, reserve then book were undone.
    assert [r["status"] for r in by_target["booking"]] == ["failed"] * 2
    assert all(r["error"].endswith("compensated: reserve, book") for r in by_target["booking"])
    # The mesh answered with a, b and c; the ask back to a is a recorded cycle.
    for result in by_target["loop"]:
        answers = json.loads(result["output"])["answers"]
        assert [a["agent"] for a in answers] == ["a", "b", "c"]
    # The pipeline under a burst: one runs, two wait, the oldest waiting are dropped.
    ingest = by_target["ingest"]
    dropped = [r for r in ingest if r["status"] == "dropped"]
    assert len(ingest) == 12 and dropped and len(dropped) < 12
    assert all("drop_oldest" in r["error"] for r in dropped)

    def count(sql: str) -> int:
        return int(flows.scalar(sql))

    flows.wait_until(
        lambda: count("SELECT count() FROM agentbus.results FINAL") == len(targets),
        60,
        "every result in ClickHouse",
    )
    flows.wait_until(
        lambda: (
            count("SELECT count() FROM agentbus.workflow_events FINAL WHERE kind = 'finished'")
            == len(targets)
        ),
        60,
        "every workflow finished in ClickHouse",
    )
    assert count(
        "SELECT count() FROM agentbus.workflow_events FINAL WHERE kind = 'dropped'"
    ) == len(dropped)
    assert count("SELECT count() FROM agentbus.workflow_events FINAL WHERE kind = 'cycle'") == 2
    order = (
        flows.gateway()
        .query(
            """
        SELECT groupArray(step) FROM (
            SELECT request_id, step FROM agentbus.workflow_events FINAL
            WHERE workflow = 'booking' AND kind = 'compensated'
            ORDER BY request_id, occurred_at, event_id)
        GROUP BY request_id
        """
        )
        .rows
    )
    assert [row[0] for row in order] == [["reserve", "book"]] * 2
    # Steps land in step_results, never in results: one final result per request.
    assert count("SELECT count() FROM agentbus.results FINAL WHERE agent = 'report'") == 4
    flows.wait_until(
        lambda: count("SELECT count() FROM agentbus.step_results FINAL WHERE agent = 'fetch'") == 4,
        60,
        "the fetch steps in step_results",
    )
