"""The system `bench.dag_bench` runs: one report as a DAG and the same tasks as a chain.

``report``: fetch_ledger → (categorise → chart) ∥ check_anomalies → summarise, so the
chart of the categories is drawn while the anomaly check still runs.
``report_chain``: the same five steps on the same agents, one after another.

Each agent sits on its own simulated endpoint with a fixed, real latency
(``STEP_MS``: 200 to 500 ms, the spread of small hosted models), so the two workflows
spend the same model time and differ only in what may overlap.
"""

from __future__ import annotations

from agents import AgentSpec, AgentSystem
from agents.endpoints import SimEndpoint
from agents.flows import Step, Workflow
from agents.spec import AgentLimits

__all__ = ["CHAIN", "DAG", "STEP_MS", "critical_path_ms", "system"]

STEP_MS: dict[str, float] = {
    "fetch_ledger": 200.0,
    "categorise": 300.0,
    "check_anomalies": 500.0,
    "chart": 200.0,
    "summarise": 250.0,
}
"""Real model latency of each step, in milliseconds."""

DAG = "report"
CHAIN = "report_chain"

_DEPENDS: dict[str, tuple[str, ...]] = {
    "fetch_ledger": (),
    "categorise": ("fetch_ledger",),
    "check_anomalies": ("fetch_ledger",),
    "chart": ("categorise",),
    "summarise": ("chart", "check_anomalies"),
}


def critical_path_ms(depends: dict[str, tuple[str, ...]] | None = None) -> float:
    """Model time of the longest dependency chain: the least a workflow can take."""
    graph = _DEPENDS if depends is None else depends
    finish: dict[str, float] = {}
    for name in graph:  # declared in dependency order
        finish[name] = STEP_MS[name] + max((finish[d] for d in graph[name]), default=0.0)
    return max(finish.values())


def _agent(name: str, provider: str) -> AgentSpec:
    return AgentSpec(
        name=name,
        description=f"the {name} step of a spending report",
        model="sim-small",
        tier="small",
        prompt=f"You do the {name} step of a spending report.",
        provider=provider,
        limits=AgentLimits(max_attempts=1, timeout_s=30.0),
    )


system = AgentSystem(
    name="dag-bench",
    agents=(
        _agent("general", "sim"),
        *(_agent(name, f"sim-{name}") for name in STEP_MS),
    ),
    default_agent="general",
    endpoints=tuple(
        SimEndpoint(name=f"sim-{name}", latency_scale=1.0, latency_ms=ms)
        for name, ms in STEP_MS.items()
    ),
    workflows=(
        Workflow(
            name=DAG,
            steps=tuple(
                Step(name=name, agent=name, depends_on=deps) for name, deps in _DEPENDS.items()
            ),
        ),
        Workflow(
            name=CHAIN,
            steps=tuple(
                Step(name=name, agent=name, depends_on=(previous,) if previous else ())
                for previous, name in zip((None, *STEP_MS), STEP_MS, strict=False)
            ),
        ),
    ),
)
