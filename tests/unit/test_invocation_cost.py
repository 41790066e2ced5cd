"""Cost: genai-prices for real models, sim models priced like their real counterparts."""

from __future__ import annotations

import asyncio

import genai_prices
import pytest

from agents import fintech_system, invoke
from agents import pricing as pricing_module
from agents.invocation import InvocationDeps
from agents.pricing import SIM_PRICED_AS, cost_usd, is_priced, price_of
from tests.unit.invocation_doubles import CONTEXT, no_sleep, sim


def test_real_models_are_priced_by_genai_prices() -> None:
    price = price_of("gpt-4o-mini")

    assert price is not None
    assert price.source == "genai-prices"
    assert (price.input_per_mtok, price.output_per_mtok) == (0.15, 0.60)
    assert cost_usd("gpt-4o-mini", 2_000, 500) == pytest.approx(0.0006)


def test_tiered_prices_apply_above_their_threshold() -> None:
    # Claude Sonnet 4.5 costs $3/$15 per MTok up to 200k input tokens, $6/$22.50 above:
    # a price the built-in table never knew.
    assert cost_usd("claude-sonnet-4-5", 100_000, 1_000) == pytest.approx(0.3 + 0.015)
    assert cost_usd("claude-sonnet-4-5", 300_000, 1_000) == pytest.approx(1.8 + 0.0225)


def test_sim_models_cost_what_their_real_counterparts_cost() -> None:
    assert SIM_PRICED_AS == {
        "sim-small": "gpt-4o-mini",
        "sim-standard": "claude-3-5-haiku",
        "sim-frontier": "claude-sonnet-4",
    }
    for sim_model, real in SIM_PRICED_AS.items():
        assert price_of(sim_model) == price_of(real)
        assert cost_usd(sim_model, 12_345, 678) == cost_usd(real, 12_345, 678)
    assert cost_usd("sim-frontier", 1_000, 1_000) == pytest.approx(0.018)


def test_the_built_in_table_answers_when_genai_prices_does_not_know_a_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unknown(*args: object, **kwargs: object) -> object:
        raise LookupError("no such model")

    pricing_module._resolve.cache_clear()
    pricing_module._price_of.cache_clear()
    monkeypatch.setattr(genai_prices, "calc_price", unknown)
    try:
        price = price_of("claude-3-5-haiku-20241022")
        assert price is not None
        assert price.source == "table"
        assert cost_usd("claude-3-5-haiku", 1_000_000, 0) == pytest.approx(0.80)
        assert not is_priced("acme-finetune-7b")
    finally:
        pricing_module._resolve.cache_clear()
        pricing_module._price_of.cache_clear()


def test_an_invocation_on_a_real_model_records_its_genai_price() -> None:
    spec = (
        fintech_system()
        .get("general")
        .model_copy(update={"model": "claude-3-5-haiku-20241022", "cache_ttl_s": None})
    )
    deps = InvocationDeps(sleep=no_sleep)
    outcome = asyncio.run(invoke(spec, sim(), "Opening hours?", context=CONTEXT, deps=deps))
    (attempt,) = outcome.attempts

    assert attempt.priced
    assert attempt.cost_usd == pytest.approx(
        (attempt.input_tokens * 0.80 + attempt.output_tokens * 4.00) / 1e6
    )
