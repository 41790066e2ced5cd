"""The result cache is shared by every replica and expires with its TTL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.client import AgentbusClient, ResultFollower
from tests.harness import Stack, deploy, ids_cycling_partitions

pytestmark = pytest.mark.integration

TTL_S = 3.0
QUESTION = "How do I change the PIN of my card?"


async def ask_repeatedly(stack: Stack) -> list[dict[str, Any]]:
    """The same question 8 times, one at a time; then again once the TTL has passed."""
    answers = []
    # The first ask fills the cache; the 7 repeats then land on every partition.
    request_ids = ids_cycling_partitions(8, stack.settings.partitions)
    async with ResultFollower(stack.runtime) as follower, AgentbusClient(stack.runtime) as client:
        results = follower.results()

        async def ask(text: str, request_id: str | None = None) -> dict[str, Any]:
            submitted = await client.submit(
                text, tenant="acme", target_agent="support", request_id=request_id
            )
            await client.flush()
            while True:
                result = await asyncio.wait_for(anext(results), 60)
                if result["request_id"] == submitted.request_id:
                    return result

        for request_id in request_ids:
            answers.append(await ask(QUESTION, request_id))
        await asyncio.sleep(TTL_S + 0.5)  # the entry's age is the point of this step
        answers.append(await ask("  how do I change the PIN of my CARD?  "))  # same, normalized
    return answers


@pytest.fixture
def stack(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Stack]:
    """A deployment of the fintech system without edges: support's escalations would
    hand requests to transactions, and this test is about support's own answers."""
    deployed = deploy(kafka_bootstrap, tmp_path / "agentbus", system="tests.star_system:system")
    yield deployed
    for worker in deployed.workers:
        worker.stop()


def test_repeated_requests_hit_the_cache_on_any_replica_until_the_ttl(stack: Stack) -> None:
    stack.start_front()
    stack.start(["specialist:support"], name="replica-a", cache_ttl_s=TTL_S)
    stack.start(["specialist:support"], name="replica-b", cache_ttl_s=TTL_S)
    stack.wait_for_members("specialist:support", 2)

    answers = asyncio.run(ask_repeatedly(stack))

    assert all(a["status"] == "ok" for a in answers)
    assert len({a["output"] for a in answers[:8]}) == 1, "a hit returns the cached answer"
    q = stack.gateway().query
    ids = [a["request_id"] for a in answers]
    stack.wait_until(
        lambda: (
            q(
                "SELECT count() FROM agentbus.invocations FINAL "
                "WHERE has({ids:Array(String)}, request_id)",
                {"ids": ids},
            ).rows[0][0]
            >= 9
        ),
        30,
        "the invocations",
    )
    rows = q(
        "SELECT request_id, cache_hit, producer FROM agentbus.invocations FINAL "
        "WHERE has({ids:Array(String)}, request_id) AND outcome IN ('ok', 'cached')",
        {"ids": ids},
    ).rows
    hit = {rid: h for rid, h, _ in rows}
    assert [hit[rid] for rid in ids] == [False] + [True] * 7 + [False]
    hits_by_replica = {p for _, h, p in rows if h}
    assert len(hits_by_replica) == 2, "both replicas served from the one shared cache"
    # The hit rate, as an operator would ask it.
    rate = q(
        "SELECT round(countIf(cache_hit) / count(), 3) FROM agentbus.invocations FINAL "
        "WHERE agent = 'support' AND has({ids:Array(String)}, request_id)",
        {"ids": ids},
    ).rows[0][0]
    assert rate == round(7 / 9, 3)
