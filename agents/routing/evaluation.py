"""How well a classifier routes a labelled set: accuracy, per-agent precision, recall
and F1, and the confusion matrix. Plain Python, so any `Classifier` can be measured."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from agents.routing.decision import Classifier
from agents.routing.model import LabelledText

__all__ = ["AgentScore", "Evaluation", "evaluate"]


@dataclass(frozen=True, slots=True)
class AgentScore:
    """One agent's row of the report."""

    precision: float
    """Of the requests routed to this agent, the share that belonged there."""
    recall: float
    """Of the requests that belonged to this agent, the share routed there."""
    f1: float
    support: int
    """Requests in the set that belong to this agent."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The result of routing every text of a labelled set once."""

    agents: tuple[str, ...]
    accuracy: float
    per_agent: Mapping[str, AgentScore]
    confusion: tuple[tuple[int, ...], ...]
    """`confusion[i][j]`: requests for `agents[i]` routed to `agents[j]`."""
    misrouted: tuple[tuple[str, str, str], ...]
    """(text, expected agent, routed agent) of every mistake, in input order."""

    @property
    def total(self) -> int:
        return sum(map(sum, self.confusion))


def evaluate(
    classifier: Classifier, examples: Iterable[LabelledText], agents: Sequence[str]
) -> Evaluation:
    """Route each text of `examples` with `classifier` (no explicit target) and score it.

    `agents` fixes the rows and columns; an expected or routed agent outside it is added.
    """
    order = list(dict.fromkeys(agents))
    pairs: list[tuple[str, str, str]] = []
    for text, expected in examples:
        routed = classifier.decide(text).agent
        pairs.append((text, expected, routed))
        for name in (expected, routed):
            if name not in order:
                order.append(name)
    index = {name: i for i, name in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for _, expected, routed in pairs:
        matrix[index[expected]][index[routed]] += 1
    per_agent: dict[str, AgentScore] = {}
    for i, name in enumerate(order):
        hit = matrix[i][i]
        routed_here = sum(row[i] for row in matrix)
        belongs = sum(matrix[i])
        precision = hit / routed_here if routed_here else 0.0
        recall = hit / belongs if belongs else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_agent[name] = AgentScore(precision, recall, f1, belongs)
    correct = sum(matrix[i][i] for i in range(len(order)))
    return Evaluation(
        agents=tuple(order),
        accuracy=correct / len(pairs) if pairs else 0.0,
        per_agent=per_agent,
        confusion=tuple(tuple(row) for row in matrix),
        misrouted=tuple(p for p in pairs if p[1] != p[2]),
    )
