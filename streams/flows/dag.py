"""Hierarchical workflows: a DAG of steps, run in parallel as their dependencies complete,
merged by a declared conflict rule; a failure after completed steps runs their
compensations in reverse order (a saga); a deadline answers with what completed."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from agents.flows import Step, TaskPlan, Workflow, check_plan
from agents.system import AgentSystem
from streams.flows.outputs import as_object, result_fields
from streams.flows.state import FlowState, StepState
from streams.flows.writer import FlowWriter

__all__ = ["merge", "on_deadline", "on_reply", "start"]

_COMPENSATE = "compensate:"
_PLAN = "plan"


def _tasks(state: FlowState) -> list[StepState]:
    """The DAG's own steps: not the planning step, not compensations."""
    return [
        s for s in state.steps.values() if s.name != _PLAN and not s.name.startswith(_COMPENSATE)
    ]


def start(w: FlowWriter, workflow: Workflow, system: AgentSystem) -> None:
    """Ask the planner for the DAG, or plan the declared steps and start them."""
    if workflow.planner is None:
        _plan(w, workflow, workflow.steps, "declared")
        return
    agents = sorted({step.agent for step in workflow.steps})
    menu = "\n".join(f"- {name}: {system.get(name).description}" for name in agents)
    template = "\n".join(
        f"- {s.name} ({s.agent})" + (f" after {', '.join(s.depends_on)}" if s.depends_on else "")
        for s in workflow.steps
    )
    w.dispatch(
        _PLAN,
        workflow.planner,
        f"{w.state.input}\n\nAgents you can use:\n{menu}\n\nThe usual plan:\n{template}",
        reason=f"workflow {workflow.name}: {workflow.planner} plans the tasks",
    )


def _plan(w: FlowWriter, workflow: Workflow, steps: tuple[Step, ...], by: str) -> None:
    for step in steps:
        after = f" after {', '.join(step.depends_on)}" if step.depends_on else ""
        undo = workflow_compensation(workflow, step)
        w.event(
            "planned",
            step=step.name,
            agent=step.agent,
            depends_on=step.depends_on,
            input=step.instruction or None,
            detail=f"{by}: {step.agent}{after}" + (f"; compensated by {undo}" if undo else ""),
        )
    _advance(w, workflow)


def workflow_compensation(workflow: Workflow, step: Step | StepState) -> str | None:
    """The compensating agent of a (declared or planned) step."""
    if isinstance(step, Step) and step.compensation is not None:
        return step.compensation
    declared = next((s for s in workflow.steps if s.name == step.name), None) or next(
        (s for s in workflow.steps if s.agent == step.agent), None
    )
    return declared.compensation if declared is not None else None


def on_reply(w: FlowWriter, workflow: Workflow, step: StepState, result: dict[str, Any]) -> None:
    """Record a step's result and move the workflow on."""
    fields = result_fields(result)
    duration = max(0.0, float(w.now_ms - step.dispatched_ms))
    if step.name == _PLAN:
        _on_plan(w, workflow, step, result, fields, duration)
        return
    if step.name.startswith(_COMPENSATE):
        original = step.name.removeprefix(_COMPENSATE)
        w.event("completed", step=step.name, agent=step.agent, duration_ms=duration, **fields)
        w.event(
            "compensated",
            step=original,
            agent=step.agent,
            status=result["status"],
            detail=f"{step.agent} undid {original} ({result['status']})",
        )
    else:
        w.step_result(step, result, label="step")
    _advance(w, workflow)


def _on_plan(
    w: FlowWriter,
    workflow: Workflow,
    step: StepState,
    result: dict[str, Any],
    fields: dict[str, Any],
    duration: float,
) -> None:
    """Run the planner's DAG when it passes the checks, else the declared steps."""
    if result["status"] not in ("ok", "degraded"):
        w.event(
            "failed",
            step=step.name,
            agent=step.agent,
            duration_ms=duration,
            **{**fields, "output": None},
            detail=f"planner failed: {result.get('error')}",
        )
        w.event("plan_rejected", detail="the planner did not answer; running the declared steps")
        _plan(w, workflow, workflow.steps, "declared")
        return
    w.event("completed", step=step.name, agent=step.agent, duration_ms=duration, **fields)
    try:
        plan = TaskPlan.model_validate(as_object(result.get("output")))
        steps = check_plan(workflow, plan)
    except (ValueError, ValidationError) as exc:
        reason = " ".join(str(exc).split())[:300]
        w.event("plan_rejected", agent=step.agent, detail=f"{reason}; running the declared steps")
        _plan(w, workflow, workflow.steps, "declared")
        return
    _plan(
        w,
        workflow,
        steps,
        f"planned by {step.agent}" + (f" ({plan.rationale})" if plan.rationale else ""),
    )


