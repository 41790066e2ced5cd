"""An outage as a user sees it: the breaker opens, the fallback answers with a
disclaimer, one probe tests the model after the cooldown, and traffic resumes."""

from __future__ import annotations

import asyncio

import pydantic
import pytest

from agents import (
    AgentSpec,
    InvocationOutcome,
    ModelRequest,
    ModelResponse,
    ProviderError,
    SimFaults,
    fintech_system,
    invoke,
)
from agents.invocation import InvocationDeps
from agents.resilience import LocalBreakerBoard
from tests.unit.invocation_doubles import CONTEXT, Counting, FakeClock, no_sleep, sim

SYSTEM = fintech_system()
SUPPORT = SYSTEM.get("support").model_copy(update={"cache_ttl_s": None})
GENERAL = SYSTEM.get("general").model_copy(update={"cache_ttl_s": None})
SPECS = {"support": SUPPORT, "general": GENERAL}
DOWN = SimFaults(error_rate=1.0)


def deps(clock: FakeClock, board: LocalBreakerBoard | None = None) -> InvocationDeps:
    return InvocationDeps(board=board, fallbacks=SPECS.__getitem__, clock=clock, sleep=no_sleep)


async def ask(
    provider: Counting, d: InvocationDeps, text: str = "How do I reset my PIN?"
) -> InvocationOutcome:
    return await invoke(SUPPORT, provider, text, context=CONTEXT, deps=d)


def test_three_failures_open_the_breaker_and_no_call_is_made_while_open() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        d = deps(clock)
        inner = sim()
        inner.set_faults("support", DOWN)
        provider = Counting(inner)

        first = await ask(provider, d)
        assert provider.calls["support"] == 3
        assert [a.outcome for a in first.attempts if a.agent == "support"] == ["error"] * 3
        (opened,) = first.breaker_transitions
        assert (opened.key, opened.from_state, opened.to_state) == (
            "support/sim-small",
            "closed",
            "open",
        )
        assert "3 consecutive failures" in opened.reason

        for _ in range(5):
            clock.advance(5.0)
            during = await ask(provider, d)
            assert during.status == "degraded"
            skipped = during.attempts[0]
            assert (skipped.agent, skipped.outcome, skipped.breaker_state) == (
                "support",
                "skipped",
                "open",
            )
            assert skipped.error is not None
            assert "circuit open for support/sim-small" in skipped.error
            assert during.breaker_transitions == ()
        assert provider.calls["support"] == 3  # not one call while open

    asyncio.run(scenario())


def test_during_the_outage_the_fallback_answers_with_the_disclaimer() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        d = deps(clock)
        inner = sim()
        inner.set_faults("support", DOWN)
        provider = Counting(inner)
        await ask(provider, d)

        outcome = await ask(provider, d, "Why was I charged a $29.00 fee?")

        assert outcome.status == "degraded"
        assert outcome.agent == "general"
        assert outcome.requested_agent == "support"
        assert outcome.output
        assert outcome.output == outcome.attempts[-1].output
        assert outcome.disclaimer == (
            "Answered by our general assistant because the support specialist is unavailable "
            "right now; it cannot see your account, so details may be less precise."
        )
        assert outcome.error is not None
        assert outcome.error.startswith("support could not answer (circuit open")
        assert outcome.error.endswith("answered by fallback general")
        answer = outcome.attempts[-1]
        assert (answer.agent, answer.outcome, answer.model) == ("general", "ok", "sim-small")
        assert answer.decision is not None
        assert answer.decision.startswith("fallback for support")
        assert [a.attempt for a in outcome.attempts] == [1, 2]

    asyncio.run(scenario())


