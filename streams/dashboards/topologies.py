"""Topologies: workflow durations, parallelism, pipeline drops and mesh hops.

Reads ``workflow_events`` (the fold of each workflow's state changes) and
``step_results`` (every step's AgentResult), both in ``005_workflows.sql``.
"""

from __future__ import annotations

from streams.dashboards._common import AGENT, TENANT, VARIABLES
from streams.dashboards.model import Dashboard, stat, table, timeseries

__all__ = ["dashboard"]

_EVENTS = f"agentbus.workflow_events FINAL WHERE $__timeFilter(occurred_at) AND {TENANT}"
_STEPS = f"agentbus.step_results FINAL WHERE $__timeFilter(occurred_at) AND {TENANT} AND {AGENT}"

# Steps in flight after each event of a workflow: +1 per dispatch, -1 per step that
# completed or failed; a run's parallelism is the peak of that running sum.
_PEAKS = f"""
SELECT request_id, workflow, min(occurred_at) AS started, max(in_flight) AS peak
FROM (
    SELECT request_id, workflow, occurred_at,
           sum(multiIf(kind = 'dispatched', 1, kind IN ('completed', 'failed'), -1, 0))
               OVER (PARTITION BY request_id ORDER BY occurred_at, event_id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS in_flight
    FROM {_EVENTS} AND topology != 'mesh'
)
GROUP BY request_id, workflow"""

# A mesh run's depth: the most hops any of its messages took from the entry agent.
_MESH_RUNS = f"""
SELECT request_id, workflow, min(occurred_at) AS started, max(hop) AS hops,
       countIf(kind = 'hop_cap') AS hop_caps, countIf(kind = 'cycle') AS cycles,
       countIf(kind = 'duplicate') AS duplicates
FROM {_EVENTS} AND topology = 'mesh'
GROUP BY request_id, workflow"""


def dashboard() -> Dashboard:
    return Dashboard(
        uid="agentbus-topologies",
        title="agentbus / Topologies",
        description="Pipelines, orchestrated DAGs and meshes: durations, parallelism, drops, hops.",
        variables=VARIABLES,
        panels=(
            stat(
                "Workflows finished",
                f"SELECT countIf(kind = 'finished') AS finished FROM {_EVENTS}",
            ),
            stat(
                "p95 workflow duration",
                f"SELECT quantileIf(0.95)(duration_ms, kind = 'finished') AS p95_ms FROM {_EVENTS}",
                unit="ms",
            ),
            stat(
                "Pipeline drops",
                f"SELECT countIf(kind = 'dropped') AS drops "
                f"FROM {_EVENTS} AND topology = 'pipeline'",
            ),
            stat(
                "Mesh hop caps and cycles",
                f"SELECT countIf(kind = 'hop_cap') AS hop_caps, countIf(kind = 'cycle') AS cycles "
                f"FROM {_EVENTS} AND topology = 'mesh'",
            ),
            timeseries(
                "Workflow duration per topology",
                f"""
SELECT $__timeInterval(occurred_at) AS time, topology,
       quantile(0.5)(duration_ms) AS p50, quantile(0.95)(duration_ms) AS p95
FROM {_EVENTS} AND kind = 'finished'
GROUP BY time, topology ORDER BY time""",
                unit="ms",
            ),
            timeseries(
                "Parallelism (steps in flight per run)",
                f"""
SELECT $__timeInterval(started) AS time, workflow, avg(peak) AS mean_peak, max(peak) AS max_peak
FROM ({_PEAKS})
GROUP BY time, workflow ORDER BY time""",
            ),
            timeseries(
                "Pipeline drops",
                f"""
SELECT $__timeInterval(occurred_at) AS time, workflow, count() AS drops
FROM {_EVENTS} AND topology = 'pipeline' AND kind = 'dropped'
GROUP BY time, workflow ORDER BY time""",
                expect_rows=False,
            ),
            timeseries(
                "Mesh hops per run",
                f"""
SELECT $__timeInterval(started) AS time, workflow, avg(hops) AS mean_hops, max(hops) AS max_hops
FROM ({_MESH_RUNS})
GROUP BY time, workflow ORDER BY time""",
            ),
            table(
                "Workflows",
                f"""
SELECT workflow, topology, uniqExactIf(request_id, kind = 'started') AS started,
       countIf(kind = 'finished') AS finished,
       countIf(kind = 'finished' AND status = 'ok') AS ok,
       countIf(kind = 'finished' AND status IN ('partial', 'degraded')) AS partial,
       countIf(kind = 'finished' AND status = 'failed') AS failed,
       countIf(kind = 'dropped') AS drops, countIf(kind = 'compensated') AS compensated,
       round(quantileIf(0.5)(duration_ms, kind = 'finished'), 1) AS p50_ms,
       round(quantileIf(0.95)(duration_ms, kind = 'finished'), 1) AS p95_ms
FROM {_EVENTS}
GROUP BY workflow, topology ORDER BY started DESC""",
                width=24,
            ),
            table(
                "Steps",
                f"""
SELECT workflow, ifNull(step, '') AS step, ifNull(agent, '') AS agent,
       countIf(kind = 'completed') AS completed, countIf(kind = 'failed') AS failed,
       countIf(kind = 'dropped') AS dropped,
       round(quantileIf(0.5)(duration_ms, kind IN ('completed', 'failed')), 1) AS p50_ms,
       round(quantileIf(0.95)(duration_ms, kind IN ('completed', 'failed')), 1) AS p95_ms
FROM {_EVENTS} AND step IS NOT NULL
GROUP BY workflow, step, agent ORDER BY workflow, step""",
            ),
            table(
                "Step results per agent",
                f"""
SELECT agent, count() AS steps, countIf(status = 'ok') AS ok, countIf(status != 'ok') AS not_ok,
       round(quantile(0.95)(latency_ms), 1) AS p95_ms, round(sum(cost_usd), 6) AS cost_usd
FROM {_STEPS}
GROUP BY agent ORDER BY steps DESC""",
            ),
            table(
                "Drop and hop-cap reasons",
                f"""
SELECT workflow, topology, kind, ifNull(step, '') AS step, any(detail) AS example, count() AS events
FROM {_EVENTS} AND kind IN ('dropped', 'hop_cap', 'cycle', 'deadline', 'rejected')
GROUP BY workflow, topology, kind, step ORDER BY events DESC LIMIT 100""",
                width=24,
                expect_rows=False,
            ),
        ),
    )
