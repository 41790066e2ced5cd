"""An edge of an agent system: one agent's output feeding another agent's input."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Edge"]


class Edge(BaseModel):
    """Declares that `producer`'s output feeds `consumer`'s input.

    `into` names the field of the consumer's input model that carries the producer's
    output (the reports agent reads a transaction analysis from `analysis`); None means
    the producer's output is the consumer's whole input. `AgentSystem` checks at
    construction that both agents exist and that `into` is a field of the consumer's
    input; `agents.contracts.check_system` checks that the two models fit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    producer: str
    consumer: str
    into: str | None = None
    description: str = ""
    """Why the data flows, for people reading a failing check."""

    @property
    def label(self) -> str:
        """`producer → consumer`, as check reports name the edge."""
        return f"{self.producer} → {self.consumer}"