@pytest.mark.parametrize("replicas", [1, 2])
def test_after_the_cooldown_exactly_one_probe_among_twenty_concurrent_requests(
    replicas: int,
) -> None:
    async def scenario() -> None:
        clock, board = FakeClock(), LocalBreakerBoard()
        # Replicas: each its own InvocationDeps (own failure counts), one shared board.
        replica_deps = [deps(clock, board) for _ in range(replicas)]
        inner = sim()
        inner.set_faults("support", DOWN)
        await ask(Counting(inner), replica_deps[0])  # opens the breaker
        inner.clear_faults()  # the model recovers during the cooldown
        clock.advance(30.0)
        provider = Counting(inner, held=frozenset({"support"}))  # the probe stays in flight

        tasks = [
            asyncio.create_task(ask(provider, replica_deps[i % replicas], f"PIN question {i}"))
            for i in range(20)
        ]
        for _ in range(1000):
            if sum(t.done() for t in tasks) == 19:
                break
            await asyncio.sleep(0)
        assert provider.calls["support"] == 1
        assert sum(t.done() for t in tasks) == 19
        provider.release()
        outcomes = await asyncio.gather(*tasks)

        assert provider.calls["support"] == 1
        statuses = sorted(o.status for o in outcomes)
        assert statuses == ["degraded"] * 19 + ["ok"]
        (probe,) = [o for o in outcomes if o.status == "ok"]
        assert probe.attempts[0].breaker_state == "half_open"
        assert [(t.from_state, t.to_state) for t in probe.breaker_transitions] == [
            ("open", "half_open"),
            ("half_open", "closed"),
        ]
        refused = [o.attempts[0] for o in outcomes if o.status == "degraded"]
        assert {a.breaker_state for a in refused} == {"half_open"}

        after = await ask(provider, replica_deps[-1])
        assert after.status == "ok"
        assert after.agent == "support"
        assert provider.calls["support"] == 2

    asyncio.run(scenario())


def test_a_failed_probe_reopens_the_breaker_for_another_cooldown() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        d = deps(clock)
        inner = sim()
        inner.set_faults("support", DOWN)
        provider = Counting(inner)
        await ask(provider, d)
        clock.advance(30.0)

        probe = await ask(provider, d)

        assert provider.calls["support"] == 4  # exactly one more call: the probe
        assert probe.status == "degraded"
        assert [(t.from_state, t.to_state) for t in probe.breaker_transitions] == [
            ("open", "half_open"),
            ("half_open", "open"),
        ]
        assert "probe call failed" in probe.breaker_transitions[-1].reason
        probe_attempt = probe.attempts[0]
        assert (probe_attempt.breaker_state, probe_attempt.outcome) == ("half_open", "error")
        # The failed probe does not retry into a closed breaker: the next attempt is refused.
        assert probe.attempts[1].outcome == "skipped"

        clock.advance(29.0)
        await ask(provider, d)
        assert provider.calls["support"] == 4

    asyncio.run(scenario())


def test_breakers_are_per_agent_and_model() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        d = deps(clock)
        inner = sim()
        inner.set_faults("sim-small", DOWN)  # the model is down for every agent on it
        spec = SUPPORT.model_copy(
            update={"retry": SUPPORT.retry.model_copy(update={"attempts": 4})}
        )
        provider = Counting(inner)

        outcome = await invoke(spec, provider, "Reset my PIN", context=CONTEXT, deps=d)

        # Three failures open support/sim-small; the fourth attempt, perturbed onto the
        # alternative model, has a breaker of its own and answers.
        assert [(a.model, a.outcome) for a in outcome.attempts] == [
            ("sim-small", "error"),
            ("sim-small", "error"),
            ("sim-small", "error"),
            ("sim-standard", "ok"),
        ]
        assert outcome.status == "ok"
        assert outcome.attempts[-1].perturbation == "alternative model sim-standard"

    asyncio.run(scenario())


def test_without_a_fallback_the_result_fails_with_the_reason() -> None:
    async def scenario() -> None:
        inner = sim()
        inner.set_faults("general", DOWN)
        outcome = await invoke(
            GENERAL, inner, "Opening hours?", context=CONTEXT, deps=deps(FakeClock())
        )

        assert outcome.status == "failed"
        assert outcome.output is None
        assert outcome.disclaimer is None
        assert outcome.error is not None
        assert outcome.error.startswith("all 3 attempts failed; last: ModelUnavailable")

    asyncio.run(scenario())


