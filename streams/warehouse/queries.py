"""The questions agentbus asks ClickHouse itself: a request's trace, a run's summary.

Every read uses ``FINAL`` so redelivered events (same ``event_id``) count once
even before the engine has merged them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.records import CHAIN
from streams.warehouse.access import Reader

__all__ = [
    "RequestTrace",
    "TopologySummary",
    "agent_summary",
    "load_trace",
    "topology_summary",
]


@dataclass
class RequestTrace:
    """Everything recorded about one request, rows as column→value dicts, in time order."""

    request: dict[str, Any] | None
    tasks: list[dict[str, Any]] = field(default_factory=list)
    invocations: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    breaker_events: list[dict[str, Any]] = field(default_factory=list)
    step_results: list[dict[str, Any]] = field(default_factory=list)
    """Results of tasks whose answer went on to another agent (an edge fired) or to a
    workflow; ``results`` holds the request's final one."""
    workflow_events: list[dict[str, Any]] = field(default_factory=list)
    """The request's pipeline, workflow or mesh run (``workflow_events``), when it named
    a flow: every state change of the fold, in time order."""

    @property
    def found(self) -> bool:
        return bool(
            self.request or self.tasks or self.results or self.dead_letters or self.workflow_events
        )


def _rows(reader: Reader, sql: str, request_id: str) -> list[dict[str, Any]]:
    result = reader.query(sql, {"rid": request_id})
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def load_trace(reader: Reader, request_id: str) -> RequestTrace:
    """All events of ``request_id`` from every table."""
    where = "WHERE request_id = {rid:String} ORDER BY occurred_at, event_id"
    requests = _rows(
        reader,
        f"SELECT event_id, trace_id, occurred_at, tenant, input, target_agent, producer "
        f"FROM agentbus.requests FINAL {where}",
        request_id,
    )
    tasks = _rows(
        reader,
        f"SELECT occurred_at, task_id, agent, routing_reason, routing_confidence, "
        f"routing_model_version, producer, metadata['{CHAIN}'] AS chain "
        f"FROM agentbus.tasks FINAL {where}",
        request_id,
    )
    invocations = _rows(
        reader,
        "SELECT occurred_at, task_id, agent, provider, model, tier, attempt, outcome, error, "
        "temperature, input_tokens, output_tokens, latency_ms, cost_usd, cache_hit, breaker_state, "
        "perturbation, decision, tool_runs "
        "FROM agentbus.invocations FINAL WHERE request_id = {rid:String} "
        "ORDER BY task_id, attempt",
        request_id,
    )
    result_columns = (
        "SELECT occurred_at, task_id, agent, status, output, error, disclaimer, model, attempts, "
        "input_tokens, output_tokens, cost_usd, latency_ms, answered_by"
    )
    results = _rows(reader, f"{result_columns} FROM agentbus.results FINAL {where}", request_id)
    steps = _rows(reader, f"{result_columns} FROM agentbus.step_results FINAL {where}", request_id)
    dead = _rows(
        reader,
        f"SELECT occurred_at, producer, error_type, reason, source_topic, source_partition, "
        f"source_offset FROM agentbus.dead_letters FINAL {where}",
        request_id,
    )
    breakers = _rows(reader, BREAKERS_DURING_REQUEST_SQL, request_id)
    flow = _rows(reader, f"{WORKFLOW_EVENTS_SQL} {where}", request_id)
    return RequestTrace(
        requests[0] if requests else None, tasks, invocations, results, dead, breakers, steps, flow
    )


WORKFLOW_EVENTS_SQL = """
SELECT occurred_at, workflow, topology, kind, step, agent, task_id, status, detail,
       depends_on, hop, path, dedup_key, duration_ms, deadline_at, model, attempts, cost_usd
FROM agentbus.workflow_events FINAL
"""


# Breaker transitions of the agents a request used, while it was being served.
BREAKERS_DURING_REQUEST_SQL = """
SELECT occurred_at, key, from_state, to_state, reason, replica
FROM agentbus.breaker_events FINAL
WHERE kind = 'transition'
  AND agent IN (SELECT agent FROM agentbus.invocations WHERE request_id = {rid:String})
  AND occurred_at BETWEEN
      (SELECT min(occurred_at) - INTERVAL 1 SECOND FROM agentbus.tasks
       WHERE request_id = {rid:String})
  AND (SELECT max(occurred_at) + INTERVAL 1 SECOND FROM agentbus.results
       WHERE request_id = {rid:String})
ORDER BY occurred_at
"""


AGENT_SUMMARY_SQL = """
SELECT
    r.agent AS agent,
    count() AS results,
    countIf(r.status = 'ok') AS ok,
    countIf(r.status != 'ok') AS not_ok,
    round(avg(r.attempts), 2) AS attempts,
    toUInt32(quantile(0.5)(r.latency_ms)) AS p50_ms,
    toUInt32(quantile(0.95)(r.latency_ms)) AS p95_ms,
    sum(r.input_tokens + r.output_tokens) AS tokens,
    round(sum(r.cost_usd), 4) AS usd
FROM agentbus.results AS r FINAL
{where}
GROUP BY agent
ORDER BY results DESC
"""