def on_deadline(w: FlowWriter, workflow: Workflow) -> None:
    """The deadline passed: answer ``partial`` with the synthesis of what completed."""
    state = w.state
    missing = [s.name for s in _tasks(state) if s.status != "completed"]
    w.event("deadline", detail=f"deadline passed with {', '.join(missing)} unfinished")
    _synthesize(w, workflow, partial=True)


def _advance(w: FlowWriter, workflow: Workflow) -> None:
    state = w.state
    if state.status == "failing":
        _compensate_next(w, workflow)
        return
    tasks = _tasks(state)
    done = {s.name for s in tasks if s.status == "completed"}
    for step in tasks:
        if step.status == "pending" and all(dep in done for dep in step.depends_on):
            instruction = step.input or ""  # a planned step's instruction, until dispatch
            w.dispatch(
                step.name,
                step.agent,
                _step_input(w, instruction, step.depends_on),
                reason=f"workflow {workflow.name} step {step.name}"
                + (f" (after {', '.join(step.depends_on)})" if step.depends_on else ""),
            )
    if tasks and all(s.status == "completed" for s in tasks):
        _synthesize(w, workflow, partial=False)


def _step_input(w: FlowWriter, instruction: str, depends_on: tuple[str, ...]) -> str:
    """The request, the step's instruction and the typed results of its dependencies."""
    parts = [instruction] if instruction else []
    parts.append(w.state.input)
    for dep in depends_on:
        parts.append(f"[{dep}]\n{w.state.steps[dep].output or ''}")
    return "\n\n".join(parts)


def _compensate_next(w: FlowWriter, workflow: Workflow) -> None:
    """Once nothing runs, undo completed steps one at a time, latest first; then fail."""
    state = w.state
    if state.in_flight():
        return
    for done in reversed(state.completed()):
        if done.name.startswith(_COMPENSATE) or done.status != "completed":
            continue
        if done.name == _PLAN or _COMPENSATE + done.name in state.steps:
            continue  # its compensation ran already (and failed): never twice
        undo = workflow_compensation(workflow, done)
        if undo is None:
            continue
        text = json.dumps(
            {"undo": done.name, "output": as_object(done.output), "request": state.input}
        )
        w.dispatch(
            _COMPENSATE + done.name,
            undo,
            text,
            reason=f"saga: undo {done.name} (completed #{done.finished_order}) after a failure",
        )
        return
    failed = [s for s in state.steps.values() if s.status == "failed"]
    undone = [  # in the order the compensations ran
        s.name.removeprefix(_COMPENSATE)
        for s in state.completed()
        if s.name.startswith(_COMPENSATE)
        and state.steps[s.name.removeprefix(_COMPENSATE)].status == "compensated"
    ]
    # A failed compensation is itself a failed step: the error names it.
    error = "; ".join(s.error or s.name for s in failed) or "a step failed"
    if undone:
        error += f"; compensated: {', '.join(undone)}"
    w.finish("failed", output=None, error=error)


def merge(workflow: Workflow, steps: list[StepState]) -> tuple[dict[str, Any], list[str]]:
    """The steps' typed results merged into one object, and how each conflict was settled.

    Steps are taken in the order the conflict rule trusts them; a key two steps answer
    differently keeps the more trusted value.
    """
    if workflow.conflict_rule == "priority":
        rank = {name: i for i, name in enumerate(workflow.ranked())}
        ordered = sorted(steps, key=lambda s: rank.get(s.name, len(rank)))
    elif workflow.conflict_rule == "first_completed":
        ordered = sorted(steps, key=lambda s: s.finished_order)
    else:
        ordered = sorted(steps, key=lambda s: -s.finished_order)
    merged: dict[str, Any] = {}
    source: dict[str, str] = {}
    notes: list[str] = []
    for step in ordered:
        for key, value in as_object(step.output).items():
            if key not in merged:
                merged[key], source[key] = value, step.name
            elif merged[key] != value:
                notes.append(
                    f"{key}: kept {source[key]}'s over {step.name}'s ({workflow.conflict_rule})"
                )
    return {"result": merged, "sources": source}, notes


def _synthesize(w: FlowWriter, workflow: Workflow, *, partial: bool) -> None:
    done = [s for s in _tasks(w.state) if s.status == "completed"]
    done.sort(key=lambda s: s.finished_order)
    merged, notes = merge(workflow, done)
    output = json.dumps(merged, default=str)
    how = "; ".join(notes) if notes else "no conflicts"
    w.event(
        "synthesized",
        output=output,
        detail=f"merged {len(done)} step results by {workflow.conflict_rule}: {how}",
    )
    degraded = any(s.result_status == "degraded" for s in done)
    if partial:
        w.finish(
            "partial",
            output=output,
            disclaimer=f"answered at the deadline with {len(done)} of "
            f"{len(_tasks(w.state))} steps complete",
            detail="deadline",
        )
    else:
        w.finish("degraded" if degraded else "ok", output=output)
