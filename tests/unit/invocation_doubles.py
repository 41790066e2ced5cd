"""Test doubles for the invocation path: a settable clock, a backoff that does not wait,
and a provider wrapper that counts (and can hold) calls."""

from __future__ import annotations

import asyncio
from collections import Counter

from agents import (
    AgentSpec,
    InvocationContext,
    ModelRequest,
    ModelResponse,
    SimConfig,
    SimFaults,
    SimProvider,
)

CONTEXT = InvocationContext(request_id="req-1", task_id="task-1", tenant="acme-bank")


class FakeClock:
    """A wall clock that only moves when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def no_sleep(seconds: float) -> None:
    """Backoff that yields to the loop but never waits."""
    await asyncio.sleep(0)


def sim(**faults: float) -> SimProvider:
    """The simulated provider at zero latency, with `faults` for every call."""
    return SimProvider(SimConfig(latency_scale=0.0, faults=SimFaults(**faults)))


class Counting:
    """Wraps a provider: keeps every request, counts calls per agent, and holds the
    calls of the agents in `held` until `release()`."""

    def __init__(self, inner: SimProvider, *, held: frozenset[str] = frozenset()) -> None:
        self.inner = inner
        self.requests: list[ModelRequest] = []
        self.calls: Counter[str] = Counter()
        self.held = held
        self._gate = asyncio.Event()

    @property
    def name(self) -> str:
        return self.inner.name

    def release(self) -> None:
        self._gate.set()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        agent = request.metadata.get("agent", "")
        self.requests.append(request)
        self.calls[agent] += 1
        if agent in self.held:
            await self._gate.wait()
        return await self.inner.complete(request)


def resolver(*specs: AgentSpec) -> dict[str, AgentSpec]:
    """Specs by name, for `InvocationDeps(fallbacks=resolver(...).__getitem__)`."""
    return {spec.name: spec for spec in specs}
