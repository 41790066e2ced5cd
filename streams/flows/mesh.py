"""Meshes: agents consult each other by capability, found in the registry.

Every ask carries its hop count, its path and a dedup key. An ask past the hop cap,
one that would return to an agent already on its path (a cycle) and a capability
already consulted for this request are recorded with the reason and not sent. When no
ask is outstanding the request's answer merges every hop's output, in hop order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from agents.flows import Mesh
from streams.flows.outputs import as_object
from streams.flows.state import StepState
from streams.flows.writer import FlowWriter

__all__ = ["Resolve", "on_deadline", "on_reply", "start"]

Resolve = Callable[[Mesh, str], str | None]
"""The agent that answers a capability in a mesh now (the registry), or None."""


def start(w: FlowWriter, mesh: Mesh, resolve: Resolve) -> None:
    _ask(w, mesh, resolve, mesh.entry, w.state.input, hop=0, path=(), asker="request")
    _maybe_finish(w, mesh)


def on_reply(
    w: FlowWriter, mesh: Mesh, resolve: Resolve, step: StepState, result: dict[str, Any]
) -> None:
    if w.step_result(step, result, label="hop", hop=step.hop, path=step.path) is None:
        member = mesh.member(step.agent)
        asks = list(member.asks if member else ())
        extra = as_object(result.get("output")).get("asks")
        if isinstance(extra, list):
            asks += [str(a) for a in extra if str(a) not in asks]
        for capability in asks:
            _ask(
                w,
                mesh,
                resolve,
                capability,
                str(result.get("output") or ""),
                hop=step.hop + 1,
                path=(*step.path, step.agent),
                asker=step.agent,
            )
    _maybe_finish(w, mesh)


def on_deadline(w: FlowWriter, mesh: Mesh) -> None:
    waiting = [s.name for s in w.state.in_flight()]
    w.event("deadline", detail=f"deadline passed waiting for {', '.join(waiting) or 'nothing'}")
    _finish(w, partial=True)


def dedup_key(capability: str, request_input: str) -> str:
    """One key per capability and request: a peer is consulted about a case once, however
    many agents would ask it (the second ask is a recorded ``duplicate``)."""
    digest = hashlib.blake2b(request_input.encode(), digest_size=8).hexdigest()
    return f"{capability}:{digest}"


def _ask(
    w: FlowWriter,
    mesh: Mesh,
    resolve: Resolve,
    capability: str,
    text: str,
    *,
    hop: int,
    path: tuple[str, ...],
    asker: str,
) -> None:
    key = dedup_key(capability, w.state.input)
    common: dict[str, Any] = {"hop": hop, "path": path, "dedup_key": key}
    agent = resolve(mesh, capability)
    if agent is None:
        w.event(
            "unanswered", detail=f"{asker} asked for {capability!r}: no agent offers it", **common
        )
        return
    if hop > mesh.max_hops:
        w.event(
            "hop_cap",
            agent=agent,
            detail=f"{asker} asked {capability} at hop {hop}, over the cap of {mesh.max_hops}",
            **common,
        )
        return
    if agent in path or agent == asker:
        loop = " → ".join([*path, agent])
        w.event(
            "cycle",
            agent=agent,
            detail=f"cycle {loop}: {asker} asked {capability} of {agent}, already on the path",
            **common,
        )
        return
    if key in w.state.asked:
        w.event(
            "duplicate",
            agent=agent,
            detail=f"{asker} asked {capability} a question already asked",
            **common,
        )
        return
    step = f"{len(w.state.steps) + 1}:{capability}@{agent}"
    w.dispatch(
        step,
        agent,
        text,
        reason=f"mesh {mesh.name}: {asker} asked {capability} (hop {hop})",
        **common,
    )


def _maybe_finish(w: FlowWriter, mesh: Mesh) -> None:
    if not w.state.finished and not w.state.in_flight():
        _finish(w, partial=False)


def _finish(w: FlowWriter, *, partial: bool) -> None:
    hops = sorted(w.state.completed(), key=lambda s: (s.hop, s.finished_order))
    answers = [
        {"agent": s.agent, "step": s.name, "hop": s.hop, "output": as_object(s.output)}
        for s in hops
    ]
    output = json.dumps({"answers": answers}, default=str)
    if partial:
        w.finish(
            "partial",
            output=output,
            detail="deadline",
            disclaimer=f"answered at the deadline with {len(answers)} hop(s) back",
        )
    elif not answers:
        failed = [s.error or s.name for s in w.state.steps.values() if s.status == "failed"]
        w.finish("failed", output=None, error="; ".join(failed) or "no agent answered")
    else:
        w.finish("ok", output=output)
