"""Overhead of the invocation path (cache, tiers, budget, breaker, retries, pricing,
records) per call, beside a bare `provider.complete` on the sim at zero latency.

Run from the repository root::

    .venv/bin/python -m bench.invocation_bench [--number 2000] [--repeat 7]

Every case runs in one event loop, `number` calls per repeat; the figures are µs per
call, min and median over the repeats, and the overhead is the median minus the bare
call's median. The sim at `latency_scale=0` still hashes the request and builds its
answer, so the bare row is the floor a model call cannot go below here; on a real
model the call itself takes 10^5-10^7 µs. Compare rows of one run, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from agents import InvocationContext, ModelRequest, SimConfig, SimProvider, fintech_system, invoke
from agents.budget import TokenBudget
from agents.invocation import InvocationDeps

CONTEXT = InvocationContext(request_id="bench", task_id="bench", tenant="acme-bank")
TEXT = "Why was I charged a $29.00 fee on my account this month?"


async def _measure(call: Callable[[], Awaitable[object]], number: int, repeat: int) -> list[float]:
    await call()  # warm caches (price lookups, compiled regexes, the result cache)
    per_call: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            await call()
        per_call.append((time.perf_counter() - started) / number * 1e6)
    return per_call


async def _run(number: int, repeat: int) -> list[tuple[str, list[float]]]:
    system = fintech_system()
    support = system.get("support")
    uncached = support.model_copy(update={"cache_ttl_s": None})
    reports = system.get("reports")  # tiers and a 6000-token budget
    provider = SimProvider(SimConfig(latency_scale=0.0))
    deps = InvocationDeps(fallbacks=system.get)
    request = ModelRequest(
        model=support.model,
        system_prompt=support.render_prompt(tenant=CONTEXT.tenant),
        input_text=TEXT,
        temperature=support.temperature,
        max_output_tokens=support.limits.max_output_tokens,
        timeout_s=support.limits.timeout_s,
        tools=support.tools,
        metadata={"agent": support.name, "tier": support.tier},
    )
    # A budget large enough never to run out over the whole run.
    shared = TokenBudget(10**12)

    cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("bare provider.complete (sim, zero latency)", lambda: provider.complete(request)),
        (
            "invoke, cache miss (support, no cache)",
            lambda: invoke(uncached, provider, TEXT, context=CONTEXT, deps=deps),
        ),
        (
            "invoke, cache miss + shared budget",
            lambda: invoke(uncached, provider, TEXT, context=CONTEXT, deps=deps, budget=shared),
        ),
        (
            "invoke, tiers + agent budget (reports)",
            lambda: invoke(reports, provider, TEXT, context=CONTEXT, deps=deps),
        ),
        (
            "invoke, cache hit (support, ttl 300s)",
            lambda: invoke(support, provider, TEXT, context=CONTEXT, deps=deps),
        ),
    ]
    return [(name, await _measure(call, number, repeat)) for name, call in cases]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per repeat")
    parser.add_argument("--repeat", type=int, default=7, help="repeats (min/median over them)")
    args = parser.parse_args()

    results = asyncio.run(_run(args.number, args.repeat))
    bare = statistics.median(results[0][1])
    print(f"{args.number} calls x {args.repeat} repeats; µs per call")
    print(f"{'case':<44} {'min':>9} {'median':>9} {'overhead':>9}")
    for name, samples in results:
        median = statistics.median(samples)
        overhead = "" if samples is results[0][1] else f"{median - bare:+9.1f}"
        print(f"{name:<44} {min(samples):9.1f} {median:9.1f} {overhead:>9}")


if __name__ == "__main__":
    main()
