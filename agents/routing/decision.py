"""What every classifier of the star hub answers, and the one method it must have."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["Classifier", "RoutingDecision", "RoutingMethod"]

RoutingMethod = Literal["explicit", "override", "keyword", "model", "fallback"]
"""How a decision was reached: the request named its agent, an agent's override rule
matched, keyword hits, the trained model, or nothing was sure enough (default agent)."""


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """Where a request goes and why.

    `confidence` is 1.0 for an explicit target or an override rule. For keyword routing
    it is the chosen agent's share of all keyword hits with one pseudo-hit for "none of
    these", so a single matching word never claims certainty: 1 hit → 0.5, 3 of 3 → 0.75;
    0.0 when nothing matched. For the trained model it is the calibrated probability of
    the chosen agent; a fallback below the threshold keeps the model's best probability,
    so an operator can see how unsure it was.
    """

    agent: str
    confidence: float
    reason: str
    scores: Mapping[str, float]
    """Keyword hits (keyword routing) or probabilities (model) per agent."""
    method: RoutingMethod
    matched: tuple[str, ...] = ()
    """The chosen agent's keywords (or override patterns) found in the request."""
    model_version: str | None = None
    """Version of the trained model that decided; None when no model was consulted."""


class Classifier(Protocol):
    """Picks one agent of a system for a request; pure, so replays route alike.

    Promises: an explicit, non-blank `target_agent` wins (`UnknownAgent` if the system
    has no such agent, which the router dead-letters); otherwise the decision names an
    agent of the system and says why in `reason`.
    """

    def decide(self, text: str, target_agent: str | None = None) -> RoutingDecision: ...