def test_when_the_fallback_fails_too_both_reasons_are_given() -> None:
    async def scenario() -> None:
        inner = sim()
        inner.set_faults("*", DOWN)
        outcome = await ask(Counting(inner), deps(FakeClock()))

        assert outcome.status == "failed"
        assert outcome.agent == "support"
        assert outcome.error is not None
        assert outcome.error.startswith("support could not answer (all 3 attempts failed")
        assert "fallback general failed too (all 3 attempts failed" in outcome.error
        assert [a.attempt for a in outcome.attempts] == [1, 2, 3, 4, 5, 6]
        assert [a.agent for a in outcome.attempts] == ["support"] * 3 + ["general"] * 3

    asyncio.run(scenario())


def test_a_non_retriable_error_goes_straight_to_the_fallback() -> None:
    class Rejecting(Counting):
        async def complete(self, request: ModelRequest) -> ModelResponse:
            if request.metadata["agent"] == "support":
                self.calls["support"] += 1
                raise ProviderError("invalid API key", retriable=False, kind="auth")
            return await super().complete(request)

    async def scenario() -> None:
        provider = Rejecting(sim())
        outcome = await ask(provider, deps(FakeClock()))

        assert provider.calls["support"] == 1
        assert outcome.status == "degraded"
        assert outcome.error is not None
        assert "attempt 1 failed and cannot be retried" in outcome.error

    asyncio.run(scenario())


def test_a_fallback_chain_is_followed_once_per_agent() -> None:
    async def scenario() -> None:
        # Specs from outside an AgentSystem may loop; each agent still runs at most once.
        a = GENERAL.model_copy(update={"name": "alpha", "fallback": "beta"})
        b = GENERAL.model_copy(update={"name": "beta", "fallback": "alpha"})
        specs: dict[str, AgentSpec] = {"alpha": a, "beta": b}
        d = InvocationDeps(fallbacks=specs.__getitem__, clock=FakeClock(), sleep=no_sleep)
        inner = sim()
        inner.set_faults("*", DOWN)

        outcome = await invoke(a, inner, "hello", context=CONTEXT, deps=d)

        assert outcome.status == "failed"
        assert [x.agent for x in outcome.attempts] == ["alpha"] * 3 + ["beta"] * 3

    asyncio.run(scenario())


def test_an_output_contract_violation_is_retried_then_goes_to_the_fallback() -> None:
    def validate(spec: AgentSpec, output: str) -> str | None:
        return "missing field 'next_step'" if spec.name == "support" else None

    async def scenario() -> None:
        outcome = await invoke(
            SUPPORT,
            sim(),
            "How do I reset my PIN?",
            context=CONTEXT,
            deps=deps(FakeClock()),
            validate_output=validate,
        )

        support = [a for a in outcome.attempts if a.agent == "support"]
        assert [a.outcome for a in support] == ["malformed"] * 3
        assert all(
            a.error and "breaks the contract of support: missing field 'next_step'" in a.error
            for a in support
        )
        assert all(a.output for a in support)  # kept for the dead letter and debugging
        assert outcome.status == "degraded"
        assert outcome.agent == "general"

    asyncio.run(scenario())


def test_the_disclaimer_names_both_agents_by_default_and_may_be_templated() -> None:
    async def degraded(spec: AgentSpec) -> InvocationOutcome:
        inner = sim()
        inner.set_faults("support", DOWN)
        return await invoke(spec, inner, "PIN?", context=CONTEXT, deps=deps(FakeClock()))

    plain = asyncio.run(degraded(SUPPORT.model_copy(update={"disclaimer": None})))
    templated = asyncio.run(
        degraded(SUPPORT.model_copy(update={"disclaimer": "$fallback stood in for $agent."}))
    )

    assert plain.disclaimer == (
        "Answered by the general assistant because the support specialist is unavailable "
        "right now; details may be less precise."
    )
    assert templated.disclaimer == "general stood in for support."
    with pytest.raises(pydantic.ValidationError, match="disclaimer"):
        AgentSpec.model_validate({**SUPPORT.model_dump(), "disclaimer": "sorry $user"})
