"""Model endpoints a system declares, and the providers built from them.

An `AgentSystem` names its endpoints (an OpenAI-compatible server, Anthropic, the
simulated model) and each agent's `provider` names one. A process builds one
provider per endpoint, shared by every agent on it, with a bounded number of calls
in flight. API keys are never part of a system: an endpoint names the environment
variable that holds its key, and the caller resolves it at start-up.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from agents.errors import ConfigError
from agents.providers.anthropic import AnthropicProvider
from agents.providers.base import ModelProvider, ModelRequest, ModelResponse
from agents.providers.openai_compat import OpenAICompatProvider
from agents.providers.sim import SimConfig, SimFaults, SimProvider

__all__ = [
    "SIM",
    "AnthropicEndpoint",
    "BoundedProvider",
    "ModelEndpoint",
    "OpenAIEndpoint",
    "SimEndpoint",
    "build_provider",
]

SIM = "sim"
"""The endpoint every system has unless it declares its own of that name."""


class _Endpoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    """What agents put in `AgentSpec.provider`."""
    max_in_flight: int = Field(default=256, ge=1)
    """Calls to this endpoint running at once per process; more wait their turn."""
    timeout_s: float | None = Field(default=None, gt=0)
    """Ceiling on any call's timeout (an agent's own limit applies when lower)."""


class SimEndpoint(_Endpoint):
    """The simulated model (`SimProvider`): latency, tokens, prices and failures."""

    kind: Literal["sim"] = "sim"
    name: str = SIM
    seed: int | None = None
    """None: the process's `sim_seed` setting."""
    latency_scale: float | None = Field(default=None, ge=0.0, le=1.0)
    latency_ms: float | None = Field(default=None, ge=0.0)
    faults: SimFaults | None = None


class OpenAIEndpoint(_Endpoint):
    """An OpenAI-compatible chat-completions server (OpenAI, vLLM, Ollama, llama.cpp)."""

    kind: Literal["openai"] = "openai"
    base_url: str
    api_key_env: str | None = "OPENAI_API_KEY"
    """Environment variable holding the key; None for local servers that need none."""
    headers: Mapping[str, str] = Field(default_factory=dict)


class AnthropicEndpoint(_Endpoint):
    """Anthropic's Messages API."""

    kind: Literal["anthropic"] = "anthropic"
    base_url: str = "https://api.anthropic.com"
    api_key_env: str = "ANTHROPIC_API_KEY"
    version: str = "2023-06-01"


ModelEndpoint = Annotated[
    SimEndpoint | OpenAIEndpoint | AnthropicEndpoint, Field(discriminator="kind")
]


class BoundedProvider:
    """A provider with at most `limit` calls in flight and a ceiling on call timeouts."""

    def __init__(self, inner: ModelProvider, limit: int, timeout_s: float | None) -> None:
        self._inner = inner
        self._slots = asyncio.Semaphore(limit)
        self._timeout_s = timeout_s

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def inner(self) -> ModelProvider:
        return self._inner

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if self._timeout_s is not None and request.timeout_s > self._timeout_s:
            request = dataclasses.replace(request, timeout_s=self._timeout_s)
        async with self._slots:
            return await self._inner.complete(request)


def build_provider(
    endpoint: SimEndpoint | OpenAIEndpoint | AnthropicEndpoint,
    *,
    secret: Callable[[str], SecretStr | None],
    sim_defaults: SimConfig,
) -> BoundedProvider:
    """The pooled provider of `endpoint`; `secret(name)` reads an API-key variable.

    Raises `ConfigError` naming the variable (never a value) when a key is missing.
    """
    inner: ModelProvider
    if isinstance(endpoint, SimEndpoint):
        update: dict[str, object] = {}
        for field in ("seed", "latency_scale", "latency_ms", "faults"):
            value = getattr(endpoint, field)
            if value is not None:
                update[field] = value
        inner = SimProvider(sim_defaults.model_copy(update=update))
    elif isinstance(endpoint, OpenAIEndpoint):
        key = _key(endpoint.name, endpoint.api_key_env, secret)
        inner = OpenAICompatProvider(
            base_url=endpoint.base_url,
            api_key=key,
            name=endpoint.name,
            extra_headers=dict(endpoint.headers),
        )
    else:
        key = _key(endpoint.name, endpoint.api_key_env, secret)
        assert key is not None
        inner = AnthropicProvider(
            key, base_url=endpoint.base_url, version=endpoint.version, name=endpoint.name
        )
    return BoundedProvider(inner, endpoint.max_in_flight, endpoint.timeout_s)


def _key(
    endpoint: str, variable: str | None, secret: Callable[[str], SecretStr | None]
) -> SecretStr | None:
    if variable is None:
        return None
    key = secret(variable)
    if key is None:
        raise ConfigError(
            f"endpoint {endpoint!r} reads its API key from ${variable}, which is not set"
        )
    return key
