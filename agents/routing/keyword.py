"""The keyword classifier: which agent should answer a request, and why, by word counts.

`KeywordClassifier` is deliberately simple and explainable: it counts, per agent,
the words of the request that match the agent's `keywords` (after lowercasing and
light stemming, so "refunds", "refunded" and "refund" match alike) and picks the agent
with the most hits. Every decision carries a human-readable reason and the per-agent
scores, so a trace can show why a request went where it went.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from agents.routing.decision import RoutingDecision
from agents.system import AgentSystem

__all__ = ["KeywordClassifier", "explicit_decision", "stem"]

_TOKEN = re.compile(r"[a-z0-9]+")
_NO_COLLAPSE = frozenset("lsz")  # "billed" → "bill", not "bil" (as in Porter's stemmer)


@lru_cache(maxsize=16384)  # bounded: the vocabulary of real traffic is finite but open
def stem(word: str) -> str:
    """Reduce a lowercase word to a crude stem shared by its common inflections.

    Only inflections are removed (plural, -ed, -ing, a final e), never derivations such
    as -ly: "monthly" is evidence for a report, "month" is not.
    """
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "s"):
        if not word.endswith(suffix) or len(word) - len(suffix) < 3:
            continue
        if suffix == "s" and word.endswith(("ss", "us", "is")):
            break
        word = word[: -len(suffix)]
        if suffix in ("ing", "ed") and word[-1] == word[-2] and word[-1] not in _NO_COLLAPSE:
            word = word[:-1]
        break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def explicit_decision(system: AgentSystem, target_agent: str | None) -> RoutingDecision | None:
    """The decision for a request that names its agent; None when it names none (blank).

    Raises `UnknownAgent` for a target `system` does not define.
    """
    if target_agent is None or not target_agent.strip():
        return None
    name = system.get(target_agent.strip()).name
    return RoutingDecision(
        agent=name,
        confidence=1.0,
        reason=f"explicit target_agent={name}",
        scores={},
        method="explicit",
    )


class KeywordClassifier:
    """Routes text to an agent of `system` by keyword hits; pure and deterministic.

    The keyword table is compiled once here, so `classify` costs one regex scan and
    one dictionary lookup per word. Ties go to the agent declared first in the system.
    """

    def __init__(self, system: AgentSystem) -> None:
        self._system = system
        self._agents = tuple(spec.name for spec in system.agents if spec.keywords)
        table: dict[str, list[tuple[int, str]]] = {}
        for index, name in enumerate(self._agents):
            for keyword in system.get(name).keywords:
                entries = table.setdefault(stem(keyword), [])
                # Two keywords of one agent with the same stem count as one word.
                if all(existing != index for existing, _ in entries):
                    entries.append((index, keyword))
        self._table: Mapping[str, tuple[tuple[int, str], ...]] = {
            key: tuple(entries) for key, entries in table.items()
        }

    @property
    def system(self) -> AgentSystem:
        """The system whose agents this classifier routes to."""
        return self._system

    def decide(self, text: str, target_agent: str | None = None) -> RoutingDecision:
        """Route a request: its explicit `target_agent` if set, else `classify(text)`.

        Raises `UnknownAgent` for a target the system does not define; the caller
        dead-letters the request with that reason. An empty target counts as unset.
        """
        explicit = explicit_decision(self._system, target_agent)
        return explicit if explicit is not None else self.classify(text)

    def classify(self, text: str) -> RoutingDecision:
        """The agent whose keywords `text` matches most, or the system's default agent."""
        hits = [0] * len(self._agents)
        matched: list[dict[str, None]] = [{} for _ in self._agents]
        for token in _TOKEN.findall(text.lower()):
            for index, keyword in self._table.get(stem(token), ()):
                hits[index] += 1
                matched[index][keyword] = None
        scores = dict(zip(self._agents, hits, strict=True))

        best = max(range(len(hits)), key=lambda i: (hits[i], -i), default=None)
        if best is None or hits[best] == 0:
            default = self._system.default_agent
            return RoutingDecision(
                agent=default,
                confidence=0.0,
                reason=f"no keyword matched → {default} (fallback)",
                scores=scores,
                method="fallback",
            )

        agent, count = self._agents[best], hits[best]
        words = tuple(matched[best])
        runner_up = max(
            (i for i in range(len(hits)) if i != best), key=lambda i: (hits[i], -i), default=None
        )
        if runner_up is None or hits[runner_up] == 0:
            versus = "no other agent matched"
        elif hits[runner_up] == count:
            versus = f"tied with {self._agents[runner_up]}: {count}, declared first wins"
        else:
            versus = f"next best {self._agents[runner_up]}: {hits[runner_up]}"
        quoted = ", ".join(f"'{word}'" for word in words)
        plural = "hit" if count == 1 else "hits"
        return RoutingDecision(
            agent=agent,
            confidence=round(count / (sum(hits) + 1), 3),
            reason=f"matched {quoted} → {agent} ({count} {plural}; {versus})",
            scores=scores,
            method="keyword",
            matched=words,
        )
