"""The workflow part of ``agentbus trace``: a pipeline, DAG or mesh run as a tree.

Built from the request's ``workflow_events`` rows alone (the fold's own record), with
each step's task details (attempts, step result) filled in by the caller. Steps the
orchestrator dispatched in one decision ran in parallel and are shown as siblings
under one ``parallel`` node; mesh hops hang under the hop that asked them, so the
tree is the path; drops, rejections, hop caps, cycles and duplicates show their
reason; compensations sit under the step they undid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape
from rich.tree import Tree

from streams.flows.state import millis as _event_millis

__all__ = ["TaskDetails", "add_workflow", "event_order"]

TaskDetails = Callable[[Tree, str, str], None]
"""Adds a step task's attempts and step result under a node: (node, task_id, agent)."""

_COMPENSATE = "compensate:"
_LABEL = {"pipeline": "pipeline", "hierarchical": "workflow", "mesh": "mesh"}
_COLOR = {
    "ok": "green",
    "completed": "green",
    "degraded": "yellow",
    "partial": "yellow",
    "compensated": "yellow",
    "queued": "cyan",
    "dispatched": "cyan",
}
# Events of one decision share a timestamp; this is the order a decider writes them in.
_RANK = {
    kind: i
    for i, kind in enumerate(
        (
            "started",
            "completed",
            "failed",
            "plan_rejected",
            "planned",
            "compensated",
            "deadline",
            "rejected",
            "dropped",
            "queued",
            "hop_cap",
            "cycle",
            "duplicate",
            "unanswered",
            "dispatched",
            "synthesized",
            "finished",
        )
    )
}
_REFUSED = ("hop_cap", "cycle", "duplicate", "unanswered")


def millis(value: Any) -> int:
    """A row's timestamp as epoch milliseconds: a datetime (the embedded store), an ISO
    string (the gateway's JSON) or epoch milliseconds; naive times are UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return _event_millis(value)


def event_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` in the order they happened: by time, then in the order a decision writes
    kinds, then steps by their depth in the plan (rows of one decision share a time)."""
    deps = {str(r["step"]): list(r["depends_on"] or []) for r in rows if r["kind"] == "planned"}
    depth: dict[str, int] = {}

    def depth_of(step: str, seen: frozenset[str] = frozenset()) -> int:
        if step not in depth:
            parents = [d for d in deps.get(step, []) if d not in seen]
            depth[step] = 1 + max((depth_of(d, seen | {step}) for d in parents), default=-1)
        return depth[step]

    def key(row: dict[str, Any]) -> tuple[int, int, int, str]:
        step = str(row["step"] or "")
        rank = _RANK.get(str(row["kind"]), len(_RANK))
        return (millis(row["occurred_at"]), rank, depth_of(step), step)

    return sorted(rows, key=key)


@dataclass
class _Step:
    name: str
    agent: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def last(self, *kinds: str) -> dict[str, Any] | None:
        found = [e for e in self.events if e["kind"] in kinds]
        return found[-1] if found else None

    @property
    def dispatched(self) -> dict[str, Any] | None:
        return self.last("dispatched")

    @property
    def status(self) -> str:
        outcome = self.last("completed", "failed", "dropped", "rejected")
        if outcome is None:
            return "queued" if self.last("queued") else "dispatched" if self.dispatched else ""
        if outcome["kind"] == "completed":
            undone = " compensated" if self.last("compensated") else ""
            return str(outcome["status"] or "ok") + undone
        return str(outcome["kind"])


def _color(status: str) -> str:
    return _COLOR.get(status.rsplit(maxsplit=1)[-1], "red")


def _offset(row: dict[str, Any], start_ms: int) -> str:
    return f"+{(millis(row['occurred_at']) - start_ms) / 1000:.2f}s"


def add_workflow(root: Tree, events: list[dict[str, Any]], details: TaskDetails) -> set[str]:
    """Add the workflow of ``events`` under ``root``; returns the task ids it showed."""
    events = event_order(events)
    started = next((e for e in events if e["kind"] == "started"), events[0])
    start_ms = millis(started["occurred_at"])
    topology = str(started["topology"])
    head = (
        f"[bold magenta]{_LABEL.get(topology, topology)} {started['workflow']}[/] "
        f"({topology}) started at {started['occurred_at']}"
    )
    if started.get("deadline_at") is not None:
        head += f", deadline {(millis(started['deadline_at']) - start_ms) / 1000:.0f}s"
    node = root.add(head)
    steps: dict[str, _Step] = {}
    for event in events:
        if event["step"] and event["kind"] != "started":
            step = steps.setdefault(str(event["step"]), _Step(str(event["step"]), ""))
            step.agent = step.agent or str(event["agent"] or "")
            step.events.append(event)
    shown: set[str] = set()
    render = _StepRenderer(start_ms, details, shown)
    if topology == "mesh":
        _add_mesh(node, events, steps, render)
    else:
        planned = [e for e in events if e["kind"] == "planned"]
        if planned:
            plan = node.add(
                f"plan: {len(planned)} {'stages' if topology == 'pipeline' else 'steps'}"
            )
            for event in planned:
                plan.add(f"{event['step']}: {escape(str(event['detail']))}")
        for event in (e for e in events if e["kind"] == "plan_rejected"):
            node.add(f"[red]plan rejected[/]: {escape(str(event['detail']))}")
        plain = [s for s in steps.values() if not _is_compensation(s)]
        _add_waves(node, plain, render, parallel=topology == "hierarchical")
        for step in steps.values():
            if _is_compensation(step):
                render.add(node, step, label="compensation")
    _add_outcome(node, events, start_ms)
    return shown


