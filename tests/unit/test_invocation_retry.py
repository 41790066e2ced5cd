"""Retries that perturb: each retry changes the prompt, temperature or model, and says so."""

from __future__ import annotations

import asyncio
import itertools

import pydantic
import pytest

from agents import (
    AgentSpec,
    InvocationOutcome,
    ModelRequest,
    ModelResponse,
    RetryPolicy,
    fintech_system,
    invoke,
)
from agents.errors import RateLimited
from agents.invocation import InvocationDeps
from agents.retry import plan_attempts
from tests.unit.invocation_doubles import CONTEXT, Counting, FakeClock, no_sleep, sim

SUPPORT = fintech_system().get("support").model_copy(update={"cache_ttl_s": None})
PERTURBING = RetryPolicy(
    attempts=4,
    rephrasings=("Customer request:\n$input",),
    temperatures=(0.5,),
    alternative_models=("sim-standard",),
)
IDENTICAL = RetryPolicy(attempts=3, rephrasings=(), temperatures=(), alternative_models=())


def with_retry(policy: RetryPolicy) -> AgentSpec:
    return SUPPORT.model_copy(update={"retry": policy})


def run(spec: AgentSpec, provider: Counting, text: str) -> InvocationOutcome:
    deps = InvocationDeps(clock=FakeClock(), sleep=no_sleep)
    return asyncio.run(invoke(spec, provider, text, context=CONTEXT, deps=deps))


def test_each_retry_changes_one_thing_and_records_what() -> None:
    provider = Counting(sim(error_rate=1.0))
    outcome = run(with_retry(PERTURBING), provider, "My card is blocked")

    sent = [(r.input_text, r.temperature, r.model) for r in provider.requests]
    assert sent == [
        ("My card is blocked", 0.2, "sim-small"),
        ("Customer request:\nMy card is blocked", 0.2, "sim-small"),
        ("Customer request:\nMy card is blocked", 0.5, "sim-small"),
        ("Customer request:\nMy card is blocked", 0.5, "sim-standard"),
    ]
    assert all(a != b for a, b in itertools.pairwise(sent))
    assert [a.perturbation for a in outcome.attempts] == [
        None,
        "rephrased prompt (variant 1)",
        "temperature 0.2→0.5",
        "alternative model sim-standard",
    ]
    # The record shows what was sent, not what the user typed.
    assert [(a.input, a.temperature, a.model) for a in outcome.attempts] == sent


def test_rephrasing_is_deterministic() -> None:
    first, second = Counting(sim(error_rate=1.0)), Counting(sim(error_rate=1.0))
    run(with_retry(PERTURBING), first, "Refund my fee please")
    run(with_retry(PERTURBING), second, "Refund my fee please")

    assert [r.input_text for r in first.requests] == [r.input_text for r in second.requests]


def test_a_perturbed_retry_can_fix_what_an_identical_retry_repeats() -> None:
    # The sim, like a real model, gives the same bad answer to the same prompt: an
    # identical retry of a malformed answer is malformed again; a perturbed one may not be.
    texts = [f"Question {i} about my card fee" for i in range(30)]
    identical = [run(with_retry(IDENTICAL), Counting(sim(malformed_rate=0.5)), t) for t in texts]
    perturbed = [run(with_retry(PERTURBING), Counting(sim(malformed_rate=0.5)), t) for t in texts]

    failed_first = [i for i, o in enumerate(identical) if o.attempts[0].outcome == "malformed"]
    assert failed_first, "with a 50% malformed rate some first answers must be malformed"
    assert all(identical[i].status == "failed" for i in failed_first)
    rescued = [i for i in failed_first if perturbed[i].status == "ok"]
    assert rescued
    assert perturbed[rescued[0]].attempts[-1].perturbation is not None


def test_retries_cycle_through_the_declared_order() -> None:
    policy = RetryPolicy(
        rephrasings=("A: $input", "B: $input"),
        temperatures=(0.7,),
        alternative_models=("m2",),
        order=("model", "rephrase"),  # temperature left out: never changed
    )
    plans = plan_attempts(policy, input_text="hi", temperature=0.2, model="m1", attempts=5)

    assert [p.perturbation for p in plans] == [
        None,
        "alternative model m2",
        "rephrased prompt (variant 1)",
        "rephrased prompt (variant 2)",  # no model left: the next kind in the order
        None,  # nothing left to change: the retry repeats the last call
    ]
    assert (plans[-1].input_text, plans[-1].temperature, plans[-1].model) == ("B: hi", 0.2, "m2")


def test_values_equal_to_the_current_ones_are_skipped() -> None:
    policy = RetryPolicy(temperatures=(0.2, 0.9), alternative_models=("m1", "m2"), rephrasings=())
    plans = plan_attempts(policy, input_text="x", temperature=0.2, model="m1", attempts=3)

    assert [p.perturbation for p in plans] == [None, "temperature 0.2→0.9", "alternative model m2"]


def test_attempts_default_to_the_agent_limit_and_can_be_overridden() -> None:
    provider = Counting(sim(error_rate=1.0))
    run(SUPPORT, provider, "hello")
    assert len(provider.requests) == SUPPORT.limits.max_attempts

    provider = Counting(sim(error_rate=1.0))
    run(with_retry(RetryPolicy(attempts=1)), provider, "hello")
    assert len(provider.requests) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"rephrasings": ("no placeholder",)},
        {"rephrasings": ("$input and $other",)},
        {"temperatures": (2.5,)},
        {"order": ()},
        {"attempts": 0},
    ],
)
def test_bad_retry_policies_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        RetryPolicy.model_validate(bad)


class ThrottledOnce(Counting):
    """Answers HTTP 429 with a retry-after to the first call, then lets calls through."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(sim())
        self.retry_after_s = retry_after_s

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if not self.requests:
            self.requests.append(request)
            raise RateLimited("HTTP 429 slow down", retry_after_s=self.retry_after_s)
        return await super().complete(request)


@pytest.mark.parametrize(("retry_after_s", "expected_wait"), [(2.0, 2.0), (60.0, 5.0)])
def test_a_rate_limit_waits_as_asked_up_to_the_longest_backoff(
    retry_after_s: float, expected_wait: float
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(backoff_s=0.2, max_backoff_s=5.0, jitter_s=0.0)
    deps = InvocationDeps(clock=FakeClock(), sleep=sleep)
    outcome = asyncio.run(
        invoke(
            with_retry(policy),
            ThrottledOnce(retry_after_s),
            "hello",
            context=CONTEXT,
            deps=deps,
        )
    )

    assert [a.outcome for a in outcome.attempts] == ["error", "ok"]
    assert waits == [expected_wait]
