"""A system with every topology, for the orchestrator's tests on the real broker.

``report``: a diamond DAG (fetch → categorise ∥ anomalies → summarise) on steps that
take ``FLOWS_STEP_MS`` each; ``booking``: a saga whose last step always fails;
``ingest``: a pipeline whose first stage holds one item and two waiting (drop_oldest);
``loop``: a mesh a → b → c → a.
"""

from __future__ import annotations

import os

from agents import AgentSpec, AgentSystem
from agents.endpoints import SimEndpoint
from agents.flows import Mesh, MeshMember, Pipeline, Stage, Step, Workflow
from agents.providers.sim import SimFaults
from agents.spec import AgentLimits

__all__ = ["system"]

_STEP_MS = float(os.environ.get("FLOWS_STEP_MS", "300"))


def _agent(name: str, provider: str = "steps") -> AgentSpec:
    return AgentSpec(
        name=name,
        description=f"the {name} step",
        model="sim-small",
        tier="small",
        prompt=f"You do the {name} step.",
        provider=provider,
        limits=AgentLimits(max_attempts=1, timeout_s=30.0),
    )


system = AgentSystem(
    name="flows",
    agents=(
        _agent("general", "sim"),
        *(_agent(n) for n in ("fetch", "categorise", "anomalies", "summarise", "undo")),
        *(_agent(n) for n in ("book", "reserve")),
        _agent("charge", "broken"),
        *(_agent(n, "slow") for n in ("extract", "normalise")),
        *(_agent(n, "sim") for n in ("a", "b", "c")),
    ),
    default_agent="general",
    endpoints=(
        SimEndpoint(name="steps", latency_scale=1.0, latency_ms=_STEP_MS),
        SimEndpoint(name="slow", latency_scale=1.0, latency_ms=400.0),
        SimEndpoint(name="broken", faults=SimFaults(error_rate=1.0)),
    ),
    workflows=(
        Workflow(
            name="report",
            steps=(
                Step(name="fetch", agent="fetch"),
                Step(name="categorise", agent="categorise", depends_on=("fetch",)),
                Step(name="anomalies", agent="anomalies", depends_on=("fetch",)),
                Step(name="summarise", agent="summarise", depends_on=("categorise", "anomalies")),
            ),
            priority=("anomalies", "categorise"),
        ),
        Workflow(
            name="booking",
            steps=(
                Step(name="book", agent="book", compensation="undo"),
                Step(name="reserve", agent="reserve", depends_on=("book",), compensation="undo"),
                Step(name="charge", agent="charge", depends_on=("reserve",)),
            ),
        ),
    ),
    pipelines=(
        Pipeline(
            name="ingest",
            stages=(
                Stage(agent="extract", concurrency=1, queue=2, overflow="drop_oldest"),
                Stage(agent="normalise", concurrency=4),
            ),
        ),
    ),
    meshes=(
        Mesh(
            name="loop",
            entry="x",
            members=(
                MeshMember(agent="a", capabilities=("x",), asks=("y",)),
                MeshMember(agent="b", capabilities=("y",), asks=("z",)),
                MeshMember(agent="c", capabilities=("z",), asks=("x",)),
            ),
        ),
    ),
)
