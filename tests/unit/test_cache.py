"""The result cache: a repeated question is answered without a model call, within its TTL."""

from __future__ import annotations

import asyncio

import pydantic
import pytest

from agents import (
    AgentSpec,
    InvocationContext,
    InvocationOutcome,
    SimFaults,
    fintech_system,
    invoke,
)
from agents.cache import CacheEntry, CacheStore, LocalCacheStore, cache_key, normalize_input
from agents.errors import ConfigError
from agents.invocation import InvocationDeps
from tests.unit.invocation_doubles import CONTEXT, Counting, FakeClock, no_sleep, sim

SUPPORT = fintech_system().get("support")  # cache_ttl_s=300
QUESTION = "How do I reset the PIN on my card?"


class Replicas:
    """Two replicas (each its own InvocationDeps) sharing one cache store and clock."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.store = LocalCacheStore(clock=self.clock)
        self.replicas = [
            InvocationDeps(cache=self.store, clock=self.clock, sleep=no_sleep) for _ in range(2)
        ]
        self.provider = Counting(sim())

    def ask(
        self,
        text: str = QUESTION,
        *,
        spec: AgentSpec = SUPPORT,
        replica: int = 0,
        context: InvocationContext = CONTEXT,
    ) -> InvocationOutcome:
        deps = self.replicas[replica]
        return asyncio.run(invoke(spec, self.provider, text, context=context, deps=deps))


def test_a_repeat_within_the_ttl_is_served_from_the_cache_on_another_replica() -> None:
    r = Replicas()
    first = r.ask(replica=0)
    r.clock.advance(299.0)
    second = r.ask(replica=1)

    assert len(r.provider.requests) == 1
    assert second.status == "ok"
    assert second.output == first.output
    assert second.cache_hit and not first.cache_hit
    (hit,) = second.attempts
    assert (hit.outcome, hit.cache_hit, hit.agent, hit.model) == (
        "cached",
        True,
        "support",
        "sim-small",
    )
    assert (hit.input_tokens, hit.output_tokens, hit.cost_usd) == (0, 0, 0.0)
    assert (second.input_tokens, second.output_tokens, second.cost_usd) == (0, 0, 0.0)
    assert second.attempt_count == 0  # no model call
    assert hit.decision == "served from the result cache (stored 299s ago, ttl 300s)"


def test_the_key_folds_case_and_whitespace() -> None:
    r = Replicas()
    r.ask("How do I reset the PIN on my card?")
    hit = r.ask("  how do I   RESET the pin\non my card? ")

    assert hit.cache_hit
    assert len(r.provider.requests) == 1
    assert normalize_input("  A\tb  C ") == "a b c"


def test_after_the_ttl_the_model_is_asked_again() -> None:
    r = Replicas()
    r.ask()
    r.clock.advance(300.0)
    again = r.ask(replica=1)

    assert not again.cache_hit
    assert len(r.provider.requests) == 2
    assert len(r.store) == 1  # the fresh answer replaced the expired one


def test_a_new_agent_version_does_not_see_old_answers() -> None:
    r = Replicas()
    r.ask()
    v2 = r.ask(spec=SUPPORT.model_copy(update={"version": "2"}))

    assert not v2.cache_hit
    assert len(r.provider.requests) == 2
    assert r.ask(spec=SUPPORT.model_copy(update={"version": "2"})).cache_hit


def test_tenants_do_not_share_answers() -> None:
    r = Replicas()
    r.ask()
    other = r.ask(context=InvocationContext(request_id="r2", task_id="t2", tenant="initech"))

    assert not other.cache_hit
    assert cache_key("support", "1", "acme-bank", "x") != cache_key("support", "1", "initech", "x")


def test_agents_without_a_ttl_are_never_cached() -> None:
    r = Replicas()
    spec = SUPPORT.model_copy(update={"cache_ttl_s": None})
    r.ask(spec=spec)
    r.ask(spec=spec)

    assert len(r.provider.requests) == 2
    assert len(r.store) == 0


def test_failed_and_degraded_answers_are_not_cached() -> None:
    r = Replicas()
    general = fintech_system().get("general")
    deps = InvocationDeps(
        cache=r.store, clock=r.clock, sleep=no_sleep, fallbacks={"general": general}.__getitem__
    )
    r.replicas = [deps, deps]
    r.provider.inner.set_faults("support", SimFaults(error_rate=1.0))
    degraded = r.ask()
    r.provider.inner.clear_faults()
    r.clock.advance(30.0)  # the support breaker's cooldown
    recovered = r.ask()

    assert degraded.status == "degraded"
    assert recovered.status == "ok"
    assert not recovered.cache_hit
    assert recovered.agent == "support"


def test_local_store_is_a_bounded_lru() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        store = LocalCacheStore(max_entries=2, clock=clock)
        assert isinstance(store, CacheStore)

        def entry(output: str) -> CacheEntry:
            return CacheEntry(
                output=output,
                agent="support",
                agent_version="1",
                model="sim-small",
                stored_at=clock.now,
                ttl_s=60.0,
            )

        await store.put("a", entry("A"))
        await store.put("b", entry("B"))
        assert store.get("a") is not None  # "a" is now the most recently used
        await store.put("c", entry("C"))

        assert store.get("b") is None
        assert [store.get(k) is not None for k in ("a", "c")] == [True, True]
        assert store.evicted == 1
        clock.advance(60.0)
        assert store.get("a") is None
        assert len(store) == 1

    asyncio.run(scenario())


def test_bad_cache_settings_are_rejected() -> None:
    with pytest.raises(ConfigError):
        LocalCacheStore(max_entries=0)
    with pytest.raises(pydantic.ValidationError, match="greater than 0"):
        AgentSpec.model_validate({**SUPPORT.model_dump(), "cache_ttl_s": 0})
