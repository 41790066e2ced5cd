"""An agent's model goes down at runtime (`agentbus chaos`), with two specialist replicas:
the breaker opens on every replica, the outage is served by the fallback with a
disclaimer, exactly one probe per cooldown, and `--clear` closes the breaker."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.client import AgentbusClient, ResultFollower
from tests.harness import Stack, deploy, ids_cycling_partitions

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

COOLDOWN_S = 4.0
KEY = "support/sim-small"


def agentbus(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *args],
        capture_output=True,
        text=True,
        env=stack.settings.child_env(),
        timeout=60,
        check=True,
    )
    return done.stdout


class Asker:
    """Submits one request at a time to `support` and waits for its result."""

    def __init__(self, stack: Stack, client: AgentbusClient, follower: ResultFollower) -> None:
        self.stack, self.client, self.results = stack, client, follower.results()
        self.ids: list[str] = []

    async def ask(self, text: str) -> dict[str, Any]:
        # Ids cycle over the partitions, so every replica gets its share of the outage.
        if not self.ids:
            self.ids = ids_cycling_partitions(12, self.stack.settings.partitions)
        submitted = await self.client.submit(
            text, tenant="acme", target_agent="support", request_id=self.ids.pop(0)
        )
        await self.client.flush()
        while True:
            result = await asyncio.wait_for(anext(self.results), 60)
            if result["request_id"] == submitted.request_id:
                return result


async def outage(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    phases: dict[str, list[dict[str, Any]]] = {"before": [], "outage": [], "after": []}
    async with ResultFollower(stack.runtime) as follower, AgentbusClient(stack.runtime) as client:
        asker = Asker(stack, client, follower)
        phases["before"].append(await asker.ask("How do I reset my password? (warm-up)"))
        agentbus(stack, "chaos", "support", "--error-rate", "1")
        await asyncio.sleep(1.0)  # the policy reaches every replica within a second
        # Long enough for the breaker to open, cool down and be probed at least twice.
        deadline = time.monotonic() + 3 * COOLDOWN_S
        n = 0
        while time.monotonic() < deadline:
            n += 1
            phases["outage"].append(await asker.ask(f"My card was declined at shop {n}, why?"))
            await asyncio.sleep(0.25)
        agentbus(stack, "chaos", "support", "--clear")
        await asyncio.sleep(1.0)
        deadline = time.monotonic() + 3 * COOLDOWN_S
        while time.monotonic() < deadline:
            n += 1
            result = await asker.ask(f"What is the fee for a card replacement {n}?")
            phases["after"].append(result)
            if result["status"] == "ok":
                break
            await asyncio.sleep(0.25)
    return phases


@pytest.fixture
def stack(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Stack]:
    """A deployment of the fintech system without edges: support's escalations would
    hand requests to transactions, and this test is about support's own answers."""
    deployed = deploy(kafka_bootstrap, tmp_path / "agentbus", system="tests.star_system:system")
    yield deployed
    for worker in deployed.workers:
        worker.stop()


def test_breaker_opens_everywhere_degrades_probes_once_and_closes(stack: Stack) -> None:
    front = stack.start_front()
    replicas = ["specialist:support", "specialist:general"]
    stack.start(replicas, name="replica-a", breaker_cooldown_s=COOLDOWN_S)
    stack.start(replicas, name="replica-b", breaker_cooldown_s=COOLDOWN_S)
    stack.wait_for_members("specialist:support", 2)
    assert front.alive()

    phases = asyncio.run(outage(stack))

    assert [r["status"] for r in phases["before"]] == ["ok"]
    # During the outage every answer came from the fallback, marked and explained.
    assert phases["outage"] and all(r["status"] == "degraded" for r in phases["outage"])
    assert all(r["answered_by"] == "general" and r["disclaimer"] for r in phases["outage"])
    # After --clear the next probe succeeds and full service resumes.
    assert phases["after"][-1]["status"] == "ok"

    q = stack.gateway().query
    stack.wait_until(
        lambda: (
            q(
                "SELECT count() FROM agentbus.breaker_events FINAL WHERE key = {k:String} "
                "AND to_state = 'closed'",
                {"k": KEY},
            ).rows[0][0]
            >= 1
        ),
        30,
        "the closing event",
    )
    transitions = q(
        "SELECT from_state, to_state, epoch, replica, occurred_at "
        "FROM agentbus.breaker_events FINAL WHERE key = {k:String} AND kind = 'transition' "
        "ORDER BY occurred_at",
        {"k": KEY},
    ).rows
    states = [(f, t) for f, t, *_ in transitions]
    assert states[0] == ("closed", "open")
    assert states[-1] == ("half_open", "closed")
    probes = [row for row in transitions if row[1] == "half_open"]
    assert len(probes) >= 2, "at least one failed probe and the successful one"
    assert len({row[2] for row in probes}) == len(probes), "one probe per epoch"
    opened_at, closed_at = transitions[0][4], transitions[-1][4]

    # While open, no replica started a primary call: only the probes reached the model,
    # the successful one included. Its call ends (and is stamped) just before the closing
    # transition, often in the same millisecond, hence "<=".
    calls = q(
        "SELECT breaker_state, count() FROM agentbus.invocations FINAL WHERE agent = 'support' "
        "AND model = 'sim-small' AND outcome NOT IN ('skipped', 'cached') "
        # A call starts latency_ms before its event's time.
        "AND occurred_at - toIntervalMillisecond(toInt64(latency_ms)) > {a:DateTime64(3)} "
        "AND occurred_at <= {b:DateTime64(3)} GROUP BY 1",
        {"a": opened_at, "b": closed_at},
    ).rows
    assert dict(calls) == {"half_open": len(probes)}, calls
    # Both replicas saw it open: each skipped calls on the shared state.
    skipping = q(
        "SELECT uniqExact(producer) FROM agentbus.invocations FINAL WHERE agent = 'support' "
        "AND model = 'sim-small' AND breaker_state = 'open'"
    ).rows[0][0]
    assert skipping == 2
    # The failures that opened it: at most the threshold per replica.
    before_open = q(
        "SELECT count() FROM agentbus.invocations FINAL WHERE agent = 'support' "
        "AND model = 'sim-small' AND outcome = 'error' AND occurred_at <= {a:DateTime64(3)}",
        {"a": opened_at},
    ).rows[0][0]
    assert 3 <= before_open <= 6

    # And an operator can read all of it in `agentbus trace`.
    degraded_id = phases["outage"][-1]["request_id"]
    stack.wait_until(
        lambda: (
            q(
                "SELECT count() FROM agentbus.results FINAL WHERE request_id = {r:String}",
                {"r": degraded_id},
            ).rows[0][0]
            == 1
        ),
        30,
        "the degraded result in ClickHouse",
    )
    shown = agentbus(stack, "trace", degraded_id)
    assert "degraded" in shown and "answered by the fallback agent general" in shown
    assert "disclaimer" in shown
