"""The simulated provider: deterministic, realistic, and failing exactly as configured."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import pytest
from pydantic import ValidationError

from agents import (
    ModelProvider,
    ModelRequest,
    ModelResponse,
    ModelTimeout,
    ModelUnavailable,
    SimConfig,
    SimFaults,
    SimProvider,
    estimate_tokens,
)

INSTANT = SimConfig(latency_scale=0.0)


def make_request(text: str = "Why was my card charged twice?", **changes: Any) -> ModelRequest:
    fields: dict[str, Any] = {
        "model": "sim-standard",
        "system_prompt": "You are a helpful fintech agent.",
        "input_text": text,
        "temperature": 0.2,
        "max_output_tokens": 1024,
        "timeout_s": 30.0,
        "metadata": {"agent": "transactions", "tier": "standard"},
    }
    fields.update(changes)
    return ModelRequest(**fields)


def complete(provider: SimProvider, request: ModelRequest) -> ModelResponse:
    return asyncio.run(provider.complete(request))


def outcome_of(provider: SimProvider, request: ModelRequest) -> str:
    try:
        complete(provider, request)
    except ModelUnavailable:
        return "error"
    except ModelTimeout:
        return "timeout"
    return "ok"


def is_malformed(text: str) -> bool:
    if not text.strip():
        return True
    try:
        json.loads(text)
    except ValueError:
        return text.lstrip().startswith("{")
    return False


def test_sim_is_a_model_provider() -> None:
    assert isinstance(SimProvider(), ModelProvider)
    assert SimProvider().name == "sim"


def test_same_request_same_seed_same_answer_in_any_instance() -> None:
    request = make_request()

    first = complete(SimProvider(SimConfig(seed=3, latency_scale=0.0)), request)
    second = complete(SimProvider(SimConfig(seed=3, latency_scale=0.0)), request)

    assert first == second
    assert SimProvider(INSTANT).plan(request) == SimProvider(INSTANT).plan(request)


def test_seed_and_input_change_the_answer() -> None:
    texts = [f"Question number {i} about my payment" for i in range(30)]
    provider = SimProvider(INSTANT)
    answers = [complete(provider, make_request(t)).text for t in texts]
    other_seed = SimProvider(SimConfig(seed=99, latency_scale=0.0))

    assert len(set(answers)) == len(answers)
    assert len({len(a) for a in answers}) > 10  # lengths vary, not one canned answer
    assert complete(other_seed, make_request(texts[0])).text != answers[0]


def test_answer_echoes_the_request() -> None:
    response = complete(SimProvider(INSTANT), make_request("Where is my refund for March?"))

    assert "Where is my refund for March" in response.text


def test_token_counts_follow_text_length() -> None:
    request = make_request("x" * 400)
    response = complete(SimProvider(INSTANT), request)

    assert response.input_tokens == estimate_tokens(request.system_prompt) + 100
    assert response.output_tokens == estimate_tokens(response.text)
    assert response.output_tokens == pytest.approx(len(response.text) / 4, abs=1)


def test_output_never_exceeds_max_output_tokens() -> None:
    provider = SimProvider(INSTANT)
    for i in range(50):
        response = complete(provider, make_request(f"long report {i}", max_output_tokens=20))
        assert 0 < response.output_tokens <= 20


def test_error_rate_one_always_fails_retriably_with_context() -> None:
    provider = SimProvider(SimConfig(latency_scale=0.0, faults=SimFaults(error_rate=1.0)))

    with pytest.raises(ModelUnavailable) as caught:
        complete(provider, make_request())

    assert caught.value.retriable
    assert caught.value.kind == "unavailable"
    assert caught.value.model == "sim-standard"
    assert caught.value.agent == "transactions"
    assert "agent=transactions" in str(caught.value)


def test_timeout_rate_one_always_times_out() -> None:
    provider = SimProvider(SimConfig(latency_scale=0.0, faults=SimFaults(timeout_rate=1.0)))

    with pytest.raises(ModelTimeout) as caught:
        complete(provider, make_request(timeout_s=12.0))

    assert caught.value.retriable
    assert caught.value.timeout_s == 12.0


def test_malformed_rate_one_always_returns_unusable_output() -> None:
    # Like a model, the sim answers badly rather than raising; detection is the caller's.
    provider = SimProvider(SimConfig(latency_scale=0.0, faults=SimFaults(malformed_rate=1.0)))
    outputs = [complete(provider, make_request(f"request {i}")).text for i in range(60)]

    assert all(is_malformed(text) for text in outputs)
    assert {"", " \n\t"} <= set(outputs)  # all three kinds occur: empty, blank, cut JSON
    assert any(text.startswith('{"answer": ') for text in outputs)


def test_rates_zero_never_fail() -> None:
    provider = SimProvider(INSTANT)
    for i in range(300):
        assert not is_malformed(complete(provider, make_request(f"request {i}")).text)


def test_fractional_rates_fail_about_that_often() -> None:
    provider = SimProvider(SimConfig(latency_scale=0.0, faults=SimFaults(error_rate=0.3)))
    outcomes = [outcome_of(provider, make_request(f"request {i}")) for i in range(1000)]

    assert 0.25 < outcomes.count("error") / len(outcomes) < 0.35


def test_transient_failures_depend_on_the_attempt_but_malformed_output_does_not() -> None:
    flaky = SimProvider(SimConfig(latency_scale=0.0, faults=SimFaults(error_rate=0.5)))
    per_attempt = [
        [outcome_of(flaky, make_request(f"q{i}", attempt=a)) for a in (1, 2, 3)] for i in range(40)
    ]
    assert any(len(set(outcomes)) > 1 for outcomes in per_attempt)

    broken = SimProvider(SimConfig(latency_scale=0.0, faults=SimFaults(malformed_rate=0.5)))
    for i in range(40):
        texts = {complete(broken, make_request(f"q{i}", attempt=a)).text for a in (1, 2, 3)}
        assert len(texts) == 1  # an identical retry reproduces the same answer


def test_latency_scale_changes_waiting_not_outcomes() -> None:
    request = make_request()
    instant = SimProvider(SimConfig(latency_scale=0.0)).plan(request)
    real = SimProvider(SimConfig(latency_scale=1.0)).plan(request)

    assert instant.latency_ms == real.latency_ms > 0
    assert (instant.outcome, instant.text) == (real.outcome, real.text)
    assert instant.wait_s == 0.0
    assert real.wait_s == pytest.approx(real.latency_ms / 1000)


def test_fixed_latency_is_slept_and_reported() -> None:
    provider = SimProvider(SimConfig(latency_ms=50.0))
    started = time.perf_counter()
    response = complete(provider, make_request())

    assert time.perf_counter() - started >= 0.045
    assert response.latency_ms == pytest.approx(50.0)


def test_timeout_is_honoured_after_sleeping_only_the_timeout() -> None:
    provider = SimProvider(SimConfig(latency_ms=5000.0))
    started = time.perf_counter()

    with pytest.raises(ModelTimeout):
        complete(provider, make_request(timeout_s=0.05))

    elapsed = time.perf_counter() - started
    assert 0.04 <= elapsed < 1.0


def test_larger_tiers_are_slower_and_latency_has_a_tail() -> None:
    provider = SimProvider(INSTANT)

    def latencies(model: str, tier: str) -> list[float]:
        return [
            provider.plan(
                make_request(f"request {i}", model=model, metadata={"tier": tier})
            ).latency_ms
            for i in range(300)
        ]

    small = latencies("sim-small", "small")
    standard = latencies("sim-standard", "standard")
    frontier = latencies("sim-frontier", "frontier")

    assert statistics.median(small) < statistics.median(standard) < statistics.median(frontier)
    assert max(small) > 1.5 * statistics.median(small)
    assert min(small) > 0


def test_tier_falls_back_to_the_model_name() -> None:
    provider = SimProvider(INSTANT)
    by_model = make_request(model="sim-frontier", metadata={})
    by_tier = make_request(model="sim-frontier", metadata={"tier": "frontier"})

    assert provider.plan(by_model) == provider.plan(by_tier)


def test_overrides_apply_per_agent_then_per_model() -> None:
    config = SimConfig(
        latency_scale=0.0,
        overrides={
            "sim-frontier": SimFaults(error_rate=1.0),
            "reports": SimFaults(timeout_rate=1.0),
        },
    )
    provider = SimProvider(config)

    assert outcome_of(provider, make_request(model="sim-small")) == "ok"
    assert outcome_of(provider, make_request(model="sim-frontier")) == "error"
    assert outcome_of(provider, make_request(metadata={"agent": "reports"})) == "timeout"
    reports_on_frontier = make_request(model="sim-frontier", metadata={"agent": "reports"})
    assert outcome_of(provider, reports_on_frontier) == "timeout"


def test_faults_can_be_changed_and_cleared_at_runtime() -> None:
    provider = SimProvider(SimConfig(latency_scale=0.0, overrides={"support": SimFaults()}))
    request = make_request()

    provider.set_faults("transactions", SimFaults(error_rate=1.0))
    assert outcome_of(provider, request) == "error"
    provider.set_faults("*", SimFaults(timeout_rate=1.0))
    assert outcome_of(provider, make_request(metadata={"agent": "other"})) == "timeout"
    assert outcome_of(provider, make_request(metadata={"agent": "support"})) == "ok"

    provider.clear_faults()
    assert outcome_of(provider, request) == "ok"
    assert provider.faults_for(request) == SimFaults()


def test_tool_calls_name_offered_tools_as_json() -> None:
    provider = SimProvider(INSTANT)
    tools = ("search_transactions", "flag_fraud")
    calls = [
        call
        for i in range(100)
        for call in complete(provider, make_request(f"q{i}", tools=tools)).tool_calls
    ]

    assert 10 < len(calls) < 60
    assert {json.loads(call)["name"] for call in calls} <= set(tools)
    assert all(not complete(provider, make_request(f"q{i}")).tool_calls for i in range(100))


def test_thousands_of_calls_in_flight_cost_one_latency_not_thousands() -> None:
    provider = SimProvider(SimConfig(latency_ms=100.0))

    async def many() -> list[ModelResponse]:
        requests = [make_request(f"q{i}") for i in range(2000)]
        return await asyncio.gather(*(provider.complete(r) for r in requests))

    started = time.perf_counter()
    responses = asyncio.run(many())

    assert len(responses) == 2000
    assert time.perf_counter() - started < 10.0  # 200 s if the calls ran one after another


def test_config_rejects_impossible_rates_and_scales() -> None:
    with pytest.raises(ValidationError):
        SimFaults(error_rate=1.5)
    with pytest.raises(ValidationError):
        SimConfig(latency_scale=2.0)
    with pytest.raises(ValidationError):
        SimConfig(latency_ms=-1.0)
