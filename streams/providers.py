"""The model providers of one worker process, built from the system's endpoints.

One pooled provider per endpoint the process's agents (and their fallbacks) call,
each behind the chaos wrapper so ``agentbus chaos`` reaches every provider kind.
A missing API key stops the start with one line naming the agent and the variable.
"""

from __future__ import annotations

from collections.abc import Iterable

from agents.endpoints import build_provider
from agents.errors import ConfigError
from agents.providers._http import HTTPProvider
from agents.providers.base import ModelProvider
from agents.providers.faults import ChaosProvider
from agents.providers.sim import SimConfig, SimFaults
from agents.system import AgentSystem
from streams.errors import StreamsError
from streams.settings import Settings, secret_from_env

__all__ = ["EndpointError", "ProviderSet", "sim_defaults"]


class EndpointError(StreamsError):
    """An endpoint cannot be built (a missing API key, a bad URL); names agent and endpoint."""


def sim_defaults(settings: Settings) -> SimConfig:
    """The simulated model as the settings configure it (sim endpoints refine it)."""
    return SimConfig(
        seed=settings.sim_seed,
        latency_scale=settings.sim_latency_scale,
        latency_ms=settings.sim_latency_ms,
        faults=SimFaults(
            error_rate=settings.sim_error_rate,
            timeout_rate=settings.sim_timeout_rate,
            malformed_rate=settings.sim_malformed_rate,
        ),
    )


class ProviderSet:
    """Providers by endpoint for ``agents`` of ``system``; also the chaos fault target."""

    def __init__(self, system: AgentSystem, settings: Settings, agents: Iterable[str]) -> None:
        self._system = system
        self._by_endpoint: dict[str, ChaosProvider] = {}
        self._http: list[HTTPProvider] = []
        defaults = sim_defaults(settings)
        for agent in _with_fallbacks(system, agents):
            endpoint = system.endpoint_of(agent)
            if endpoint.name in self._by_endpoint:
                continue
            try:
                provider = build_provider(endpoint, secret=secret_from_env, sim_defaults=defaults)
            except ConfigError as exc:
                raise EndpointError(f"agent {agent!r}: {exc}") from exc
            self._by_endpoint[endpoint.name] = ChaosProvider(provider, seed=settings.sim_seed)
            if isinstance(provider.inner, HTTPProvider):
                self._http.append(provider.inner)

    def for_agent(self, agent: str) -> ModelProvider:
        """The provider ``agent`` calls."""
        return self._by_endpoint[self._system.endpoint_of(agent).name]

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(self._by_endpoint)

    def set_faults(self, target: str, faults: SimFaults) -> None:
        for provider in self._by_endpoint.values():
            provider.set_faults(target, faults)

    def clear_faults(self, target: str | None = None) -> None:
        for provider in self._by_endpoint.values():
            provider.clear_faults(target)

    async def aclose(self) -> None:
        """Close the HTTP clients of the endpoints."""
        for provider in self._http:
            await provider.aclose()


def _with_fallbacks(system: AgentSystem, agents: Iterable[str]) -> list[str]:
    """``agents`` and every agent their fallback chains reach, in order."""
    seen: list[str] = []
    for agent in agents:
        current: str | None = agent
        while current is not None and current not in seen:
            seen.append(current)
            current = system.get(current).fallback
    return seen
