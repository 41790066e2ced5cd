"""Model prices and call costs."""

from __future__ import annotations

import pytest

from agents import cost_usd, is_priced, price_of


def test_cost_uses_per_million_token_list_prices() -> None:
    assert cost_usd("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.50)
    assert cost_usd("gpt-4o-mini", 2_000, 500) == pytest.approx(0.0006)
    assert cost_usd("claude-sonnet-4", 1_000, 1_000) == pytest.approx(0.018)


def test_snapshot_and_prefixed_ids_resolve_to_their_family() -> None:
    assert price_of("claude-3-5-haiku-20241022") == price_of("claude-3-5-haiku")
    assert price_of("openai:gpt-4o-2024-08-06") == price_of("gpt-4o")
    assert price_of("anthropic/claude-sonnet-4-5-latest") == price_of("claude-sonnet-4-5")


def test_unknown_models_cost_nothing_and_are_flagged() -> None:
    assert cost_usd("acme-finetune-7b", 10_000, 10_000) == 0.0
    assert not is_priced("acme-finetune-7b")
    assert price_of("acme-finetune-7b") is None


def test_sim_tiers_are_priced_like_real_tiers() -> None:
    small, standard, frontier = (
        cost_usd(model, 1_000, 1_000) for model in ("sim-small", "sim-standard", "sim-frontier")
    )

    assert small < standard < frontier
    assert frontier / small > 20  # "a model that costs 30x more per token"
    assert price_of("sim-small") == price_of("gpt-4o-mini")
