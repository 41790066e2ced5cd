"""Model prices and the cost of one model call.

Real models are priced by the `genai-prices` package (pydantic's maintained price
database: provider list prices, snapshot aliases, price changes over time, and tiered
prices such as Claude Sonnet 4.5 above 200k input tokens). The `sim-*` models are
priced like the real model of their tier, so simulated runs produce realistic cost
figures: `sim-small` like gpt-4o-mini, `sim-standard` like Claude 3.5 Haiku,
`sim-frontier` like Claude Sonnet 4 (`SIM_PRICED_AS`). A model genai-prices does not
know falls back to `PRICES`, a small built-in table of 2025 list prices; a model in
neither is unpriced (`is_priced` is False and its cost is 0).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, Provider

__all__ = [
    "PRICES",
    "SIM_PRICED_AS",
    "ModelPrice",
    "PriceSource",
    "cost_usd",
    "is_priced",
    "price_of",
]

PriceSource = Literal["genai-prices", "table"]


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """List price of a model, USD per million input and output tokens.

    For a model with tiered prices this is the base tier; `cost_usd` applies the
    tiers.
    """

    input_per_mtok: float
    output_per_mtok: float
    source: PriceSource = "table"
    """Where the price came from: the genai-prices database or the built-in table."""


SIM_PRICED_AS: Mapping[str, str] = MappingProxyType(
    {
        "sim-small": "gpt-4o-mini",
        "sim-standard": "claude-3-5-haiku",
        "sim-frontier": "claude-sonnet-4",
    }
)
"""Real model each simulated model is priced like."""

PRICES: Mapping[str, ModelPrice] = MappingProxyType(
    {
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
"""Fallback prices by canonical model name, for when genai-prices lacks a model."""

# API model ids carry a provider prefix and/or a snapshot suffix
# ("openai:gpt-4o-2024-08-06", "claude-3-5-haiku-20241022", "claude-sonnet-4-5-latest");
# the price belongs to the family. genai-prices resolves snapshots itself but not
# prefixes, which are turned into its provider hint instead.
_PREFIX = re.compile(r"^([a-z0-9_-]+)[:/]")
_SNAPSHOT = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")
_MTOK = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class _Resolved:
    provider: Provider
    model: ModelInfo


def price_of(model: str) -> ModelPrice | None:
    """The price of `model` (snapshot ids resolve to their family), or None if unpriced."""
    return _price_of(model)


def is_priced(model: str) -> bool:
    """Whether `cost_usd` knows a price for `model`; callers record "unpriced" otherwise."""
    return _price_of(model) is not None


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float:
    """Cost in USD of one call; 0.0 for an unpriced model (check `is_priced`)."""
    resolved = _resolve(model)
    if resolved is not None:
        return _genai_cost(resolved, input_tokens, output_tokens)
    price = _table_price(model)
    if price is None:
        return 0.0
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6


def _genai_cost(resolved: _Resolved, input_tokens: int, output_tokens: int) -> float:
    prices = resolved.model.get_prices(datetime.now(tz=UTC))
    per_in = getattr(prices, "input_mtok", None)
    per_out = getattr(prices, "output_mtok", None)
    if isinstance(per_in, Decimal) and isinstance(per_out, Decimal):
        # Flat prices: the arithmetic genai-prices would do, without its general unit
        # machinery (~70 µs a call), which only matters for tiered or exotic prices.
        return float((input_tokens * per_in + output_tokens * per_out) / _MTOK)
    from genai_prices import Usage  # noqa: PLC0415 - deferred, see _resolve

    calculation = resolved.model.calc_price(
        Usage(input_tokens=input_tokens, output_tokens=output_tokens), resolved.provider
    )
    return float(calculation.total_price)


@lru_cache(maxsize=1024)
def _price_of(model: str) -> ModelPrice | None:
    resolved = _resolve(model)
    if resolved is None:
        return _table_price(model)
    prices = resolved.model.get_prices(datetime.now(tz=UTC))
    return ModelPrice(
        _per_mtok(getattr(prices, "input_mtok", None)),
        _per_mtok(getattr(prices, "output_mtok", None)),
        source="genai-prices",
    )


# Bounded: model names come from configuration, not from user input. Resolution is
# done once per name and process; a genai-prices auto-update is picked up on restart.
@lru_cache(maxsize=1024)
def _resolve(model: str) -> _Resolved | None:
    # Imported on first use: loading the price database takes ~0.15 s, which a CLI
    # that never prices anything should not pay.
    from genai_prices import Usage, calc_price  # noqa: PLC0415 - deferred on purpose

    ref = model.strip().lower()
    ref = SIM_PRICED_AS.get(ref, ref)
    provider_hint: str | None = None
    match = _PREFIX.match(ref)
    if match is not None:
        provider_hint, ref = match.group(1), ref[match.end() :]
    for provider_id in dict.fromkeys((provider_hint, None)):
        for candidate in dict.fromkeys((ref, _SNAPSHOT.sub("", ref))):
            try:
                found = calc_price(
                    Usage(input_tokens=0, output_tokens=0), candidate, provider_id=provider_id
                )
            except LookupError:
                continue
            return _Resolved(found.provider, found.model)
    return None


def _table_price(model: str) -> ModelPrice | None:
    price = PRICES.get(model)
    if price is None:
        canonical = _SNAPSHOT.sub("", _PREFIX.sub("", model.strip().lower()))
        price = PRICES.get(SIM_PRICED_AS.get(canonical, canonical))
    return price


def _per_mtok(value: object) -> float:
    from genai_prices.types import TieredPrices  # noqa: PLC0415 - deferred, see _resolve

    if isinstance(value, TieredPrices):
        return float(value.base)
    if isinstance(value, Decimal):
        return float(value)
    return 0.0
