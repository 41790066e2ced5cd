"""Circuit breakers on a shared board: open, cool down, exactly one probe, close or reopen."""

from __future__ import annotations

import asyncio

import pydantic
import pytest

from agents.errors import ConfigError
from agents.resilience import (
    BreakerBoard,
    BreakerPolicy,
    BreakerRegistry,
    CircuitBreaker,
    LocalBreakerBoard,
    breaker_key,
)
from tests.unit.invocation_doubles import FakeClock

KEY = breaker_key("support", "sim-small")


def breaker(board: LocalBreakerBoard, clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(KEY, board, threshold=3, cooldown_s=30.0, clock=clock)


async def fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        admission = await b.admit()
        assert admission.allowed
        await b.record_failure(admission, "ModelUnavailable: HTTP 503")


def test_opens_after_three_consecutive_failures_with_a_reason() -> None:
    async def scenario() -> None:
        board, clock = LocalBreakerBoard(), FakeClock()
        b = breaker(board, clock)
        await fail(b, 2)
        assert b.state == "closed"
        admission = await b.admit()
        transition = await b.record_failure(admission, "ModelUnavailable: HTTP 503")

        assert transition is not None
        assert (transition.from_state, transition.to_state) == ("closed", "open")
        assert (transition.agent, transition.model, transition.key) == (
            "support",
            "sim-small",
            "support/sim-small",
        )
        assert transition.epoch == 1
        assert transition.at == clock.now
        assert "3 consecutive failures" in transition.reason
        assert "HTTP 503" in transition.reason
        assert board.current(KEY) == transition
        refused = await b.admit()
        assert not refused.allowed
        assert refused.state == "open"
        assert refused.reason is not None
        assert "next probe in 30.0s" in refused.reason

    asyncio.run(scenario())


def test_a_success_resets_the_consecutive_count() -> None:
    async def scenario() -> None:
        b = breaker(LocalBreakerBoard(), FakeClock())
        await fail(b, 2)
        await b.record_success(await b.admit())
        await fail(b, 2)

        assert b.state == "closed"
        assert b.consecutive_failures == 2

    asyncio.run(scenario())


def test_stays_open_until_the_cooldown_is_over() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        b = breaker(LocalBreakerBoard(), clock)
        await fail(b, 3)
        clock.advance(29.9)
        assert not (await b.admit()).allowed
        clock.advance(0.1)
        probe = await b.admit()
        assert probe.allowed
        assert probe.probe
        assert probe.state == "half_open"
        assert probe.transition is not None
        assert (probe.transition.from_state, probe.transition.to_state) == ("open", "half_open")
        assert "cooldown of 30s over" in probe.transition.reason

    asyncio.run(scenario())


@pytest.mark.parametrize("replicas", [1, 2])
def test_exactly_one_probe_among_twenty_concurrent_callers(replicas: int) -> None:
    async def scenario() -> None:
        board, clock = LocalBreakerBoard(), FakeClock()
        # Each replica has its own CircuitBreaker (its own failure count) on one board.
        breakers = [breaker(board, clock) for _ in range(replicas)]
        await fail(breakers[0], 3)
        clock.advance(30.0)

        admissions = await asyncio.gather(*(breakers[i % replicas].admit() for i in range(20)))

        assert sum(a.allowed for a in admissions) == 1
        assert sum(a.probe for a in admissions) == 1
        refused = [a for a in admissions if not a.allowed]
        assert {a.state for a in refused} == {"half_open"}
        assert all(a.reason and "probe" in a.reason for a in refused)
        assert breakers[-1].state == "half_open"

    asyncio.run(scenario())


def test_probe_success_closes_and_failure_reopens_for_another_cooldown() -> None:
    async def scenario() -> None:
        board, clock = LocalBreakerBoard(), FakeClock()
        b = breaker(board, clock)
        await fail(b, 3)
        clock.advance(30.0)
        probe = await b.admit()
        reopened = await b.record_failure(probe, "ModelTimeout: no answer within 20s")

        assert reopened is not None
        assert (reopened.from_state, reopened.to_state) == ("half_open", "open")
        assert reopened.epoch == 2
        assert "probe call failed" in reopened.reason
        clock.advance(29.0)
        assert not (await b.admit()).allowed

        clock.advance(1.0)
        probe = await b.admit()
        assert probe.allowed
        assert probe.epoch == 2
        closed = await b.record_success(probe)

        assert closed is not None
        assert (closed.from_state, closed.to_state) == ("half_open", "closed")
        assert "probe call succeeded" in closed.reason
        assert b.state == "closed"
        assert [(await b.admit()).allowed for _ in range(5)] == [True] * 5
        states = [(t.from_state, t.to_state) for t in board.history(KEY)]
        assert states == [
            ("closed", "open"),
            ("open", "half_open"),
            ("half_open", "open"),
            ("open", "half_open"),
            ("half_open", "closed"),
        ]

    asyncio.run(scenario())


def test_a_probe_that_never_reports_is_replaced_after_a_cooldown() -> None:
    async def scenario() -> None:
        board, clock = LocalBreakerBoard(), FakeClock()
        replica_a, replica_b = breaker(board, clock), breaker(board, clock)
        await fail(replica_a, 3)
        clock.advance(30.0)
        lost = await replica_a.admit()  # replica A dies with its probe in flight
        assert lost.probe

        clock.advance(29.0)
        assert not (await replica_b.admit()).allowed
        clock.advance(1.0)
        second = await replica_b.admit()

        assert second.probe
        assert second.epoch == lost.epoch + 1
        assert second.transition is not None
        assert "did not report" in second.transition.reason
        # The lost probe's late answer no longer decides anything.
        assert await replica_a.record_success(lost) is None
        assert replica_b.state == "half_open"
        assert await replica_b.record_success(second) is not None
        assert replica_b.state == "closed"

    asyncio.run(scenario())


def test_failures_of_calls_admitted_before_the_opening_do_not_reopen() -> None:
    async def scenario() -> None:
        board, clock = LocalBreakerBoard(), FakeClock()
        b = breaker(board, clock)
        in_flight = [await b.admit() for _ in range(5)]
        transitions = [await b.record_failure(a, "HTTP 503") for a in in_flight]

        assert [t is not None for t in transitions] == [False, False, True, False, False]
        assert len(board.history(KEY)) == 1

    asyncio.run(scenario())


def test_local_board_is_a_breaker_board_and_claims_once_per_epoch() -> None:
    async def scenario() -> None:
        board = LocalBreakerBoard()
        assert isinstance(board, BreakerBoard)
        assert await board.claim_probe(KEY, 1)
        assert not await board.claim_probe(KEY, 1)
        assert not await board.claim_probe(KEY, 0)
        assert await board.claim_probe(KEY, 2)
        assert await board.claim_probe("other/model", 1)

    asyncio.run(scenario())


def test_registry_gives_one_breaker_per_agent_and_model() -> None:
    registry = BreakerRegistry()
    policy = BreakerPolicy()

    assert registry.get("support", "sim-small", policy) is registry.get(
        "support", "sim-small", policy
    )
    assert registry.get("support", "sim-small", policy) is not registry.get(
        "support", "sim-standard", policy
    )
    assert registry.get("general", "sim-small", policy).key == "general/sim-small"


def test_bad_breaker_settings_are_rejected() -> None:
    with pytest.raises(pydantic.ValidationError):
        BreakerPolicy(threshold=0)
    with pytest.raises(pydantic.ValidationError):
        BreakerPolicy(cooldown_s=0)
    with pytest.raises(ConfigError):
        CircuitBreaker(KEY, LocalBreakerBoard(), threshold=0)


def test_fast_failures_in_a_burst_do_not_open_it_ahead_of_slower_successes() -> None:
    # Under load, a 5xx comes back long before a good answer that started earlier:
    # "consecutive" means in the order calls started, not the order they finished.
    async def scenario() -> None:
        board = LocalBreakerBoard()
        b = breaker(board, FakeClock())
        calls = [await b.admit() for _ in range(10)]
        for failing in (calls[2], calls[5], calls[8]):
            assert await b.record_failure(failing, "HTTP 503") is None
        for other in calls:
            if other not in (calls[2], calls[5], calls[8]):
                assert await b.record_success(other) is None

        assert b.state == "closed"
        assert board.history(KEY) == ()

    asyncio.run(scenario())


def test_a_run_of_failures_opens_once_the_call_started_before_it_settles() -> None:
    async def scenario() -> None:
        board = LocalBreakerBoard()
        b = breaker(board, FakeClock())
        slow, *rest = [await b.admit() for _ in range(4)]
        for call in rest:
            assert await b.record_failure(call, "HTTP 503") is None  # `slow` may yet succeed

        opened = await b.record_success(slow)

        assert opened is not None and opened.to_state == "open"
        assert "3 consecutive failures" in opened.reason

    asyncio.run(scenario())


def test_an_abandoned_call_does_not_block_a_run() -> None:
    async def scenario() -> None:
        b = breaker(LocalBreakerBoard(), FakeClock())
        cancelled, *rest = [await b.admit() for _ in range(4)]
        b.abandon(cancelled)
        transitions = [await b.record_failure(call, "HTTP 503") for call in rest]

        assert transitions[-1] is not None

    asyncio.run(scenario())
