"""Model endpoints a system declares: one pooled provider per endpoint, each agent on its
own, keys named by variable (never by value), chaos for every provider kind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import SecretStr

from agents.endpoints import AnthropicEndpoint, OpenAIEndpoint, SimEndpoint
from agents.errors import ConfigError, ModelUnavailable
from agents.providers.base import ModelRequest, ModelResponse
from agents.providers.faults import ChaosProvider
from agents.providers.sim import SimFaults
from agents.reference import fintech_system
from agents.system import AgentSystem
from streams.providers import EndpointError, ProviderSet
from streams.settings import Settings


def _system(**providers: str) -> AgentSystem:
    base = fintech_system()
    specs = tuple(
        spec.model_copy(update={"provider": providers.get(spec.name, spec.provider)})
        for spec in base.specs.values()
    )
    return AgentSystem(
        name="mixed",
        agents=specs,
        default_agent=base.default_agent,
        endpoints=(
            OpenAIEndpoint(name="vllm", base_url="http://127.0.0.1:9", api_key_env=None),
            AnthropicEndpoint(name="claude", api_key_env="AGENTBUS_TEST_NO_SUCH_KEY_VAR"),
            SimEndpoint(name="fast-sim", latency_ms=0.0),
        ),
    )


def test_each_agent_calls_its_endpoint_and_endpoints_are_shared(tmp_path: Path) -> None:
    system = _system(support="vllm", transactions="vllm", reports="fast-sim")
    providers = ProviderSet(system, Settings(data_dir=tmp_path), system.names)

    assert providers.for_agent("support") is providers.for_agent("transactions")
    assert providers.for_agent("support").name == "vllm"
    assert providers.for_agent("reports").name == "sim"
    assert set(providers.endpoints) == {"vllm", "fast-sim", "sim"}
    asyncio.run(providers.aclose())


def test_a_missing_api_key_names_the_agent_and_the_variable_never_a_value(
    tmp_path: Path,
) -> None:
    system = _system(reports="claude")
    with pytest.raises(EndpointError) as caught:
        ProviderSet(system, Settings(data_dir=tmp_path), ["reports"])
    message = str(caught.value)
    assert "agent 'reports'" in message
    assert "$AGENTBUS_TEST_NO_SUCH_KEY_VAR" in message
    # Agents on other endpoints start fine without it.
    ProviderSet(system, Settings(data_dir=tmp_path), ["support"])


def test_an_unknown_endpoint_is_refused_when_the_system_is_built() -> None:
    with pytest.raises(ConfigError, match="calls endpoint 'nowhere'"):
        _system(support="nowhere")


class _Echo:
    name = "echo"

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        return ModelResponse(
            text="x" * 30, input_tokens=1, output_tokens=1, latency_ms=0.1, model=request.model
        )


def _request(agent: str) -> ModelRequest:
    return ModelRequest(
        model="gpt-4o-mini",
        system_prompt="s",
        input_text="i",
        temperature=0.2,
        max_output_tokens=10,
        timeout_s=0.05,
        metadata={"agent": agent},
    )


def test_chaos_reaches_any_provider_per_agent_and_clears() -> None:
    inner = _Echo()
    chaos = ChaosProvider(inner)

    async def scenario() -> None:
        chaos.set_faults("support", SimFaults(error_rate=1.0))
        with pytest.raises(ModelUnavailable, match="injected by agentbus chaos"):
            await chaos.complete(_request("support"))
        assert (await chaos.complete(_request("reports"))).text == "x" * 30
        chaos.set_faults("*", SimFaults(malformed_rate=1.0))
        assert len((await chaos.complete(_request("reports"))).text) < 30
        chaos.clear_faults()
        assert (await chaos.complete(_request("support"))).text == "x" * 30

    asyncio.run(scenario())
    assert inner.calls == 3, "an injected error never reaches the model"


def test_keys_stay_secret_in_the_endpoint_and_provider() -> None:
    endpoint = OpenAIEndpoint(name="openai", base_url="https://api.openai.com/v1")
    assert "sk-" not in repr(endpoint)
    assert SecretStr("sk-PLANTED").get_secret_value() not in repr(SecretStr("sk-PLANTED"))
