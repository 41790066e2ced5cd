"""`BreakerBoard` contract: every replica sees the same breaker state, and one probe per epoch.

Runs against `LocalBreakerBoard` and `KafkaBreakerBoard`. The promises are the
Protocol's: `current` is the latest transition (highest epoch; within an epoch, the
last published) and `claim_probe` is True for exactly one caller per `(key, epoch)`
across every replica.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from agents.resilience.breaker import BreakerState, BreakerTransition, CircuitBreaker
from tests.contract.stores.backends import BreakerBackend
from tests.unit.invocation_doubles import FakeClock

KEY = "support/sim-small"
# Transition times to the millisecond: the event carries `occurred_at` in milliseconds.
T0 = round(time.time(), 3)


def transition(
    from_state: BreakerState, to_state: BreakerState, epoch: int, at: float, key: str = KEY
) -> BreakerTransition:
    agent, _, model = key.partition("/")
    return BreakerTransition(
        key=key,
        agent=agent,
        model=model,
        from_state=from_state,
        to_state=to_state,
        reason=f"{from_state} → {to_state}: 3 consecutive failures, last: ModelUnavailable «503»",
        epoch=epoch,
        at=at,
    )


def test_a_transition_round_trips_to_another_replica(breaker_backend: BreakerBackend) -> None:
    async def scenario() -> None:
        async with breaker_backend.replicas(2) as (a, b):
            opened = transition("closed", "open", 1, T0)
            await a.publish(opened)
            assert a.current(KEY) == opened  # the publisher stops calling at once
            await breaker_backend.settle(a, b)

            assert a.current(KEY) == opened
            assert b.current(KEY) == opened
            assert b.current("other/sim-small") is None

    asyncio.run(scenario())


def test_the_latest_transition_wins_and_a_stale_epoch_does_not(
    breaker_backend: BreakerBackend,
) -> None:
    async def scenario() -> None:
        async with breaker_backend.replicas(2) as (a, b):
            await a.publish(transition("closed", "open", 1, T0))
            await a.publish(transition("open", "half_open", 1, T0 + 30))
            await a.publish(transition("half_open", "open", 2, T0 + 31))
            # A replica that missed the reopening reports its probe's success late.
            await b.publish(transition("half_open", "closed", 1, T0 + 32))
            await breaker_backend.settle(a, b)

            for board in (a, b):
                latest = board.current(KEY)
                assert latest is not None
                assert (latest.to_state, latest.epoch) == ("open", 2)

    asyncio.run(scenario())


def test_within_an_epoch_the_last_published_wins(breaker_backend: BreakerBackend) -> None:
    async def scenario() -> None:
        async with breaker_backend.replicas(2) as (a, b):
            await a.publish(transition("closed", "open", 1, T0))
            await a.publish(transition("open", "half_open", 1, T0 + 30))
            await a.publish(transition("half_open", "closed", 1, T0 + 30.2))
            await breaker_backend.settle(a, b)
            for board in (a, b):
                latest = board.current(KEY)
                assert latest is not None
                assert (latest.from_state, latest.to_state) == ("half_open", "closed")

    asyncio.run(scenario())


def test_exactly_one_caller_wins_the_probe_of_an_epoch(breaker_backend: BreakerBackend) -> None:
    # Three replicas, four concurrent callers each (a specialist runs many calls at once).
    async def scenario() -> None:
        async with breaker_backend.replicas(3) as boards:
            await boards[0].publish(transition("closed", "open", 1, T0))
            await breaker_backend.settle(*boards)
            for epoch in (1, 2):
                grants = await asyncio.gather(
                    *(board.claim_probe(KEY, epoch) for board in boards for _ in range(4))
                )
                assert sum(grants) == 1, f"epoch {epoch}: {grants}"
                # Asked again after the race, nobody else gets it.
                await breaker_backend.settle(*boards)
                late = [await board.claim_probe(KEY, epoch) for board in boards]
                assert late == [False, False, False]

    asyncio.run(scenario())


def test_probes_of_different_breakers_do_not_interfere(breaker_backend: BreakerBackend) -> None:
    async def scenario() -> None:
        async with breaker_backend.replicas(2) as (a, b):
            grants = await asyncio.gather(
                a.claim_probe(KEY, 1), b.claim_probe("billing/sim-standard", 1)
            )
            assert list(grants) == [True, True]

    asyncio.run(scenario())


@pytest.mark.parametrize("probe_succeeds", [True, False], ids=["probe-ok", "probe-fails"])
def test_breakers_on_two_replicas_open_probe_once_and_settle(
    breaker_backend: BreakerBackend, probe_succeeds: bool
) -> None:
    # What an operator sees: replica A's failures open the breaker for both replicas;
    # after the cooldown exactly one call cluster-wide probes; its outcome holds for both.
    async def scenario() -> None:
        clock = FakeClock(T0)
        async with breaker_backend.replicas(2) as (board_a, board_b):
            a = CircuitBreaker(KEY, board_a, threshold=2, cooldown_s=30.0, clock=clock)
            b = CircuitBreaker(KEY, board_b, threshold=2, cooldown_s=30.0, clock=clock)
            for _ in range(2):
                await a.record_failure(await a.admit(), "ModelUnavailable: 503")
            await breaker_backend.settle(board_a, board_b)
            assert (a.state, b.state) == ("open", "open")
            refused = await b.admit()
            assert not refused.allowed
            assert "circuit open" in (refused.reason or "")

            clock.advance(30.0)
            admissions = await asyncio.gather(*(br.admit() for br in (a, b, a, b)))
            probes = [adm for adm in admissions if adm.allowed]
            assert len(probes) == 1
            assert probes[0].probe
            prober = (a, b)[admissions.index(probes[0]) % 2]
            if probe_succeeds:
                await prober.record_success(probes[0])
            else:
                await prober.record_failure(probes[0], "ModelTimeout")
            await breaker_backend.settle(board_a, board_b)

            expected = "closed" if probe_succeeds else "open"
            assert (a.state, b.state) == (expected, expected)
            assert (await b.admit()).allowed is probe_succeeds

    asyncio.run(scenario())
