"""The questions agentbus asks ClickHouse itself: a request's trace, a run's summary.

Every read uses ``FINAL`` so redelivered events (same ``event_id``) count once
even before the engine has merged them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.records import CHAIN
from streams.warehouse.access import Reader

__all__ = ["RequestTrace", "agent_summary", "load_trace"]


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
