"""Overhead of the HTTP provider path per call, beside a bare httpx call to the same server.

Run from the repository root::

    .venv/bin/python -m bench.http_provider_bench [--number 500] [--repeat 5]

A local server (its own process) replays recorded OpenAI and Anthropic responses
(tests/replay_server.py), so every row pays the same loopback HTTP round trip; the
figures are µs per call (min and median over the repeats, the cases interleaved) and
the overhead is the median minus the bare httpx median of the same API. Rows:

- bare httpx: one POST of the same JSON body with an `httpx.AsyncClient`, response parsed;
- provider: the endpoint's pooled provider as a worker builds it (`ProviderSet`: bounded
  in-flight, chaos wrapper, the OpenAI-compatible or Anthropic provider);
- invoke: the whole invocation path on that provider (breaker, retries, contract, pricing,
  records), the claims example's agent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from agents.contracts.validator import contract_violation
from agents.invocation import InvocationContext, InvocationDeps, invoke
from agents.providers.base import ModelRequest
from streams.providers import ProviderSet
from streams.settings import Settings

RECORDED = Path(__file__).parents[1] / "tests" / "fixtures" / "recorded" / "claims"
CONTEXT = InvocationContext(request_id="bench", task_id="bench", tenant="acme-insure")
TEXT = "Someone rear-ended my car at a red light, the bumper is smashed."


async def _measure_interleaved(
    cases: list[tuple[str, str, Callable[[], Awaitable[object]]]], number: int, repeat: int
) -> list[tuple[str, str, list[float]]]:
    """Each repeat times every case in turn, so drift in machine load hits all alike."""
    samples: dict[tuple[str, str], list[float]] = {(api, name): [] for api, name, _ in cases}
    for _, _, call in cases:
        await call()  # warm up: connections, price lookups
    for _ in range(repeat):
        for api, name, call in cases:
            started = time.perf_counter()
            for _ in range(number):
                await call()
            samples[(api, name)].append((time.perf_counter() - started) / number * 1e6)
    return [(api, name, samples[(api, name)]) for api, name, _ in cases]


async def _run(url: str, number: int, repeat: int) -> list[tuple[str, str, list[float]]]:
    os.environ.setdefault("CLAIMS_OPENAI_URL", f"{url}/v1")
    os.environ.setdefault("CLAIMS_ANTHROPIC_URL", url)
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-bench")
    from examples.claims.system import build_system  # noqa: PLC0415  # after the env is set

    system = build_system()
    with tempfile.TemporaryDirectory() as data:
        providers = ProviderSet(system, Settings(data_dir=Path(data)), ["intake", "assessor"])
    deps = InvocationDeps(fallbacks=system.get, providers=providers.for_agent)
    cases: list[tuple[str, str, Callable[[], Awaitable[object]]]] = []
    async with httpx.AsyncClient() as client:
        for api, agent, path in (
            ("openai", "intake", "/v1/chat/completions"),
            ("anthropic", "assessor", "/v1/messages"),
        ):
            spec = system.get(agent)
            request = ModelRequest(
                model=spec.model,
                system_prompt=spec.render_prompt(tenant=CONTEXT.tenant),
                input_text=TEXT,
                temperature=spec.temperature,
                max_output_tokens=spec.limits.max_output_tokens,
                timeout_s=spec.limits.timeout_s,
                metadata={"agent": agent},
            )
            body = json.dumps(
                {"model": spec.model, "messages": [{"role": "user", "content": TEXT}]}
            )

            async def bare(path: str = path, body: str = body) -> object:
                response = await client.post(
                    f"{url}{path}", content=body, headers={"content-type": "application/json"}
                )
                return response.json()

            async def pooled(request: ModelRequest = request) -> object:
                return await providers.for_agent(request.metadata["agent"]).complete(request)

            async def whole(agent: str = agent) -> object:
                # Without its tools, so that every row makes exactly one HTTP call.
                bare_spec = system.get(agent).model_copy(update={"tools": ()})
                outcome = await invoke(
                    bare_spec, providers.for_agent(agent), TEXT, context=CONTEXT,
                    deps=deps, validate_output=contract_violation,
                )  # fmt: skip
                assert outcome.status == "ok", outcome.error
                return outcome

            cases += [(api, "bare httpx", bare), (api, "provider", pooled), (api, "invoke", whole)]
        rows = await _measure_interleaved(cases, number, repeat)
    await providers.aclose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=500, help="calls per repeat")
    parser.add_argument("--repeat", type=int, default=5, help="repeats per row")
    args = parser.parse_args()
    # The server runs in its own process: in this one it would share the GIL with the
    # client being measured.
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.replay_server", str(RECORDED)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        rows = asyncio.run(_run(url, args.number, args.repeat))
    finally:
        server.kill()
        server.wait()
    print(f"{'api':<10} {'path':<12} {'min µs':>9} {'median µs':>10} {'overhead µs':>12}")
    bare: dict[str, float] = {}
    for api, name, samples in rows:
        median = statistics.median(samples)
        if name == "bare httpx":
            bare[api] = median
        overhead = median - bare[api]
        print(f"{api:<10} {name:<12} {min(samples):>9.1f} {median:>10.1f} {overhead:>+12.1f}")


if __name__ == "__main__":
    main()