def _add_outcome(node: Tree, events: list[dict[str, Any]], start_ms: int) -> None:
    """The synthesis (how conflicts were settled), a deadline, and how the run finished."""
    for event in events:
        kind = event["kind"]
        if kind == "synthesized":
            node.add(f"[bold]synthesis[/] {_offset(event, start_ms)}: {escape(event['detail'])}")
        elif kind == "deadline":
            node.add(f"[yellow]deadline[/] {_offset(event, start_ms)}: {escape(event['detail'])}")
        elif kind == "finished":
            status = str(event["status"])
            line = (
                f"[{_color(status)}]finished {status}[/] after "
                f"{float(event['duration_ms']):.0f}ms, {event['attempts']} model attempt(s), "
                f"${float(event['cost_usd']):.6f}"
            )
            if event["detail"] and event["detail"] != "deadline":
                line += f": {escape(str(event['detail']))}"
            node.add(line)


def _is_compensation(step: _Step) -> bool:
    return step.name.startswith(_COMPENSATE)


def _add_waves(node: Tree, steps: list[_Step], render: _StepRenderer, *, parallel: bool) -> None:
    """Steps in dispatch order. In a DAG a step is dispatched when its last dependency
    completes: steps released by the same completion (or the roots, by the start) ran in
    parallel and go under one ``parallel`` node."""
    completion = {
        step.name: millis(done["occurred_at"]) * 1000 + i
        for i, step in enumerate(steps)
        if (done := step.last("completed")) is not None
    }

    def when(step: _Step) -> int:
        first = step.dispatched or step.events[0]
        return millis(first["occurred_at"])

    def released_by(step: _Step) -> object:
        planned = step.last("planned")
        deps = list(planned["depends_on"] or []) if planned else []
        return max((completion.get(d, -1), d) for d in deps)[1] if deps else None

    waves: dict[object, list[_Step]] = {}
    for step in sorted(steps, key=when):
        if step.last("dispatched", "queued", "dropped", "rejected") is None:
            continue  # planned, never reached
        key = released_by(step) if parallel else step.name
        waves.setdefault(key, []).append(step)
    for wave in waves.values():
        dispatched = [s for s in wave if s.dispatched is not None]
        if len(dispatched) > 1:
            names = " ∥ ".join(s.name for s in dispatched)
            first = dispatched[0].dispatched
            assert first is not None
            branch = node.add(
                f"[bold]parallel[/] {names} (dispatched together at "
                f"{_offset(first, render.start_ms)})"
            )
            for step in wave:
                render.add(branch, step)
        else:
            for step in wave:
                render.add(node, step)


def _add_mesh(
    node: Tree, events: list[dict[str, Any]], steps: dict[str, _Step], render: _StepRenderer
) -> None:
    """Hops nested under the hop whose agent asked them (the last agent on their path)."""
    nodes: dict[tuple[str, ...], Tree] = {}

    def parent_of(path: list[str]) -> Tree:
        return nodes.get(tuple(path), node) if path else node

    for event in events:
        kind = event["kind"]
        path = list(event["path"] or [])
        if kind == "dispatched" and event["step"] in steps:
            step = steps[str(event["step"])]
            where = " → ".join([*path, step.agent])
            hop = render.add(
                parent_of(path), step, label=f"hop {event['hop']}", suffix=f" path {where}"
            )
            nodes[(*path, step.agent)] = hop
        elif kind in _REFUSED:
            parent_of(path).add(
                f"[red]{kind}[/] at hop {event['hop']} {_offset(event, render.start_ms)}: "
                f"{escape(str(event['detail']))}"
            )


@dataclass
class _StepRenderer:
    start_ms: int
    details: TaskDetails
    shown: set[str]

    def add(self, parent: Tree, step: _Step, *, label: str = "step", suffix: str = "") -> Tree:
        status = step.status
        outcome = step.last("completed", "failed")
        took = f" in {float(outcome['duration_ms']):.0f}ms" if outcome else ""
        dispatched = step.dispatched
        at = f" at {_offset(dispatched, self.start_ms)}" if dispatched else ""
        name = step.name.removeprefix(_COMPENSATE) if label == "compensation" else step.name
        branch = parent.add(
            f"{label} [bold]{escape(name)}[/] → {step.agent} "
            f"[{_color(status)}]{status}[/]{took}{at}{suffix}"
        )
        for event in step.events:
            kind = event["kind"]
            if kind == "queued":
                branch.add(
                    f"[cyan]queued[/] {_offset(event, self.start_ms)}: "
                    f"{escape(str(event['detail']))}"
                )
            elif kind in ("dropped", "rejected"):
                branch.add(f"[red]{kind}[/]: {escape(str(event['detail']))}")
            elif kind == "failed":
                branch.add(f"[red]failed[/]: {escape(str(event['detail']))}")
            elif kind == "compensated":
                branch.add(f"[yellow]compensated[/]: {escape(str(event['detail']))}")
            elif kind == "dispatched" and event["task_id"]:
                if event["detail"]:
                    branch.add(f"why: {escape(str(event['detail']))}")
                self.details(branch, str(event["task_id"]), step.agent)
                self.shown.add(str(event["task_id"]))
        return branch
