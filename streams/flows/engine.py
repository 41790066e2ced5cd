"""The orchestrator's decisions, without Kafka: requests start workflows, step results
move them on, the clock ends them at their deadline.

State lives in memory only for workflows still running (finished ones are forgotten,
their ids kept in a bounded window so a late or redelivered result is recognised);
it is rebuilt from the ``workflow`` topic by :meth:`Orchestrator.restore`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from agents.flows import Mesh, Pipeline, Workflow
from agents.system import AgentSystem
from streams.flows import dag, mesh, pipeline
from streams.flows.mesh import Resolve
from streams.flows.state import FlowState, fold
from streams.flows.writer import Decision, FlowWriter, started_event

__all__ = ["Orchestrator", "declared_resolver", "topology_of"]

log = logging.getLogger("agentbus.orchestrator")

TOPOLOGY = {Pipeline: "pipeline", Workflow: "hierarchical", Mesh: "mesh"}


def topology_of(flow: Pipeline | Workflow | Mesh) -> str:
    return TOPOLOGY[type(flow)]


def declared_resolver(flow: Mesh, capability: str) -> str | None:
    """The first declared member offering ``capability`` (no registry)."""
    providers = flow.providers_of(capability)
    return providers[0] if providers else None


class Orchestrator:
    """Runs a system's pipelines, workflows and meshes; every method returns a
    :class:`Decision` (events already folded into the state)."""

    def __init__(
        self,
        system: AgentSystem,
        *,
        producer: str = "orchestrator",
        resolve: Resolve = declared_resolver,
        remember_finished: int = 100_000,
    ) -> None:
        self._system = system
        self._flows = system.flows
        self._producer = producer
        self._resolve = resolve
        self.open: dict[str, FlowState] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._remember = remember_finished
        self.ignored_replies = 0

    def handles(self, target: str | None) -> bool:
        return target is not None and target in self._flows

    def restore(self, event: dict[str, Any], *, partition: int = -1) -> None:
        """Fold one event read back from partition ``partition`` of the ``workflow`` topic."""
        request_id = str(event["request_id"])
        if request_id in self._finished:
            return
        state = fold(self.open.get(request_id), event)
        if state is not None:
            state.partition = partition
            self._keep(state)

    def forget(self, partition: int) -> int:
        """Drop the running workflows of ``partition`` (it moved to another replica, or is
        about to be restored from the log); returns how many."""
        gone = [rid for rid, state in self.open.items() if state.partition == partition]
        for request_id in gone:
            del self.open[request_id]
        return len(gone)

    def start(self, request: dict[str, Any], *, partition: int = -1) -> Decision:
        """Start the workflow ``request`` targets (``blocked`` when a pipeline is full;
        nothing when it was started already)."""
        decision = Decision()
        request_id = str(request["request_id"])
        if request_id in self.open or request_id in self._finished:
            return decision  # redelivered: its events are in the log already
        flow = self._flows[str(request["target_agent"])]
        if isinstance(flow, Pipeline) and not pipeline.admits(flow, self._open_of(flow.name)):
            decision.blocked = True
            return decision
        first = started_event(
            request,
            workflow=flow.name,
            topology=topology_of(flow),
            producer=self._producer,
            deadline_s=flow.deadline_s,
        )
        state = fold(None, first)
        assert state is not None
        state.partition = partition
        decision.events.append(first)
        self._keep(state)
        w = self._writer(state, decision, cause=str(request["event_id"]))
        if isinstance(flow, Workflow):
            dag.start(w, flow, self._system)
        elif isinstance(flow, Pipeline):
            others = [f for f in self._open_of(flow.name) if f is not state]
            pipeline.start(w, flow, others, self._writer_for(decision, str(request["event_id"])))
        else:
            mesh.start(w, flow, self._resolve)
        return decision

    def on_reply(self, result: dict[str, Any]) -> Decision:
        """Move a workflow on with one step's ``AgentResult``."""
        decision = Decision()
        state = self.open.get(str(result["request_id"]))
        step_name = state.by_task.get(str(result["task_id"])) if state else None
        if state is None or step_name is None:
            # A finished workflow's late step, an edge's step result, a redelivery.
            self.ignored_replies += 1
            return decision
        step = state.steps[step_name]
        if step.status != "dispatched":
            self.ignored_replies += 1  # its result is folded already (a redelivery)
            return decision
        cause = str(result["event_id"])
        w = self._writer(state, decision, cause=cause)
        flow = self._flows[state.workflow]
        if isinstance(flow, Workflow):
            dag.on_reply(w, flow, step, result)
        elif isinstance(flow, Pipeline):
            others = [f for f in self._open_of(flow.name) if f is not state]
            pipeline.on_reply(
                w, flow, self._system, step, result, others, self._writer_for(decision, cause)
            )
        else:
            mesh.on_reply(w, flow, self._resolve, step, result)
        return decision

    def tick(self, now_ms: int) -> Decision:
        """End every workflow whose deadline has passed, ``partial``."""
        decision = Decision()
        for state in list(self.open.values()):
            if state.finished or state.deadline_ms is None or state.deadline_ms > now_ms:
                continue
            w = self._writer(state, decision, cause=f"{state.request_id}/deadline")
            flow = self._flows[state.workflow]
            if isinstance(flow, Workflow):
                dag.on_deadline(w, flow)
            elif isinstance(flow, Pipeline):
                pipeline.on_deadline(w, flow)
            else:
                mesh.on_deadline(w, flow)
        return decision

    def _open_of(self, workflow: str) -> list[FlowState]:
        return [f for f in self.open.values() if f.workflow == workflow and not f.finished]

    def _writer(self, state: FlowState, decision: Decision, *, cause: str) -> FlowWriter:
        return FlowWriter(state, decision, cause=cause, producer=self._producer, on_fold=self._keep)

    def _writer_for(self, decision: Decision, cause: str) -> pipeline.WriterFor:
        return lambda other: self._writer(other, decision, cause=cause)

    def _keep(self, state: FlowState) -> None:
        """Track ``state``; a finished workflow leaves memory, its id stays a while."""
        if not state.finished:
            self.open[state.request_id] = state
            return
        self.open.pop(state.request_id, None)
        self._finished[state.request_id] = None
        if len(self._finished) > self._remember:
            self._finished.popitem(last=False)
