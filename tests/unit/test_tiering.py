"""Tiered routing: the cheapest tier expected to do the job, and the reason, on the record."""

from __future__ import annotations

import asyncio

import pydantic
import pytest

from agents import cost_usd, fintech_system, invoke
from agents.invocation import InvocationDeps
from agents.tiering import TierPolicy, choose_tier, complexity_features
from tests.unit.invocation_doubles import CONTEXT, Counting, FakeClock, no_sleep, sim

POLICY = TierPolicy(small="s-model", standard="m-model", frontier="l-model")
REPORTS = fintech_system().get("reports")  # tiers with minimum "standard"
SIMPLE = "Can I get a monthly statement for May as a PDF?"
COMPLEX = (
    "Compare my spending on groceries in Q1 and Q2 2024, break down the $1,240.50 and "
    "$980.10 totals per category, and then forecast Q3. Which categories grew? Why?"
)


def test_features_are_counted_as_a_reviewer_would() -> None:
    features = complexity_features(COMPLEX)

    assert features.numbers == 6  # 1, 2, 2024, $1,240.50, $980.10, 3
    assert features.steps == ("compare", "break down", "per category", "and then", "forecast")
    assert features.questions == 2
    assert features.tokens > 30


def test_a_simple_input_gets_the_small_tier() -> None:
    decision = choose_tier(POLICY, "What are your opening hours?")

    assert (decision.tier, decision.model) == ("small", "s-model")
    assert decision.score < POLICY.standard_at
    assert decision.reason.startswith("score 0.1 (standard ≥ 2, frontier ≥ 4.5) → small")


def test_a_multi_step_analysis_gets_the_frontier_tier_and_says_why() -> None:
    decision = choose_tier(POLICY, COMPLEX)

    assert (decision.tier, decision.model) == ("frontier", "l-model")
    assert decision.score >= POLICY.frontier_at
    assert "6 numbers/amounts +3.0" in decision.reason
    assert "5 multi-step cues ('compare', 'break down', 'per category'" in decision.reason
    assert "+7.5" in decision.reason
    assert "2 questions +1.0" in decision.reason


def test_a_moderate_input_gets_the_standard_tier() -> None:
    decision = choose_tier(POLICY, "What was our revenue trend over the last 6 months?")

    assert decision.tier == "standard"


def test_minimum_and_maximum_tiers_bound_the_choice() -> None:
    floor = POLICY.model_copy(update={"minimum": "standard"})
    ceiling = POLICY.model_copy(update={"maximum": "standard"})

    raised = choose_tier(floor, "Hi")
    lowered = choose_tier(ceiling, COMPLEX)
    assert raised.tier == "standard"
    assert "→ small, minimum tier standard" in raised.reason
    assert lowered.tier == "standard"
    assert "→ frontier, maximum tier standard" in lowered.reason


def test_the_decision_is_on_the_attempt_the_outcome_and_the_request() -> None:
    provider = Counting(sim())
    deps = InvocationDeps(clock=FakeClock(), sleep=no_sleep)

    simple = asyncio.run(invoke(REPORTS, provider, SIMPLE, context=CONTEXT, deps=deps))
    complex_ = asyncio.run(invoke(REPORTS, provider, COMPLEX, context=CONTEXT, deps=deps))

    assert [(r.model, r.metadata["tier"]) for r in provider.requests] == [
        ("sim-standard", "standard"),
        ("sim-frontier", "frontier"),
    ]
    for outcome, tier in ((simple, "standard"), (complex_, "frontier")):
        (attempt,) = outcome.attempts
        assert attempt.tier == outcome.tier == tier
        assert attempt.decision is not None
        assert attempt.decision.startswith("tier score ")
        assert outcome.decision == attempt.decision
    # The simple report ran on the cheaper model: that is the saving.
    (cheap,) = simple.attempts
    assert cheap.cost_usd == pytest.approx(
        cost_usd("sim-standard", cheap.input_tokens, cheap.output_tokens)
    )
    assert cheap.cost_usd < cost_usd("sim-frontier", cheap.input_tokens, cheap.output_tokens)


def test_without_a_policy_the_spec_model_is_used_and_no_decision_recorded() -> None:
    general = fintech_system().get("general").model_copy(update={"cache_ttl_s": None})
    outcome = asyncio.run(
        invoke(general, sim(), COMPLEX, context=CONTEXT, deps=InvocationDeps(sleep=no_sleep))
    )

    assert (outcome.tier, outcome.model, outcome.decision) == ("small", "sim-small", None)


@pytest.mark.parametrize(
    "bad",
    [
        {"minimum": "frontier", "maximum": "standard"},
        {"standard_at": 5.0, "frontier_at": 2.0},
        {"minimum": "huge"},
    ],
)
def test_inconsistent_tier_policies_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        TierPolicy.model_validate({"small": "a", "standard": "b", "frontier": "c", **bad})
