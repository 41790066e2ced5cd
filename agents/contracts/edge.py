"""An edge of an agent system: one agent's output feeding another agent's input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer

__all__ = ["Edge", "EdgeCondition"]

EdgeCondition = Callable[[Any], bool]
"""A test on the producer's parsed output (an instance of its output model)."""


class Edge(BaseModel):
    """Declares that `producer`'s output feeds `consumer`'s input.

    `into` names the field of the consumer's input model that carries the producer's
    output (the reports agent reads a transaction analysis from `analysis`); None means
    the producer's output is the consumer's whole input. `AgentSystem` checks at
    construction that both agents exist and that `into` is a field of the consumer's
    input; `agents.contracts.check_system` checks that the two models fit.

    `when` makes the edge run: after the producer answers a request (ok or degraded,
    by itself rather than a fallback, output parsed into its output model), the
    request is handed to the consumer when the condition holds, and the consumer's
    result is the request's answer. A string names a `bool` field of the producer's
    output model (`"escalate"`; checked at construction); a callable receives the
    parsed output and returns a bool. `when=None` keeps the edge a declared data
    contract only: `agentbus contracts check` checks it, nothing runs it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    producer: str
    consumer: str
    into: str | None = None
    description: str = ""
    """Why the data flows, for people reading a failing check."""
    when: str | EdgeCondition | None = None
    """When the producer's output is handed on: a bool field's name or a callable."""

    @property
    def label(self) -> str:
        """`producer → consumer`, as check reports name the edge."""
        return f"{self.producer} → {self.consumer}"

    @property
    def runs(self) -> bool:
        """True when the edge hands requests on (it has a `when`)."""
        return self.when is not None

    @property
    def condition(self) -> str:
        """The condition in words, as traces show it: `escalate is true`."""
        if self.when is None:
            return "never (a declared contract)"
        if isinstance(self.when, str):
            return f"{self.when} is true"
        return f"{_callable_name(self.when)} holds"

    def holds(self, output: BaseModel) -> bool:
        """Whether `output` (the producer's parsed output) goes on to the consumer.

        A callable's exception propagates to the caller, which knows the request.
        """
        if self.when is None:
            return False
        if isinstance(self.when, str):
            return getattr(output, self.when) is True
        return bool(self.when(output))

    @field_serializer("when")
    def _when_as_text(self, when: str | EdgeCondition | None) -> str | None:
        # Dumps stay JSON-safe: a callable is shown by name, never serialised.
        return when if when is None or isinstance(when, str) else _callable_name(when)


def _callable_name(function: EdgeCondition) -> str:
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None) or repr(function)
    return f"{module}.{name}" if module else name
