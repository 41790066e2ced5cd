"""One invocation: request built from the spec, retries, validation, per-attempt records.

Breakers, cache, budgets, tiers and fallbacks have their own test modules
(`test_invocation_*.py`); the specs here leave them at their defaults.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path

import pydantic
import pytest

from agents import (
    AgentLimits,
    AgentSpec,
    InvocationContext,
    InvocationOutcome,
    ModelProvider,
    ModelRequest,
    ModelResponse,
    ProviderError,
    RetryPolicy,
    SimConfig,
    SimFaults,
    SimProvider,
    cost_usd,
    fintech_system,
    invoke,
)
from agents.invocation import InvocationDeps

AVRO = Path(__file__).resolve().parents[2] / "avro"
CONTEXT = InvocationContext(request_id="req-1", task_id="task-1", tenant="acme-bank")
# The reference support agent without its cache, so every call reaches the model.
SUPPORT = fintech_system().get("support").model_copy(update={"cache_ttl_s": None})


class Sleeps:
    """Stands in for `asyncio.sleep` in the backoff and keeps the waits asked for."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def run(
    provider: ModelProvider,
    text: str = "I need a refund for a card fee",
    spec: AgentSpec = SUPPORT,
    sleeps: Sleeps | None = None,
) -> InvocationOutcome:
    deps = InvocationDeps(sleep=sleeps or Sleeps())
    return asyncio.run(invoke(spec, provider, text, context=CONTEXT, deps=deps))


def sim(**faults: float) -> SimProvider:
    return SimProvider(SimConfig(latency_scale=0.0, faults=SimFaults(**faults)))


class Recording:
    """Wraps a provider and keeps every request it was given."""

    def __init__(self, inner: SimProvider) -> None:
        self.inner = inner
        self.requests: list[ModelRequest] = []

    @property
    def name(self) -> str:
        return self.inner.name

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        return await self.inner.complete(request)


class Raising:
    """A provider whose every call raises `error`."""

    name = "raising"

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        raise self.error


class Hanging:
    """A provider that ignores `timeout_s` and never answers."""

    name = "hanging"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_successful_invocation_records_one_complete_attempt() -> None:
    outcome = run(sim())
    (attempt,) = outcome.attempts

    assert outcome.status == "ok"
    assert outcome.error is None
    assert outcome.output == attempt.output
    assert outcome.output
    assert outcome.attempt_count == 1
    assert (outcome.agent, outcome.model) == ("support", "sim-small")
    assert attempt.attempt == 1
    assert attempt.outcome == "ok"
    assert attempt.error is None
    assert (attempt.agent, attempt.agent_version, attempt.provider) == ("support", "1", "sim")
    assert (attempt.model, attempt.tier, attempt.temperature) == ("sim-small", "small", 0.2)
    assert attempt.input == "I need a refund for a card fee"
    assert attempt.input_tokens > 0
    assert attempt.output_tokens > 0
    assert attempt.priced


def test_cost_comes_from_the_price_table() -> None:
    outcome = run(sim())
    (attempt,) = outcome.attempts

    expected = cost_usd("sim-small", attempt.input_tokens, attempt.output_tokens)
    by_hand = (attempt.input_tokens * 0.15 + attempt.output_tokens * 0.60) / 1_000_000
    assert expected == pytest.approx(by_hand)
    assert attempt.cost_usd == pytest.approx(expected)
    assert attempt.cost_usd > 0
    assert outcome.cost_usd == pytest.approx(expected)
    assert (outcome.input_tokens, outcome.output_tokens) == (
        attempt.input_tokens,
        attempt.output_tokens,
    )


def test_same_input_gives_the_same_outcome() -> None:
    first, second = run(sim()), run(sim())

    assert (first.output, first.cost_usd, first.input_tokens) == (
        second.output,
        second.cost_usd,
        second.input_tokens,
    )


def test_request_is_built_from_the_spec_and_context() -> None:
    # Fixed tier and no budget: the request is the spec's, unchanged (tiered routing
    # and budget caps are tested in test_tiering / test_budget).
    reports = (
        fintech_system().get("reports").model_copy(update={"tiers": None, "budget_tokens": None})
    )
    provider = Recording(sim())
    run(provider, spec=reports)
    (request,) = provider.requests

    assert request.model == "sim-frontier"
    assert request.system_prompt == reports.render_prompt(tenant="acme-bank")
    assert "acme-bank" in request.system_prompt
    assert request.max_output_tokens == reports.limits.max_output_tokens
    assert request.timeout_s == reports.limits.timeout_s
    assert request.tools == reports.tools
    assert request.attempt == 1
    assert request.metadata["agent"] == "reports"
    assert request.metadata["tier"] == "frontier"
    assert request.metadata["tenant"] == "acme-bank"
    assert request.metadata["request_id"] == "req-1"
    assert request.metadata["task_id"] == "task-1"


def test_exhausted_retries_fail_with_the_reason_and_every_attempt() -> None:
    provider = Recording(sim(error_rate=1.0))
    outcome = run(provider)

    assert outcome.status == "failed"
    assert outcome.output is None
    assert [a.attempt for a in outcome.attempts] == [1, 2, 3]
    assert [r.attempt for r in provider.requests] == [1, 2, 3]
    assert {a.outcome for a in outcome.attempts} == {"error"}
    assert outcome.error is not None
    assert outcome.error.startswith("all 3 attempts failed; last: ModelUnavailable: ")
    assert outcome.error.endswith("fallback 'general' not tried: no fallback resolver given")
    assert all(a.error and "ModelUnavailable" in a.error for a in outcome.attempts)
    assert outcome.cost_usd == 0.0


