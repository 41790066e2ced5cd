"""The claims example (examples/claims) run as a user would: `agentbus run --system …`,
its agents on an OpenAI-compatible endpoint, Anthropic and the sim, the two HTTP
endpoints answered by a local server replaying recorded responses."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.broker import ensure_topics
from streams.client import AgentbusClient
from streams.roles.runtime import build_runtime
from streams.settings import Settings
from tests.harness import Stack
from tests.replay_server import ReplayServer

pytestmark = pytest.mark.integration

RECORDED = Path(__file__).parents[1] / "fixtures" / "recorded" / "claims"
SYSTEM = "examples.claims.system:system"
OPENAI_KEY = "sk-PLANTED-openai-4f9c2e7a1b"
ANTHROPIC_KEY = "sk-ant-PLANTED-anthropic-8d3b6a0c"


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    with ReplayServer(RECORDED) as server:
        # The example reads its endpoint URLs and keys from the environment, which the
        # worker processes inherit.
        monkeypatch.setenv("CLAIMS_OPENAI_URL", f"{server.url}/v1")
        monkeypatch.setenv("CLAIMS_ANTHROPIC_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
        monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
        yield server


@pytest.fixture
def claims(kafka_bootstrap: str, tmp_path: Path, replay: ReplayServer) -> Iterator[Stack]:
    settings = Settings(
        system=SYSTEM,
        data_dir=tmp_path / "agentbus",
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        partitions=3,
        sim_latency_scale=0.0,
        sink_flush_seconds=0.2,
    )
    runtime = build_runtime(settings)
    asyncio.run(ensure_topics(kafka_bootstrap, runtime.topics.specs()))
    stack = Stack(settings, runtime)
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
    assert rows["intake"] == ("ok", "openai", "gpt-4o-mini-2024-07-18")
    assert rows["assessor"] == ("ok", "anthropic", "claude-3-5-haiku-20241022")
    assert rows["helper"][:2] == ("ok", "sim")
    # The recorded servers were called with the keys from the environment...
    openai_calls = [s for s in replay.seen if s.path.endswith("/chat/completions")]
    anthropic_calls = [s for s in replay.seen if s.path.endswith("/v1/messages")]
    assert openai_calls and openai_calls[0].headers["Authorization"] == f"Bearer {OPENAI_KEY}"
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
