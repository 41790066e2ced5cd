"""Model prices and the cost of one model call.

Prices are USD per million tokens, public list prices for standard (non-batch,
non-cached) usage as published by OpenAI and Anthropic in 2025. The `sim-*` models
are priced like the real models of their tier so simulated runs produce realistic
cost figures: `sim-small` like gpt-4o-mini, `sim-standard` like Claude 3.5 Haiku,
`sim-frontier` like Claude Sonnet 4.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["PRICES", "ModelPrice", "cost_usd", "is_priced", "price_of"]


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """List price of a model, USD per million input and output tokens."""

    input_per_mtok: float
    output_per_mtok: float


PRICES: Mapping[str, ModelPrice] = MappingProxyType(
    {
        # simulated models, one per tier
        "sim-small": ModelPrice(0.15, 0.60),
        "sim-standard": ModelPrice(0.80, 4.00),
        "sim-frontier": ModelPrice(3.00, 15.00),
        # OpenAI
        "gpt-4o-mini": ModelPrice(0.15, 0.60),
        "gpt-4o": ModelPrice(2.50, 10.00),
        "gpt-4.1-nano": ModelPrice(0.10, 0.40),
        "gpt-4.1-mini": ModelPrice(0.40, 1.60),
        "gpt-4.1": ModelPrice(2.00, 8.00),
        "o3-mini": ModelPrice(1.10, 4.40),
        # Anthropic
        "claude-3-haiku": ModelPrice(0.25, 1.25),
        "claude-3-5-haiku": ModelPrice(0.80, 4.00),
        "claude-haiku-4-5": ModelPrice(1.00, 5.00),
        "claude-3-5-sonnet": ModelPrice(3.00, 15.00),
        "claude-3-7-sonnet": ModelPrice(3.00, 15.00),
        "claude-sonnet-4": ModelPrice(3.00, 15.00),
        "claude-sonnet-4-5": ModelPrice(3.00, 15.00),
        "claude-opus-4": ModelPrice(15.00, 75.00),
        "claude-opus-4-1": ModelPrice(15.00, 75.00),
    }
)
"""Known prices by canonical model name."""

# API model ids carry a provider prefix and/or a snapshot suffix
# ("openai:gpt-4o-2024-08-06", "claude-3-5-haiku-20241022", "claude-sonnet-4-5-latest");
# the price belongs to the family, so both are stripped before lookup.
_PREFIX = re.compile(r"^[a-z0-9_-]+[:/]")
_SNAPSHOT = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")


def price_of(model: str) -> ModelPrice | None:
    """The price of `model` (snapshot ids resolve to their family), or None if unpriced."""
    price = PRICES.get(model)
    if price is None:
        canonical = _SNAPSHOT.sub("", _PREFIX.sub("", model.strip().lower()))
        price = PRICES.get(canonical)
    return price


def is_priced(model: str) -> bool:
    """Whether `cost_usd` knows a price for `model`; callers record "unpriced" otherwise."""
    return price_of(model) is not None


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float:
    """Cost in USD of one call; 0.0 for an unpriced model (check `is_priced`)."""
    price = price_of(model)
    if price is None:
        return 0.0
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6
