"""Pipelines: stages in order, each with a bounded queue and an overflow policy.

A stage runs at most ``concurrency`` items; up to ``queue`` more wait. With
``block``, a request enters the pipeline only while fewer than the sum of every
stage's concurrency and queue are inside it (the rest wait in Kafka), so every
queue stays bounded; with ``drop_oldest`` / ``drop_newest`` a full queue drops an
item, whose request ends with a ``dropped`` result naming the stage and the reason.
Queues are shared by every request of the pipeline that one orchestrator owns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agents.contracts.errors import ContractViolation
from agents.flows import Pipeline, handoff
from agents.system import AgentSystem
from streams.flows.state import FlowState, StepState
from streams.flows.writer import FlowWriter

__all__ = ["admits", "on_deadline", "on_reply", "start"]

WriterFor = Callable[[FlowState], FlowWriter]
"""A writer for another request of the pipeline (a freed slot dispatches its item)."""


def admits(pipeline: Pipeline, open_flows: Iterable[FlowState]) -> bool:
    """Whether one more request may enter (always, unless the first stage blocks)."""
    if pipeline.stages[0].overflow != "block":
        return True
    bound = sum(stage.concurrency + stage.queue for stage in pipeline.stages)
    return sum(1 for _ in open_flows) < bound


def start(
    w: FlowWriter, pipeline: Pipeline, others: list[FlowState], writer_for: WriterFor
) -> None:
    for i, stage in enumerate(pipeline.stages):
        before = (pipeline.stages[i - 1].step,) if i else ()
        w.event(
            "planned",
            step=stage.step,
            agent=stage.agent,
            depends_on=before,
            detail=f"stage {i + 1} of {len(pipeline.stages)}: {stage.agent}, "
            f"concurrency {stage.concurrency}, queue {stage.queue}, {stage.overflow}",
        )
    _enter(w, pipeline, 0, w.state.input, others, writer_for)


def on_reply(
    w: FlowWriter,
    pipeline: Pipeline,
    system: AgentSystem,
    step: StepState,
    result: dict[str, Any],
    others: list[FlowState],
    writer_for: WriterFor,
) -> None:
    """Record a stage's result, hand it on (checked), and give its slot to the next item."""
    index = next(i for i, s in enumerate(pipeline.stages) if s.step == step.name)
    reason = w.step_result(step, result, label="stage")
    if reason is not None:
        w.finish("failed", output=None, error=f"stage {step.name} failed: {reason}")
    else:
        output = str(result.get("output") or "")
        if index + 1 == len(pipeline.stages):
            degraded = any(s.result_status == "degraded" for s in w.state.steps.values())
            w.finish("degraded" if degraded else "ok", output=output)
        else:
            nxt = pipeline.stages[index + 1]
            try:
                text = handoff(output, system.get(nxt.agent).input_model, agent=step.agent)
            except ContractViolation as exc:
                where = exc.path or "(whole output)"
                reason = (
                    f"stage {step.name} output does not fit stage {nxt.step}'s input "
                    f"{system.get(nxt.agent).input_model.__name__} at {where}: {exc.detail}"
                )
                w.event("rejected", step=nxt.step, agent=nxt.agent, detail=reason)
                w.decision.letters.append((w.state.request_id, "contract_violation", reason))
                w.finish("failed", output=None, error=reason)
            else:
                _enter(w, pipeline, index + 1, text, others, writer_for)
    _refill(pipeline, index, others, writer_for)


def on_deadline(w: FlowWriter, pipeline: Pipeline) -> None:
    """Answer ``partial`` with the output of the last stage reached."""
    done = w.state.completed()
    w.event(
        "deadline", detail=f"deadline passed after {len(done)} of {len(pipeline.stages)} stages"
    )
    last = done[-1].output if done else None
    w.finish(
        "partial",
        output=last,
        disclaimer=f"answered at the deadline after {len(done)} of {len(pipeline.stages)} stages",
        detail="deadline",
    )


def _enter(
    w: FlowWriter,
    pipeline: Pipeline,
    index: int,
    text: str,
    others: list[FlowState],
    writer_for: WriterFor,
) -> None:
    stage = pipeline.stages[index]
    flows = [w.state, *others]
    running = sum(1 for f in flows if _status(f, stage.step) == "dispatched")
    waiting = _waiting(others, stage.step)
    if running < stage.concurrency and not waiting:
        w.dispatch(stage.step, stage.agent, text, reason=_reason(pipeline, index))
        return
    if len(waiting) < stage.queue or stage.overflow == "block":
        w.event(
            "queued",
            step=stage.step,
            agent=stage.agent,
            input=text,
            detail=f"{running} running, {len(waiting)} waiting at stage {stage.step}",
        )
        return
    full = f"stage {stage.step} queue full ({len(waiting)} waiting, {running} running)"
    if stage.overflow == "drop_oldest" and waiting:
        oldest = writer_for(waiting[0])
        _drop(
            oldest,
            stage.step,
            stage.agent,
            f"{full}: drop_oldest dropped the item that waited longest",
        )
        w.event(
            "queued",
            step=stage.step,
            agent=stage.agent,
            input=text,
            detail=f"took the place of {oldest.state.request_id} ({full})",
        )
        return
    _drop(w, stage.step, stage.agent, f"{full}: drop_newest dropped this item")


def _refill(pipeline: Pipeline, index: int, flows: list[FlowState], writer_for: WriterFor) -> None:
    """Dispatch the longest-waiting items of the stage whose slot was freed."""
    stage = pipeline.stages[index]
    for state in _waiting(flows, stage.step):
        running = sum(1 for f in flows if _status(f, stage.step) == "dispatched")
        if running >= stage.concurrency:
            return
        w = writer_for(state)
        text = state.steps[stage.step].input or ""
        w.dispatch(stage.step, stage.agent, text, reason=_reason(pipeline, index) + " (dequeued)")


def _drop(w: FlowWriter, step: str, agent: str, reason: str) -> None:
    w.event("dropped", step=step, agent=agent, status="dropped", detail=reason)
    w.finish("dropped", output=None, error=reason)


def _status(state: FlowState, step: str) -> str | None:
    current = state.steps.get(step)
    return current.status if current is not None and not state.finished else None


def _waiting(flows: Iterable[FlowState], step: str) -> list[FlowState]:
    queued = [f for f in flows if _status(f, step) == "queued"]
    return sorted(queued, key=lambda f: (f.steps[step].queued_ms, f.request_id))


def _reason(pipeline: Pipeline, index: int) -> str:
    return f"pipeline {pipeline.name} stage {index + 1}/{len(pipeline.stages)}"
