"""Builds a workflow's events, its steps' tasks and its final result, folding each event
into the state as it is built (a decider sees its own earlier events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streams.events import derived_id, derived_span_id, utcnow
from streams.flows.outputs import result_fields
from streams.flows.state import FlowState, StepState, fold
from streams.topics import REPLY_TO

__all__ = ["Decision", "FlowWriter", "step_task_id"]

WORKFLOW_KEY = "agentbus.workflow"
STEP_KEY = "agentbus.step"


def step_task_id(request_id: str, step: str) -> str:
    """The task id of a step: the same whatever caused its dispatch, so a redelivered
    cause re-sends the very same task."""
    return derived_id(f"{request_id}/{step}", "task-id")


@dataclass
class Decision:
    """What one input or tick makes the orchestrator produce."""

    events: list[dict[str, Any]] = field(default_factory=list)
    """``WorkflowEvent`` records, in the order they were folded."""
    tasks: list[dict[str, Any]] = field(default_factory=list)
    """``AgentTask`` records for steps (their agents' task topics)."""
    results: list[dict[str, Any]] = field(default_factory=list)
    """Final ``AgentResult`` records (the ``results`` topic)."""
    letters: list[tuple[str, str, str]] = field(default_factory=list)
    """Dead letters about the consumed event: (request id, error type, reason)."""
    blocked: bool = False
    """A pipeline had no room: nothing was decided; try the same input again later."""


class FlowWriter:
    """Events of one workflow caused by one input (``cause``: the consumed event's id, or
    a tick's name); ids derive from the cause, so deciding again yields the same ids."""

    def __init__(
        self,
        state: FlowState,
        decision: Decision,
        *,
        cause: str,
        producer: str,
        on_fold: Callable[[FlowState], None] | None = None,
    ) -> None:
        self.state = state
        self.decision = decision
        self._cause = cause
        self._producer = producer
        self._count = 0
        self._on_fold = on_fold
        self.now = utcnow()

    @property
    def now_ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    def _envelope(self, kind: str) -> dict[str, Any]:
        self._count += 1
        salt = f"wf/{self.state.request_id}/{kind}/{self._count}"
        return {
            "event_id": derived_id(self._cause, salt),
            "trace_id": self.state.trace_id,
            "span_id": derived_span_id(self._cause, salt),
            "parent_span_id": self.state.span_id,
            "occurred_at": self.now,
            "producer": self._producer,
        }

    def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Build, fold and keep the ``kind`` event."""
        event = workflow_event(self.state, self._envelope(kind), kind, **fields)
        fold(self.state, event)
        self.decision.events.append(event)
        if self._on_fold is not None:
            self._on_fold(self.state)
        return event

    def step_result(
        self, step: StepState, result: dict[str, Any], *, label: str, **extra: Any
    ) -> str | None:
        """Fold a step's ``AgentResult``: its ``completed`` event, or its ``failed`` event
        (detail "<label> <step> failed: <reason>"). Returns the reason when it failed."""
        fields = result_fields(result)
        common = {
            "step": step.name,
            "agent": step.agent,
            "duration_ms": max(0.0, float(self.now_ms - step.dispatched_ms)),
            **extra,
        }
        if result["status"] in ("ok", "degraded"):
            self.event("completed", **common, **fields)
            return None
        reason = str(result.get("error") or f"{step.agent} answered {result['status']}")
        self.event(
            "failed",
            **common,
            **{**fields, "output": None},
            detail=f"{label} {step.name} failed: {reason}",
        )
        return reason

    def dispatch(
        self, step: str, agent: str, text: str, *, reason: str, **fields: Any
    ) -> dict[str, Any]:
        """The ``dispatched`` event of ``step`` and its ``AgentTask``, whose result comes
        back on ``replies``."""
        state = self.state
        task_id = step_task_id(state.request_id, step)
        self.event(
            "dispatched",
            step=step,
            agent=agent,
            task_id=task_id,
            input=text,
            detail=reason,
            **fields,
        )
        envelope = self._envelope("task")
        task = {
            **envelope,
            "request_id": state.request_id,
            "task_id": task_id,
            "tenant": state.tenant,
            "agent": agent,
            "input": text,
            "routing_reason": reason,
            "routing_confidence": 1.0,
            "metadata": {REPLY_TO: "replies", WORKFLOW_KEY: state.workflow, STEP_KEY: step},
            "routing_model_version": None,
        }
        self.decision.tasks.append(task)
        return task

    def finish(
        self,
        status: str,
        *,
        output: str | None,
        error: str | None = None,
        disclaimer: str | None = None,
        detail: str = "",
    ) -> None:
        """The workflow's ``finished`` event and its one final ``AgentResult``."""
        state = self.state
        steps = list(state.steps.values())
        cost = sum(s.cost_usd for s in steps)
        latency = max(0.0, float(self.now_ms - state.started_ms))
        self.event(
            "finished",
            status=status,
            output=output,
            detail=detail or error or "",
            duration_ms=latency,
            cost_usd=cost,
            attempts=sum(s.attempts for s in steps),
            input_tokens=sum(s.input_tokens for s in steps),
            output_tokens=sum(s.output_tokens for s in steps),
        )
        models = [s.model for s in sorted(steps, key=lambda s: s.finished_order) if s.model]
        self.decision.results.append(
            {
                **self._envelope("result"),
                "request_id": state.request_id,
                "task_id": state.task_id,
                "tenant": state.tenant,
                "agent": state.workflow,
                "status": status,
                "output": output,
                "error": error,
                "disclaimer": disclaimer,
                "model": models[-1] if models else "none",
                "attempts": sum(s.attempts for s in steps),
                "input_tokens": sum(s.input_tokens for s in steps),
                "output_tokens": sum(s.output_tokens for s in steps),
                "cost_usd": cost,
                "latency_ms": latency,
                "answered_by": None,
            }
        )


def workflow_event(
    state: FlowState, envelope: dict[str, Any], kind: str, **fields: Any
) -> dict[str, Any]:
    """A ``WorkflowEvent`` of ``state``'s workflow; unset optional fields take their defaults."""
    return {
        **envelope,
        "request_id": state.request_id,
        "tenant": state.tenant,
        "workflow": state.workflow,
        "topology": state.topology,
        "kind": kind,
        "step": fields.pop("step", None),
        "agent": fields.pop("agent", None),
        "task_id": fields.pop("task_id", None),
        "status": fields.pop("status", None),
        "input": fields.pop("input", None),
        "output": fields.pop("output", None),
        "detail": fields.pop("detail", ""),
        "depends_on": list(fields.pop("depends_on", ())),
        "hop": fields.pop("hop", 0),
        "path": list(fields.pop("path", ())),
        "dedup_key": fields.pop("dedup_key", None),
        "duration_ms": fields.pop("duration_ms", 0.0),
        "deadline_at": fields.pop("deadline_at", None),
        "model": fields.pop("model", None),
        "attempts": fields.pop("attempts", 0),
        "input_tokens": fields.pop("input_tokens", 0),
        "output_tokens": fields.pop("output_tokens", 0),
        "cost_usd": fields.pop("cost_usd", 0.0),
        **_no_leftovers(fields),
    }


def _no_leftovers(fields: dict[str, Any]) -> dict[str, Any]:
    if fields:
        raise TypeError(f"not WorkflowEvent fields: {', '.join(fields)}")
    return {}


def started_event(
    request: dict[str, Any],
    *,
    workflow: str,
    topology: str,
    producer: str,
    deadline_s: float | None,
) -> dict[str, Any]:
    """The first event of a workflow, caused by its ``AgentRequest``."""
    cause = str(request["event_id"])
    now = utcnow()
    deadline = now + dt.timedelta(seconds=deadline_s) if deadline_s else None
    return {
        "event_id": derived_id(cause, "wf/started"),
        "trace_id": str(request["trace_id"]),
        "span_id": derived_span_id(cause, "wf/started"),
        "parent_span_id": str(request["span_id"]),
        "occurred_at": now,
        "producer": producer,
        "request_id": str(request["request_id"]),
        "tenant": str(request["tenant"]),
        "workflow": workflow,
        "topology": topology,
        "kind": "started",
        "step": None,
        "agent": None,
        "task_id": derived_id(cause, "task-id"),
        "status": None,
        "input": str(request["input"]),
        "output": None,
        "detail": "",
        "depends_on": [],
        "hop": 0,
        "path": [],
        "dedup_key": None,
        "duration_ms": 0.0,
        "deadline_at": deadline,
        "model": None,
        "attempts": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
    }
