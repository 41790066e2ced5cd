"""The system `bench.stage_bench` runs: pipelines of 1, 2, 4 and 8 stages at zero latency.

Stage ``i`` runs agent ``s<i>`` on a simulated endpoint that answers at once, so a
request's time in ``pipe<K>`` is orchestration: the router's forward to the
orchestrator, K dispatches and K step results, the final result. A request sent
straight to ``s1`` (the star) is the baseline.
"""

from __future__ import annotations

from agents import AgentSpec, AgentSystem
from agents.endpoints import SimEndpoint
from agents.flows import Pipeline, Stage
from agents.spec import AgentLimits

__all__ = ["STAGE_COUNTS", "STAR_AGENT", "pipeline_name", "system"]

STAGE_COUNTS = (1, 2, 4, 8)
STAR_AGENT = "s1"


def pipeline_name(stages: int) -> str:
    return f"pipe{stages}"


def _agent(name: str, provider: str) -> AgentSpec:
    return AgentSpec(
        name=name,
        description=f"pipeline stage {name}",
        model="sim-small",
        tier="small",
        prompt=f"You are stage {name}.",
        provider=provider,
        limits=AgentLimits(max_attempts=1, timeout_s=30.0),
    )


system = AgentSystem(
    name="stage-bench",
    agents=(
        _agent("general", "instant"),
        *(_agent(f"s{i}", "instant") for i in range(1, max(STAGE_COUNTS) + 1)),
    ),
    default_agent="general",
    endpoints=(SimEndpoint(name="instant", latency_scale=0.0),),
    pipelines=tuple(
        Pipeline(
            name=pipeline_name(k),
            # Bounds the bench never reaches: it measures orchestration, not the bound
            # (at the default 16 in flight a stage would cap the rate mode).
            stages=tuple(
                Stage(agent=f"s{i}", concurrency=1000, queue=10_000) for i in range(1, k + 1)
            ),
        )
        for k in STAGE_COUNTS
    ),
)