def agent_summary(reader: Reader, since: str | None = None) -> tuple[list[str], list[list[Any]]]:
    """Per-agent outcome, latency, tokens and cost; ``since`` is an ISO time filter."""
    where = "WHERE r.occurred_at >= parseDateTime64BestEffort({since:String}, 3)" if since else ""
    result = reader.query(
        AGENT_SUMMARY_SQL.format(where=where), {"since": since} if since else None
    )
    return result.columns, result.rows


@dataclass
class TopologySummary:
    """What each topology did, read back from ClickHouse (``agentbus demo``'s summary).

    Tables as (columns, rows): ``edges`` (producer → consumer, tasks handed on),
    ``stages`` (pipeline, stage, items, p50 and p95 ms, drops), ``flows`` (flow,
    topology, runs, outcome counts, mean and max ms) and ``figures``: one row per
    topology with its headline numbers (``parallelism``: the most DAG steps one
    completion released at once; ``hops``: mesh hops dispatched; ``max_hop``; cycles,
    hop caps, duplicates, compensations, drops).
    """

    edges: tuple[list[str], list[list[Any]]]
    stages: tuple[list[str], list[list[Any]]]
    flows: tuple[list[str], list[list[Any]]]
    figures: dict[str, int]


# Tasks an edge handed on carry the agents before them in their chain metadata.
EDGES_FIRED_SQL = f"""
SELECT arrayElement(splitByChar(',', metadata['{CHAIN}']), -1) AS producer, agent AS consumer,
       count() AS handed_on
FROM agentbus.tasks FINAL
WHERE metadata['{CHAIN}'] != '' {{and_ids}}
GROUP BY producer, consumer
ORDER BY handed_on DESC
"""

STAGES_SQL = """
SELECT workflow, step,
       countIf(kind = 'completed') AS items,
       toUInt32(quantileIf(0.5)(duration_ms, kind = 'completed')) AS p50_ms,
       toUInt32(quantileIf(0.95)(duration_ms, kind = 'completed')) AS p95_ms,
       countIf(kind = 'queued') AS queued,
       countIf(kind = 'dropped') AS dropped,
       countIf(kind = 'rejected') AS rejected
FROM agentbus.workflow_events FINAL
WHERE topology = 'pipeline' AND step IS NOT NULL {and_ids}
GROUP BY workflow, step
ORDER BY workflow, minIf(occurred_at, kind != 'planned')
"""

FLOWS_SQL = """
SELECT workflow, topology, count() AS runs,
       countIf(status = 'ok') AS ok,
       countIf(status = 'partial') AS partial,
       countIf(status = 'dropped') AS dropped,
       countIf(status NOT IN ('ok', 'partial', 'dropped')) AS failed,
       toUInt32(avg(duration_ms)) AS mean_ms,
       toUInt32(max(duration_ms)) AS max_ms
FROM agentbus.workflow_events FINAL
WHERE kind = 'finished' {and_ids}
GROUP BY workflow, topology
ORDER BY topology, workflow
"""

FIGURES_SQL = """
SELECT
    countIf(kind = 'dispatched' AND topology = 'mesh') AS hops,
    maxIf(hop, topology = 'mesh') AS max_hop,
    countIf(kind = 'cycle') AS cycles,
    countIf(kind = 'hop_cap') AS hop_caps,
    countIf(kind = 'duplicate') AS duplicates,
    countIf(kind = 'unanswered') AS unanswered,
    countIf(kind = 'compensated') AS compensations,
    countIf(kind = 'dropped') AS drops,
    countIf(kind = 'synthesized') AS syntheses,
    countIf(kind = 'synthesized' AND position(detail, ': no conflicts') = 0) AS conflicts_settled
FROM agentbus.workflow_events FINAL
WHERE 1 {and_ids}
"""

# A DAG step is dispatched when its last dependency completes: the steps one event
# dispatched share its timestamp, so the widest such group is the parallelism reached.
PARALLELISM_SQL = """
SELECT max(together) FROM (
    SELECT request_id, occurred_at, count() AS together
    FROM agentbus.workflow_events FINAL
    WHERE topology = 'hierarchical' AND kind = 'dispatched'
      AND NOT startsWith(ifNull(step, ''), 'compensate:') {and_ids}
    GROUP BY request_id, occurred_at
)
"""


def topology_summary(reader: Reader, ids: list[str] | None = None) -> TopologySummary:
    """Each topology's figures, over the requests ``ids`` (every request when None)."""
    params = {"ids": ids} if ids is not None else None
    and_ids = "AND has({ids:Array(String)}, request_id)" if ids is not None else ""

    def table(sql: str) -> tuple[list[str], list[list[Any]]]:
        result = reader.query(sql.format(and_ids=and_ids), params)
        return result.columns, [list(row) for row in result.rows]

    columns, [row] = table(FIGURES_SQL)
    _, [[parallel]] = table(PARALLELISM_SQL)
    figures = {name: int(value or 0) for name, value in zip(columns, row, strict=True)}
    return TopologySummary(
        edges=table(EDGES_FIRED_SQL),
        stages=table(STAGES_SQL),
        flows=table(FLOWS_SQL),
        figures={**figures, "parallelism": int(parallel or 0)},
    )
