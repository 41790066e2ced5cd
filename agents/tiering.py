"""Tiered model routing: the cheapest model tier expected to handle an input.

An agent with a `TierPolicy` names a model per tier and the tiers it may use. Each
input is scored on a few features a reviewer can check by eye (length, numbers and
amounts, multi-step or analytical wording, questions); the score picks the tier, and
the decision says which features put it there, so a cost spike can be explained from
the `Invocation` events alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.tokens import estimate_tokens

__all__ = [
    "TIERS",
    "ComplexityFeatures",
    "Tier",
    "TierDecision",
    "TierPolicy",
    "choose_tier",
    "complexity_features",
]

Tier = Literal["small", "standard", "frontier"]
"""Model capability/price class; tiered routing matches it to task complexity."""

TIERS: tuple[Tier, ...] = ("small", "standard", "frontier")
"""Tiers from cheapest to most capable."""

# Weights of each feature in the score. One multi-step cue weighs as much as ~75
# tokens of plain text: asking to compare or analyse is what small models get wrong,
# while a long but simple message is still a simple message.
_PER_TOKENS = 50.0  # tokens per point
_PER_NUMBER = 0.5
_PER_STEP = 1.5
_PER_EXTRA_QUESTION = 1.0

_NUMBER = re.compile(r"[$€£¥]?\d[\d,]*(?:\.\d+)?%?")
_STEP_CUES = (
    "and then",
    "after that",
    "step by step",
    "compare",
    "compared",
    "comparison",
    "versus",
    "vs",
    "analyse",
    "analyze",
    "analysis",
    "breakdown",
    "break down",
    "trend",
    "forecast",
    "reconcile",
    "calculate",
    "explain why",
    "difference between",
    "over the last",
    "per category",
    "summarise",
    "summarize",
)
_STEP = re.compile(r"\b(?:" + "|".join(re.escape(cue) for cue in _STEP_CUES) + r")\b")


class TierPolicy(BaseModel):
    """Which model serves each tier, and the tiers an agent may be routed to.

    The score of an input (see `complexity_features`) picks `small` below
    `standard_at`, `frontier` from `frontier_at`, else `standard`; the result is then
    raised to `minimum` and lowered to `maximum`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    small: str
    """Model for simple inputs."""
    standard: str
    """Model for inputs of moderate complexity."""
    frontier: str
    """Model for complex, multi-step inputs."""
    minimum: Tier = "small"
    """Cheapest tier this agent may use, whatever the input."""
    maximum: Tier = "frontier"
    """Most expensive tier this agent may use, whatever the input."""
    standard_at: float = Field(default=2.0, ge=0.0)
    """Score from which an input needs the standard tier."""
    frontier_at: float = Field(default=4.5, ge=0.0)
    """Score from which an input needs the frontier tier."""

    @model_validator(mode="after")
    def _check_order(self) -> TierPolicy:
        if TIERS.index(self.minimum) > TIERS.index(self.maximum):
            raise ValueError(f"minimum tier {self.minimum} is above maximum tier {self.maximum}")
        if self.frontier_at < self.standard_at:
            raise ValueError(
                f"frontier_at ({self.frontier_at}) must not be below standard_at "
                f"({self.standard_at})"
            )
        return self

    def model_for(self, tier: Tier) -> str:
        """The model configured for `tier`."""
        return {"small": self.small, "standard": self.standard, "frontier": self.frontier}[tier]


@dataclass(frozen=True, slots=True)
class ComplexityFeatures:
    """What makes an input hard, counted; `score` weighs them into one number."""

    tokens: int
    numbers: int
    """Numbers and amounts ("$87.40", "12", "3.5%")."""
    steps: tuple[str, ...]
    """Multi-step or analytical cues found ("compare", "and then", ...)."""
    questions: int

    @property
    def score(self) -> float:
        """Weighted sum of the features; 0 for an empty input."""
        return sum(points for _, points in self.contributions())

    def contributions(self) -> tuple[tuple[str, float], ...]:
        """Each feature as a readable phrase and the points it adds to the score."""
        steps = len(self.steps)
        cues = f" ({', '.join(repr(s) for s in self.steps)})" if self.steps else ""
        return (
            (_count(self.tokens, "token"), self.tokens / _PER_TOKENS),
            (_count(self.numbers, "number/amount", "numbers/amounts"), self.numbers * _PER_NUMBER),
            (_count(steps, "multi-step cue") + cues, steps * _PER_STEP),
            (
                _count(self.questions, "question"),
                max(0, self.questions - 1) * _PER_EXTRA_QUESTION,
            ),
        )


@dataclass(frozen=True, slots=True)
class TierDecision:
    """The tier and model chosen for one input, and why."""

    tier: Tier
    model: str
    score: float
    features: ComplexityFeatures
    reason: str
    """One line naming the score, the thresholds, each feature's share and any clamp."""


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def complexity_features(text: str) -> ComplexityFeatures:
    """Count the features of `text` that tiered routing scores."""
    lowered = text.lower()
    return ComplexityFeatures(
        tokens=estimate_tokens(text),
        numbers=len(_NUMBER.findall(text)),
        steps=tuple(match.group(0) for match in _STEP.finditer(lowered)),
        questions=text.count("?"),
    )


def choose_tier(policy: TierPolicy, text: str) -> TierDecision:
    """The cheapest tier `policy` allows that is expected to handle `text`."""
    features = complexity_features(text)
    score = features.score
    wanted: Tier = "small"
    if score >= policy.frontier_at:
        wanted = "frontier"
    elif score >= policy.standard_at:
        wanted = "standard"
    index = TIERS.index(wanted)
    low, high = TIERS.index(policy.minimum), TIERS.index(policy.maximum)
    tier = TIERS[min(max(index, low), high)]
    shares = ", ".join(f"{phrase} +{points:.1f}" for phrase, points in features.contributions())
    reason = (
        f"score {score:.1f} (standard ≥ {policy.standard_at:g}, frontier ≥ "
        f"{policy.frontier_at:g}) → {wanted}"
    )
    if tier != wanted:
        bound = "minimum" if index < low else "maximum"
        reason += f", {bound} tier {tier}"
    reason += f"; {shares}"
    return TierDecision(
        tier=tier,
        model=policy.model_for(tier),
        score=score,
        features=features,
        reason=reason,
    )
