"""Token budgets: concurrent calls never overspend together; a cut answer comes back partial."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from agents import AgentLimits, AgentSpec, estimate_tokens, fintech_system, invoke
from agents.budget import TokenBudget
from agents.errors import AgentError, ConfigError
from agents.invocation import InvocationDeps, InvocationOutcome
from tests.unit.invocation_doubles import CONTEXT, Counting, FakeClock, no_sleep, sim

SUPPORT = fintech_system().get("support").model_copy(update={"cache_ttl_s": None})
TEXT = "Why was I charged a $29.00 fee on my account this month?"


def worst_case(spec: AgentSpec, text: str = TEXT) -> tuple[int, int]:
    """Estimated input tokens of a call, and its full reservation (input + output cap)."""
    estimate = estimate_tokens(spec.render_prompt(tenant=CONTEXT.tenant)) + estimate_tokens(text)
    return estimate, estimate + spec.limits.max_output_tokens


def spent(outcome: InvocationOutcome) -> int:
    return outcome.input_tokens + outcome.output_tokens


def test_reservations_cap_and_refuse_then_settle_what_was_spent() -> None:
    budget = TokenBudget(1000)
    full = budget.reserve(600)
    capped = budget.reserve(600, minimum=100)
    refused = budget.reserve(600, minimum=100)

    assert (full.granted, full.capped) == (600, False)
    assert (capped.granted, capped.capped) == (400, True)
    assert refused.refused
    assert (budget.held, budget.remaining) == (1000, 0)
    budget.settle(full, 250)
    budget.settle(capped, 400)
    budget.settle(refused, 0)
    assert (budget.used, budget.held, budget.remaining, budget.overrun) == (650, 0, 350, 0)
    with pytest.raises(AgentError, match="settled twice"):
        budget.settle(full, 250)


def test_a_provider_billing_more_than_estimated_is_counted_as_overrun() -> None:
    budget = TokenBudget(1000)
    reservation = budget.reserve(100)
    budget.settle(reservation, 130)

    assert (budget.used, budget.overrun, budget.remaining) == (130, 30, 870)


def test_bad_budget_arguments_are_rejected() -> None:
    with pytest.raises(ConfigError):
        TokenBudget(0)
    with pytest.raises(ConfigError):
        TokenBudget(10).reserve(0)
    with pytest.raises(ConfigError):
        TokenBudget(10).settle(TokenBudget(10).reserve(5), -1)


def test_random_concurrent_reservations_never_exceed_the_limit() -> None:
    async def scenario() -> None:
        budget = TokenBudget(5_000)
        rng = random.Random(7)
        peak = 0

        async def call() -> None:
            nonlocal peak
            reservation = await budget.acquire(rng.randint(50, 900), minimum=40)
            peak = max(peak, budget.used + budget.held)
            await asyncio.sleep(0)
            budget.settle(reservation, rng.randint(0, reservation.granted))

        await asyncio.gather(*(call() for _ in range(300)))
        assert peak <= budget.limit
        assert budget.used <= budget.limit
        assert budget.held == 0

    asyncio.run(scenario())


def test_fifty_concurrent_calls_never_exceed_one_shared_budget() -> None:
    async def scenario() -> None:
        estimate, full = worst_case(SUPPORT)
        # Room for five worst-case calls and a sixth cut to 20 output tokens; since
        # calls spend less than their worst case, more fit as the budget settles.
        budget = TokenBudget(5 * full + estimate + 20)
        deps = InvocationDeps(clock=FakeClock(), sleep=no_sleep)
        provider = Counting(sim())

        outcomes = await asyncio.gather(
            *(
                invoke(SUPPORT, provider, TEXT, context=CONTEXT, deps=deps, budget=budget)
                for _ in range(50)
            )
        )

        assert sum(spent(o) for o in outcomes) <= budget.limit
        assert sum(spent(o) for o in outcomes) == budget.used
        assert budget.held == 0
        statuses = Counter(o.status for o in outcomes)
        assert statuses["ok"] >= 5
        assert statuses["partial"] >= 1
        assert statuses["ok"] + statuses["partial"] + statuses["failed"] == 50
        for outcome in outcomes:
            if outcome.status == "partial":
                (attempt,) = outcome.attempts
                assert outcome.output
                assert attempt.outcome == "partial"
                assert outcome.disclaimer == (
                    "This answer was cut short by its token budget and may be incomplete."
                )
                assert attempt.decision is not None
                assert "by the token budget" in attempt.decision
            elif outcome.status == "failed":
                (attempt,) = outcome.attempts
                assert attempt.outcome == "skipped"
                assert outcome.error is not None
                assert outcome.error.startswith("token budget exhausted")
        # A call refused for budget makes no model call and does not go to the fallback.
        assert len(provider.requests) == statuses["ok"] + statuses["partial"]
        assert set(provider.calls) == {"support"}

    asyncio.run(scenario())


def test_an_agent_budget_cuts_the_answer_short_and_returns_it_partial() -> None:
    estimate, _ = worst_case(SUPPORT)
    spec = SUPPORT.model_copy(update={"budget_tokens": estimate + 20})
    provider = Counting(sim())
    deps = InvocationDeps(clock=FakeClock(), sleep=no_sleep)
    outcome = asyncio.run(invoke(spec, provider, TEXT, context=CONTEXT, deps=deps))

    (request,) = provider.requests
    (attempt,) = outcome.attempts
    assert request.max_output_tokens == 20
    assert outcome.status == "partial"
    assert outcome.output
    assert attempt.output_tokens == 20
    assert attempt.budget_used == spent(outcome) <= estimate + 20
    assert outcome.error == "answer cut short at 20 output tokens by the token budget of " + (
        f"{spec.budget_tokens} tokens"
    )


def test_retries_share_the_invocation_budget() -> None:
    estimate, full = worst_case(SUPPORT)
    spec = SUPPORT.model_copy(update={"budget_tokens": full + estimate})
    deps = InvocationDeps(clock=FakeClock(), sleep=no_sleep)
    # Malformed answers are billed: retries spend the budget until it is gone.
    outcome = asyncio.run(invoke(spec, sim(malformed_rate=1.0), TEXT, context=CONTEXT, deps=deps))

    used = [a.budget_used or 0 for a in outcome.attempts]
    assert used == sorted(used)
    assert spent(outcome) <= full + estimate
    assert outcome.attempts[-1].budget_used == spent(outcome)


def test_an_exhausted_budget_makes_no_call_and_no_fallback() -> None:
    spec = SUPPORT.model_copy(update={"limits": AgentLimits(max_output_tokens=512)})
    budget = TokenBudget(50)  # less than the prompt alone
    provider = Counting(sim())
    deps = InvocationDeps(fallbacks={"general": SUPPORT}.__getitem__, sleep=no_sleep)
    outcome = asyncio.run(invoke(spec, provider, TEXT, context=CONTEXT, deps=deps, budget=budget))

    assert provider.requests == []
    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error.startswith("token budget exhausted: 50 of 50 tokens left")
    (attempt,) = outcome.attempts
    assert (attempt.outcome, attempt.budget_used, attempt.cost_usd) == ("skipped", 0, 0.0)
