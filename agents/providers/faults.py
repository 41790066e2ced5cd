"""Faults injected in front of any model provider: what ``agentbus chaos`` changes.

The simulated provider has its own fault model; this wrapper gives every provider
(OpenAI-compatible, Anthropic, sim) the same one at runtime, so a chaos drill runs
against the real invocation path whatever model an agent calls. Faults are chosen
per agent (``request.metadata["agent"]``), per model, or for all with ``"*"``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Protocol, runtime_checkable

from agents.errors import ModelTimeout, ModelUnavailable
from agents.providers.base import ModelProvider, ModelRequest, ModelResponse
from agents.providers.sim import SimFaults

__all__ = ["ChaosProvider", "FaultTarget"]


@runtime_checkable
class FaultTarget(Protocol):
    """Something whose model faults can be changed at runtime (by chaos policies)."""

    def set_faults(self, target: str, faults: SimFaults) -> None:
        """Faults from now on for an agent or model name, or for all with "*"."""
        ...

    def clear_faults(self, target: str | None = None) -> None:
        """Back to no injected faults (for one target, or all)."""
        ...


class ChaosProvider:
    """A `ModelProvider` that injects faults before delegating to ``inner``.

    With no faults set it adds one dictionary lookup per call.
    """

    def __init__(self, inner: ModelProvider, *, seed: int = 0) -> None:
        self._inner = inner
        self._faults: dict[str, SimFaults] = {}
        self._rng = random.Random(seed)

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def inner(self) -> ModelProvider:
        return self._inner

    def set_faults(self, target: str, faults: SimFaults) -> None:
        self._faults[target] = faults

    def clear_faults(self, target: str | None = None) -> None:
        if target is None or target == "*":
            self._faults.clear()
        else:
            self._faults.pop(target, None)

    def faults_for(self, request: ModelRequest) -> SimFaults | None:
        """The faults in force for ``request``: its agent's, else its model's, else "*"."""
        if not self._faults:
            return None
        agent = request.metadata.get("agent")
        if agent is not None and agent in self._faults:
            return self._faults[agent]
        return self._faults.get(request.model, self._faults.get("*"))

    async def complete(self, request: ModelRequest) -> ModelResponse:
        faults = self.faults_for(request)
        if faults is None:
            return await self._inner.complete(request)
        agent = request.metadata.get("agent")
        if faults.extra_latency_ms:
            await asyncio.sleep(faults.extra_latency_ms / 1000.0)
        draw = self._rng.random()
        if draw < faults.error_rate:
            raise ModelUnavailable(
                f"{request.model} returned HTTP 503 (injected by agentbus chaos)",
                agent=agent,
                model=request.model,
            )
        draw -= faults.error_rate
        if draw < faults.timeout_rate:
            await asyncio.sleep(request.timeout_s)
            raise ModelTimeout(
                f"{request.model} did not answer within {request.timeout_s:g}s "
                "(injected by agentbus chaos)",
                agent=agent,
                model=request.model,
            )
        draw -= faults.timeout_rate
        response = await self._inner.complete(request)
        if draw < faults.malformed_rate:
            # Cut off mid-answer, as when a stream drops.
            return dataclasses.replace(
                response, text=response.text[: max(1, len(response.text) // 3)]
            )
        return response
