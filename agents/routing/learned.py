"""The trained router: explicit target, then override rules, then the model, then the
default agent when the model is not sure enough."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.routing.decision import RoutingDecision
from agents.routing.keyword import explicit_decision
from agents.routing.model import LabelledText, RouterModel, RouterModelError
from agents.system import AgentSystem

__all__ = ["DEFAULT_MIN_CONFIDENCE", "LearnedClassifier", "OverrideRule", "declared_examples"]

DEFAULT_MIN_CONFIDENCE = 0.5
"""Below this probability the model's pick is not trusted: the default agent answers."""


def declared_examples(system: AgentSystem) -> list[LabelledText]:
    """Every agent's declared `examples` as (text, agent) pairs, in declaration order."""
    return [(text, spec.name) for spec in system.agents for text in spec.examples]


@dataclass(frozen=True, slots=True)
class OverrideRule:
    """One agent's `route_overrides` pattern, compiled."""

    agent: str
    pattern: re.Pattern[str]


class LearnedClassifier:
    """Routes with a trained `RouterModel`, keeping operators' rules above it.

    Order of precedence, each step stated in the decision's `method` and `reason`:
    1. an explicit `target_agent` (method "explicit");
    2. the first matching `route_overrides` pattern, agents in declaration order
       ("override");
    3. the model's most probable agent ("model") when its probability reaches
       `min_confidence`, else the system's default agent ("fallback").

    Built once per process: construction compiles the rules and checks that the model
    knows only agents of `system` (`RouterModelError` otherwise, e.g. a model trained
    for another system).
    """

    def __init__(
        self,
        system: AgentSystem,
        model: RouterModel,
        *,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    ) -> None:
        unknown = [label for label in model.labels if label not in system]
        if unknown:
            raise RouterModelError(
                f"router model {model.version} was trained for agents {unknown} that system "
                f"{system.name!r} does not define; retrain with `agentbus router train`"
            )
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within [0, 1], got {min_confidence}")
        self._system = system
        self._model = model
        self._min_confidence = min_confidence
        self._rules = tuple(
            OverrideRule(spec.name, re.compile(pattern, re.IGNORECASE))
            for spec in system.agents
            for pattern in spec.route_overrides
        )

    @property
    def system(self) -> AgentSystem:
        return self._system

    @property
    def model(self) -> RouterModel:
        return self._model

    @property
    def min_confidence(self) -> float:
        return self._min_confidence

    def decide(self, text: str, target_agent: str | None = None) -> RoutingDecision:
        """Route a request; see the class docstring for the order of precedence."""
        explicit = explicit_decision(self._system, target_agent)
        if explicit is not None:
            return explicit
        for rule in self._rules:
            found = rule.pattern.search(text)
            if found:
                return RoutingDecision(
                    agent=rule.agent,
                    confidence=1.0,
                    reason=(
                        f"override rule /{rule.pattern.pattern}/ of {rule.agent} matched "
                        f"'{found.group(0)}'"
                    ),
                    scores={},
                    method="override",
                    matched=(found.group(0),),
                )
        return self.classify(text)

    def classify(self, text: str) -> RoutingDecision:
        """The model's decision alone (no target, no overrides), with the threshold."""
        model = self._model
        probabilities = model.probabilities(text)
        scores = {label: round(p, 4) for label, p in zip(model.labels, probabilities, strict=True)}
        ranked = sorted(range(len(probabilities)), key=lambda i: -probabilities[i])
        best = ranked[0]
        agent, p = model.labels[best], probabilities[best]
        versus = (
            f"next best {model.labels[ranked[1]]}: {probabilities[ranked[1]]:.2f}"
            if len(ranked) > 1
            else "only agent"
        )
        if p >= self._min_confidence:
            return RoutingDecision(
                agent=agent,
                confidence=round(p, 4),
                reason=f"model {model.version} → {agent} (p={p:.2f}; {versus})",
                scores=scores,
                method="model",
                model_version=model.version,
            )
        default = self._system.default_agent
        return RoutingDecision(
            agent=default,
            confidence=round(scores.get(default, 0.0), 4),
            reason=(
                f"model {model.version} unsure: best {agent} p={p:.2f} is below "
                f"{self._min_confidence:.2f} → {default} (low confidence fallback)"
            ),
            scores=scores,
            method="fallback",
            model_version=model.version,
        )
