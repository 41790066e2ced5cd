"""A workflow's state: the fold of its ``WorkflowEvent``s, and nothing else.

Deciders read a :class:`FlowState` and return new events; the engine applies them
with :func:`fold`. A restarted orchestrator folds the ``workflow`` topic and stands
exactly where the crashed one stood, so a completed step is never run again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OPEN", "FlowState", "StepState", "fold", "millis"]

OPEN = frozenset({"pending", "queued", "dispatched"})
"""Step statuses that are not final."""


def millis(value: Any) -> int:
    """An Avro timestamp (datetime or epoch milliseconds) as epoch milliseconds."""
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return int(value or 0)


@dataclass
class StepState:
    """One step: a pipeline stage, a DAG task, a mesh hop or a compensation."""

    name: str
    agent: str
    status: str = "pending"
    """pending | queued | dispatched | completed | failed | dropped | compensated"""
    task_id: str | None = None
    depends_on: tuple[str, ...] = ()
    input: str | None = None
    output: str | None = None
    result_status: str | None = None
    error: str | None = None
    queued_ms: int = 0
    dispatched_ms: int = 0
    finished_order: int = 0
    """1 for the first step to complete, 2 for the next… (synthesis rules, sagas)."""
    hop: int = 0
    path: tuple[str, ...] = ()
    dedup_key: str | None = None
    model: str | None = None
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class FlowState:
    """One request's run through a pipeline, workflow or mesh."""

    request_id: str
    workflow: str
    topology: str
    tenant: str
    trace_id: str
    span_id: str
    """Span of the ``started`` event: the parent of every step's task."""
    task_id: str
    """Task id of the workflow as a whole: the final ``AgentResult`` carries it."""
    input: str
    started_ms: int
    deadline_ms: int | None
    steps: dict[str, StepState] = field(default_factory=dict)
    by_task: dict[str, str] = field(default_factory=dict)
    status: str = "running"
    """running | failing (compensating, no new steps) | finished"""
    outcome: str | None = None
    completions: int = 0
    asked: set[str] = field(default_factory=set)
    """Dedup keys of the mesh questions already sent."""
    applied: int = 0
    partition: int = -1
    """Partition of its events (keyed by request id, the same on every event topic):
    what an orchestrator replica owns, and forgets when the partition moves away."""

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    def open_steps(self) -> list[StepState]:
        return [s for s in self.steps.values() if s.status in OPEN]

    def in_flight(self) -> list[StepState]:
        return [s for s in self.steps.values() if s.status == "dispatched"]

    def completed(self) -> list[StepState]:
        """Completed steps in completion order."""
        done = [s for s in self.steps.values() if s.status in ("completed", "compensated")]
        return sorted(done, key=lambda s: s.finished_order)


def fold(state: FlowState | None, event: dict[str, Any]) -> FlowState | None:
    """``state`` after ``event``; None until a ``started`` event creates it. Events of a
    finished workflow change nothing."""
    kind = str(event["kind"])
    if kind == "started":
        if state is not None:
            return state
        deadline = event.get("deadline_at")
        return FlowState(
            request_id=str(event["request_id"]),
            workflow=str(event["workflow"]),
            topology=str(event["topology"]),
            tenant=str(event["tenant"]),
            trace_id=str(event["trace_id"]),
            span_id=str(event["span_id"]),
            task_id=str(event["task_id"] or ""),
            input=str(event.get("input") or ""),
            started_ms=millis(event["occurred_at"]),
            deadline_ms=millis(deadline) if deadline is not None else None,
            applied=1,
        )
    if state is None or state.finished:
        return state
    state.applied += 1
    step_name = event.get("step")
    step = state.steps.get(step_name) if step_name else None
    if kind in ("planned", "queued", "dispatched") and step_name and step is None:
        step = state.steps[step_name] = StepState(
            name=step_name,
            agent=str(event.get("agent") or ""),
            depends_on=tuple(event.get("depends_on") or ()),
            hop=int(event.get("hop") or 0),
            path=tuple(event.get("path") or ()),
            dedup_key=event.get("dedup_key"),
        )
    if step is not None:
        _fold_step(state, step, kind, event)
    if kind == "plan_rejected" and state.status == "failing":
        state.status = "running"  # a planner that failed is replaced by the declared steps
    if kind == "failed" and state.status == "running":
        state.status = "failing"
    elif kind == "finished":
        state.status = "finished"
        state.outcome = event.get("status")
    return state


def _fold_step(state: FlowState, step: StepState, kind: str, event: dict[str, Any]) -> None:
    if kind == "planned":
        step.input = event.get("input")  # the step's instruction, until it is dispatched
    elif kind == "queued":
        step.status = "queued"
        step.input = event.get("input")
        step.queued_ms = millis(event["occurred_at"])
    elif kind == "dispatched":
        step.status = "dispatched"
        step.task_id = event.get("task_id")
        step.input = event.get("input")
        step.dispatched_ms = millis(event["occurred_at"])
        if step.task_id:
            state.by_task[step.task_id] = step.name
        if step.dedup_key:
            state.asked.add(step.dedup_key)
    elif kind in ("completed", "failed"):
        step.status = kind
        step.output = event.get("output")
        step.result_status = event.get("status")
        step.error = event.get("detail") if kind == "failed" else None
        step.model = event.get("model")
        step.attempts = int(event.get("attempts") or 0)
        step.input_tokens = int(event.get("input_tokens") or 0)
        step.output_tokens = int(event.get("output_tokens") or 0)
        step.cost_usd = float(event.get("cost_usd") or 0.0)
        if kind == "completed":
            state.completions += 1
            step.finished_order = state.completions
    elif kind == "dropped":
        step.status = "dropped"
        step.error = event.get("detail")
    elif kind == "compensated":
        step.status = "compensated"