def test_timeouts_are_recorded_as_timeouts() -> None:
    outcome = run(sim(timeout_rate=1.0))

    assert outcome.status == "failed"
    assert [a.outcome for a in outcome.attempts] == ["timeout"] * 3


def test_malformed_output_is_retried_recorded_and_billed() -> None:
    outcome = run(sim(malformed_rate=1.0))

    assert outcome.status == "failed"
    assert [a.outcome for a in outcome.attempts] == ["malformed"] * 3
    assert all(a.output is not None for a in outcome.attempts)  # kept for debugging
    assert all(a.error and "MalformedOutput" in a.error for a in outcome.attempts)
    assert outcome.cost_usd > 0  # the model answered, so the tokens were paid for


def test_a_retry_that_succeeds_is_recorded_after_the_failure() -> None:
    flaky = sim(error_rate=0.5)
    outcomes = [run(flaky, text=f"refund for order {i}") for i in range(40)]
    recovered = [o for o in outcomes if [a.outcome for a in o.attempts] == ["error", "ok"]]

    assert recovered, "with a 50% error rate some request must fail once, then succeed"
    outcome = recovered[0]
    assert outcome.status == "ok"
    assert outcome.output == outcome.attempts[1].output
    assert outcome.input_tokens == sum(a.input_tokens for a in outcome.attempts)
    assert outcome.cost_usd == pytest.approx(sum(a.cost_usd for a in outcome.attempts))


def test_non_retriable_errors_stop_at_once() -> None:
    provider = Raising(ProviderError("invalid API key", retriable=False, kind="auth"))
    outcome = run(provider)

    assert provider.calls == 1
    assert outcome.status == "failed"
    assert outcome.attempts[0].outcome == "error"
    assert outcome.attempts[0].provider == "raising"
    assert outcome.error == (
        "attempt 1 failed and cannot be retried: ProviderError: invalid API key; "
        "fallback 'general' not tried: no fallback resolver given"
    )


def test_provider_bugs_propagate() -> None:
    with pytest.raises(ZeroDivisionError):
        run(Raising(ZeroDivisionError("bug in provider")))


def test_a_provider_that_ignores_the_timeout_is_cut_off() -> None:
    spec = SUPPORT.model_copy(update={"limits": AgentLimits(timeout_s=0.05, max_attempts=2)})
    started = time.perf_counter()
    outcome = run(Hanging(), spec=spec)

    assert time.perf_counter() - started < 2.0
    assert [a.outcome for a in outcome.attempts] == ["timeout", "timeout"]
    assert "did not answer within 0.05s" in (outcome.error or "")


def test_max_attempts_one_means_no_retry() -> None:
    spec = SUPPORT.model_copy(update={"limits": AgentLimits(max_attempts=1)})

    assert run(sim(error_rate=1.0), spec=spec).attempt_count == 1


def test_backoff_waits_between_attempts_only() -> None:
    policy = RetryPolicy(backoff_s=0.05, multiplier=2.0, max_backoff_s=1.0, jitter_s=0.0)
    spec = SUPPORT.model_copy(update={"retry": policy})
    sleeps = Sleeps()
    run(sim(error_rate=1.0), spec=spec, sleeps=sleeps)

    assert sleeps.waits == pytest.approx([0.05, 0.1])  # after the first and second failure


def test_backoff_jitter_stays_within_its_bound() -> None:
    policy = RetryPolicy(backoff_s=0.05, multiplier=2.0, max_backoff_s=1.0, jitter_s=0.02)
    spec = SUPPORT.model_copy(update={"retry": policy})
    sleeps = Sleeps()
    run(sim(error_rate=1.0), spec=spec, sleeps=sleeps)

    first, second = sleeps.waits
    assert 0.05 <= first <= 0.07
    assert 0.1 <= second <= 0.12


def test_retry_policy_delays_grow_and_are_capped() -> None:
    policy = RetryPolicy(backoff_s=0.2, multiplier=2.0, max_backoff_s=0.5)

    assert [policy.delay_s(n) for n in (1, 2, 3)] == [0.2, 0.4, 0.5]
    assert RetryPolicy.none().delay_s(3) == 0.0
    with pytest.raises(pydantic.ValidationError):
        RetryPolicy(backoff_s=-1.0)


def test_unpriced_models_cost_nothing_and_say_so() -> None:
    spec = SUPPORT.model_copy(update={"model": "acme-finetune-7b"})
    (attempt,) = run(sim(), spec=spec).attempts

    assert attempt.cost_usd == 0.0
    assert not attempt.priced


def test_attempt_record_fields_are_invocation_event_fields() -> None:
    schema = json.loads((AVRO / "Invocation.avsc").read_text())
    event_fields = {field["name"] for field in schema["fields"]}
    record_fields = {field.name for field in dataclasses.fields(run(sim()).attempts[0])}

    # `at` travels as the event's `occurred_at`, a contract violation as its own dead letter.
    assert record_fields - {"priced", "at", "contract_violation"} <= event_fields


def test_outcome_fields_are_agent_result_fields() -> None:
    schema = json.loads((AVRO / "AgentResult.avsc").read_text())
    result_fields = {field["name"] for field in schema["fields"]}
    outcome_fields = {field.name for field in dataclasses.fields(InvocationOutcome)}

    # `attempts` is the list here and its length (`attempt_count`) in the event. The
    # tier and decision are on every `Invocation` event; breaker transitions are
    # events of their own.
    assert outcome_fields - {"tier", "decision", "breaker_transitions"} <= result_fields
