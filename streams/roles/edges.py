"""Edges that run: when an agent's answer goes on to another agent instead of the user.

In the star, a request's first agent may not be its last: support answers, and when
its `SupportAnswer` says `escalate`, the declared edge support → transactions hands the
case over. :func:`next_hop` is that decision, a plain function of the system, the task
and the invocation's outcome, so it is tested without Faust; the specialist emits what
it decides (the producer's result as a step result, the consumer's task).

Edges never loop and never run away: a consumer already in the chain is not asked
again, the chain stops at :data:`MAX_CHAIN` agents, and a workflow step (a task whose
result an orchestrator waits for) never fires an edge, since its orchestrator decides
what runs next.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.contracts.edge import Edge
from agents.contracts.errors import ContractViolation
from agents.contracts.parse import parse_output
from agents.invocation import InvocationOutcome
from agents.system import AgentSystem
from streams.records import chain_of
from streams.roles.errors import RoleError
from streams.topics import REPLY_TO

__all__ = ["MAX_CHAIN", "EdgeFailed", "Handoff", "consumer_input", "next_hop"]

MAX_CHAIN = 5
"""Most agents that may hand one request on before the one that answers it."""

_ANSWERED = ("ok", "degraded")


class EdgeFailed(RoleError):
    """An edge held but could not hand on: its condition raised, or the consumer's input
    model rejected what the edge built. The producer's answer stands as the request's
    result; a retry cannot help until the system changes."""

    def __init__(self, edge: Edge, problem: str) -> None:
        self.edge = edge
        super().__init__(f"edge {edge.label}: {problem}")


@dataclass(frozen=True, slots=True)
class Handoff:
    """A request going on along `edge`: the consumer's task input and the chain so far."""

    edge: Edge
    chain: tuple[str, ...]
    """Agents that handled the request before the consumer, in order; the producer last."""
    input: str
    """The consumer's input model as JSON."""

    @property
    def reason(self) -> str:
        """The consumer task's routing reason: `edge support → transactions: escalate is true`."""
        return f"edge {self.edge.label}: {self.edge.condition}"


def next_hop(
    system: AgentSystem, task: Mapping[str, Any], outcome: InvocationOutcome
) -> Handoff | None:
    """Where `task`'s request goes after its agent answered with `outcome`, if anywhere.

    The first edge (in declaration order) from the task's agent whose `when` holds on
    the parsed output fires; a request never forks. Nothing fires when the answer is
    not ok/degraded, came from a fallback agent, does not parse into the agent's output
    model, or when the task is a workflow step. Raises `EdgeFailed` when an edge holds
    but its condition raised or the consumer's input cannot be built.
    """
    producer = str(task["agent"])
    chain = (*chain_of(task), producer)
    edges = _may_fire(system, task, outcome, chain)
    if not edges or outcome.output is None:
        return None
    spec = system.get(producer)
    try:
        output = parse_output(spec.output_model, outcome.output, agent=producer)
    except ContractViolation:
        return None  # an answer off its contract is not one an edge can read
    for edge in edges:
        if _holds(edge, output):
            return Handoff(edge, chain, consumer_input(system, edge, output, task))
    return None


def consumer_input(
    system: AgentSystem, edge: Edge, output: BaseModel, task: Mapping[str, Any]
) -> str:
    """The consumer's input as JSON: `output` at `edge.into` (or as the whole input), and
    the one other required text field, if any, filled with the request's text.

    `AgentSystem` checks that a running edge needs at most that one text field.
    """
    model = system.get(edge.consumer).input_model
    sent = output.model_dump(mode="json")
    document: dict[str, Any] = sent
    if edge.into is not None:
        document = {_key(model, edge.into): sent}
        for name, field in model.model_fields.items():
            if field.is_required() and name != edge.into:
                document[field.alias or name] = _request_text(task, field.alias or name)
    try:
        return model.model_validate(document).model_dump_json()
    except ValidationError as exc:
        raise EdgeFailed(
            edge, f"{model.__name__} rejects the input the edge built: {_first_error(exc)}"
        ) from exc


def _may_fire(
    system: AgentSystem,
    task: Mapping[str, Any],
    outcome: InvocationOutcome,
    chain: tuple[str, ...],
) -> list[Edge]:
    """The running edges from the task's agent that this answer may take, in order."""
    producer = chain[-1]
    step = (task.get("metadata") or {}).get(REPLY_TO) == "replies"
    own_answer = outcome.status in _ANSWERED and outcome.agent == producer
    if step or not own_answer or len(chain) > MAX_CHAIN:
        return []
    return [
        edge
        for edge in system.edges
        if edge.producer == producer and edge.runs and edge.consumer not in chain
    ]


def _holds(edge: Edge, output: BaseModel) -> bool:
    try:
        return edge.holds(output)
    except Exception as exc:  # a user's condition may raise anything: name the edge
        raise EdgeFailed(
            edge, f"its condition {edge.condition!r} raised {type(exc).__name__}: {exc}"
        ) from exc


def _key(model: type[BaseModel], name: str) -> str:
    return model.model_fields[name].alias or name


def _request_text(task: Mapping[str, Any], key: str) -> str:
    """The request's own words: the task's input, or, when an edge already wrapped it
    into JSON (a second hop), the text at `key` in it."""
    text = str(task["input"])
    try:
        wrapped = json.loads(text)
    except ValueError:
        return text
    if isinstance(wrapped, dict) and isinstance(wrapped.get(key), str):
        return str(wrapped[key])
    return text


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "(whole input)"
    return f"{where}: {error['msg']}"
