"""`PolicyBoard` contract: a published chaos policy is obeyed by every replica, and cleared.

Runs against `LocalPolicyBoard` and `PolicyFollower` (over Kafka). What a user notices
is the sim provider's faults: `agentbus chaos support --error-rate 1` must make every
replica's support calls fail, and `--clear` must stop it everywhere.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents.providers.base import ModelRequest
from agents.providers.sim import SimFaults, SimProvider
from streams.shared.policies import PolicyBoard, chaos_policy
from tests.contract.stores.backends import PolicyBackend

NONE = SimFaults()


def chaos(target: str, **options: Any) -> dict[str, Any]:
    """`chaos_policy`, stamped to the millisecond: the precision of the event's `occurred_at`."""
    policy = chaos_policy(target, **options)
    at = policy["occurred_at"]
    return {**policy, "occurred_at": at.replace(microsecond=at.microsecond // 1000 * 1000)}


def faults_of(provider: SimProvider, agent: str, model: str = "sim-small") -> SimFaults:
    request = ModelRequest(
        model=model,
        system_prompt="",
        input_text="hi",
        temperature=0.0,
        max_output_tokens=16,
        timeout_s=5.0,
        metadata={"agent": agent},
    )
    return provider.faults_for(request)


def test_a_policy_round_trips_and_every_replica_obeys_it(policy_backend: PolicyBackend) -> None:
    async def scenario() -> None:
        async with policy_backend.replicas(2) as (a, b):
            assert isinstance(a, PolicyBoard)
            policy = chaos(
                "support", error_rate=0.25, timeout_rate=0.5, malformed_rate=0.125, latency_ms=40
            )
            await a.publish(policy)
            await policy_backend.settle(a, b)

            for board in (a, b):
                assert board.current("chaos", "support") == policy
                assert board.current("chaos", "billing") is None
            expected = SimFaults(
                error_rate=0.25, timeout_rate=0.5, malformed_rate=0.125, extra_latency_ms=40.0
            )
            for provider in policy_backend.providers:
                assert faults_of(provider, "support") == expected
                assert faults_of(provider, "billing") == NONE

    asyncio.run(scenario())


def test_a_later_policy_replaces_the_earlier_one(policy_backend: PolicyBackend) -> None:
    async def scenario() -> None:
        async with policy_backend.replicas(2) as (a, b):
            await a.publish(chaos("support", error_rate=1.0))
            second = chaos("support", timeout_rate=0.5)
            await b.publish(second)
            await policy_backend.settle(a, b)

            for board in (a, b):
                assert board.current("chaos", "support") == second
            for provider in policy_backend.providers:
                assert faults_of(provider, "support") == SimFaults(timeout_rate=0.5)

    asyncio.run(scenario())


def test_a_clear_stops_the_faults_everywhere(policy_backend: PolicyBackend) -> None:
    async def scenario() -> None:
        async with policy_backend.replicas(2) as (a, b):
            await a.publish(chaos("*", error_rate=1.0))
            await a.publish(chaos("support", malformed_rate=1.0))
            await a.publish(chaos("support", clear=True))
            await policy_backend.settle(a, b)

            for board in (a, b):
                assert board.current("chaos", "support") is None
                assert board.current("chaos", "*") is not None
            for provider in policy_backend.providers:
                assert faults_of(provider, "support") == SimFaults(error_rate=1.0)

    asyncio.run(scenario())


def test_a_replica_started_later_obeys_policies_already_published(
    policy_backend: PolicyBackend,
) -> None:
    async def scenario() -> None:
        async with policy_backend.replica() as first:
            await first.publish(chaos("billing", error_rate=0.5))
            async with policy_backend.replica() as late:
                assert late.current("chaos", "billing") is not None
                assert faults_of(policy_backend.providers[-1], "billing") == SimFaults(
                    error_rate=0.5
                )

    asyncio.run(scenario())
