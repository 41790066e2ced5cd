"""The claims example (examples/claims) run as a user would: `agentbus run --system …`,
its agents on an OpenAI-compatible endpoint, Anthropic and the sim, the two HTTP
endpoints answered by a local server replaying recorded responses."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.client import AgentbusClient
from tests.harness import Stack, deploy
from tests.replay_server import ReplayServer

pytestmark = pytest.mark.integration

RECORDED = Path(__file__).parents[1] / "fixtures" / "recorded" / "claims"
SYSTEM = "examples.claims.system:system"
OPENAI_KEY = "sk-PLANTED-openai-4f9c2e7a1b"
ANTHROPIC_KEY = "sk-ant-PLANTED-anthropic-8d3b6a0c"


@pytest.fixture
def replay(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[ReplayServer]:
    delay = getattr(request, "param", 0.0)
    with ReplayServer(RECORDED, delay_s=delay) as server:
        # The example reads its endpoint URLs and keys from the environment, which the
        # worker processes inherit.
        monkeypatch.setenv("CLAIMS_OPENAI_URL", f"{server.url}/v1")
        monkeypatch.setenv("CLAIMS_ANTHROPIC_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
        monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
        monkeypatch.setenv("CLAIMS_BOOKINGS_DB", str(tmp_path / "bookings.db"))
        yield server


@pytest.fixture
def claims(kafka_bootstrap: str, tmp_path: Path, replay: ReplayServer) -> Iterator[Stack]:
    stack = deploy(kafka_bootstrap, tmp_path / "agentbus", system=SYSTEM)
    yield stack
    for worker in stack.workers:
        worker.stop()


async def _submit(stack: Stack) -> dict[str, str]:
    async with AgentbusClient(stack.runtime) as client:
        asked = {
            "intake": "Someone rear-ended my car at a red light, the bumper is smashed.",
            "assessor": "Please assess claim CL-2291: bumper repair quoted at 1,850 EUR.",
            "helper": "What does my travel policy cover?",
        }
        ids = {
            agent: (await client.submit(text, target_agent=agent, tenant="acme-insure")).request_id
            for agent, text in asked.items()
        }
        await client.flush()
    return ids


def test_the_claims_example_runs_on_its_endpoints(claims: Stack, replay: ReplayServer) -> None:
    worker = claims.start_all()
    ids = asyncio.run(_submit(claims))

    claims.wait_until(
        lambda: claims.scalar("SELECT count() FROM agentbus.results FINAL") == 3, 90, "3 results"
    )
    rows = {
        agent: (status, provider, model)
        for agent, status, provider, model in claims.gateway()
        .query(
            "SELECT r.agent, r.status, i.provider, i.model FROM agentbus.results AS r FINAL "
            "JOIN agentbus.invocations AS i FINAL ON i.request_id = r.request_id "
            "ORDER BY r.agent"
        )
        .rows
    }
    # One row per agent: a tool round stays inside one attempt.
    assert rows["intake"] == ("ok", "openai", "gpt-4o-mini-2024-07-18")
    assert rows["assessor"] == ("ok", "anthropic", "claude-3-5-haiku-20241022")
    assert rows["helper"][:2] == ("ok", "sim")
    # The recorded servers were called with the keys from the environment...
    openai_calls = [s for s in replay.seen if s.path.endswith("/chat/completions")]
    anthropic_calls = [s for s in replay.seen if s.path.endswith("/v1/messages")]
    assert openai_calls and openai_calls[0].headers["Authorization"] == f"Bearer {OPENAI_KEY}"
    # Tool-call rounds: the model asked for a tool, got its result, then answered.
    assert replay.kinds("openai") == ["tool_call", "final"]
    assert replay.kinds("anthropic") == ["tool_call", "final"]
    runs = {
        name: (arguments, result, error, key)
        for name, arguments, result, error, key in claims.gateway()
        .query(
            "SELECT run.name, run.arguments, run.result, run.error, run.idempotency_key "
            "FROM agentbus.invocations FINAL ARRAY JOIN tool_runs AS run"
        )
        .rows
    }
    assert json.loads(runs["lookup_policy"][0]) == {"policy_no": "POL-1001"}
    assert "comprehensive" in runs["lookup_policy"][1]
    assert runs["lookup_policy"][3] is None or runs["lookup_policy"][3] == ""
    assert runs["book_adjuster"][1] and "ADJ-" in runs["book_adjuster"][1]
    assert runs["book_adjuster"][3], "a side-effecting tool gets an idempotency key"
    assert anthropic_calls and anthropic_calls[0].headers["x-api-key"] == ANTHROPIC_KEY
    # ...and the keys are nowhere a person or a query could read them.
    trace = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "trace", ids["intake"]],
        capture_output=True,
        text=True,
        env=claims.settings.child_env(),
        timeout=60,
        check=True,
    )
    assert "openai" in trace.stdout and "gpt-4o-mini" in trace.stdout
    assert "tool lookup_policy" in trace.stdout and "POL-1001" in trace.stdout
    dump = claims.gateway().query(
        "SELECT concat(input, ifNull(output, ''), ifNull(error, ''), provider) "
        "FROM agentbus.invocations"
    )
    texts = " ".join(str(row) for row in dump.rows)
    log = worker.log_file.read_text()
    for key in (OPENAI_KEY, ANTHROPIC_KEY):
        assert key not in log
        assert key not in trace.stdout + trace.stderr
        assert key not in texts


SPECIALISTS = ["specialist:intake", "specialist:assessor", "specialist:helper"]


async def _submit_assessments(stack: Stack, count: int) -> list[str]:
    async with AgentbusClient(stack.runtime) as client:
        ids = [
            (
                await client.submit(
                    f"Please assess claim CL-{4000 + n}: rear bumper, repair quote {900 + n} EUR.",
                    target_agent="assessor",
                    tenant="acme-insure",
                )
            ).request_id
            for n in range(count)
        ]
        await client.flush()
    return ids


@pytest.mark.chaos
@pytest.mark.parametrize("replay", [0.25], indirect=True)  # model latency: kills land mid-task
def test_a_side_effecting_tool_runs_once_per_task_across_a_specialist_sigkill(
    claims: Stack, replay: ReplayServer, tmp_path: Path
) -> None:
    claims.start_front()
    slow = {"specialist_concurrency": 4}
    specialists = claims.start(SPECIALISTS, name="specialists-1", **slow)
    ids = asyncio.run(_submit_assessments(claims, 40))

    results = "SELECT count() FROM agentbus.results FINAL"
    claims.wait_until(lambda: claims.scalar(results) >= 8, 120, "the first results")
    specialists.kill()
    assert claims.scalar(results) < 40, "the kill must land mid-run"
    claims.start(SPECIALISTS, name="specialists-2", **slow)
    claims.wait_until(lambda: claims.scalar(results) >= 40, 180, "all 40 results")

    db = sqlite3.connect(tmp_path / "bookings.db")
    bookings = db.execute("SELECT count(), count(DISTINCT key) FROM bookings").fetchone()
    calls = db.execute("SELECT count() FROM calls").fetchone()[0]
    db.close()
    assert bookings == (40, 40), "one adjuster visit per claim, none twice"
    assert calls >= 40  # calls beyond 40 were redelivered tasks answered from the ledger
    print(f"book_adjuster called {calls} times for 40 claims, 40 bookings")  # shown with -s
    statuses = (
        claims.gateway()
        .query("SELECT status, count() FROM agentbus.results FINAL GROUP BY status")
        .rows
    )
    assert dict(statuses) == {"ok": 40}
    assert (
        claims.scalar(
            "SELECT count(DISTINCT request_id) FROM agentbus.results FINAL WHERE request_id IN "
            "{ids:Array(String)}",
            ids=ids,
        )
        == 40
    )
