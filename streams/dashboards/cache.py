"""Cache: how often an answer came from the result cache, per agent, and what it saved."""

from __future__ import annotations

from streams.dashboards._common import AGENT, TENANT, VARIABLES
from streams.dashboards.model import Dashboard, stat, table, timeseries

__all__ = ["dashboard"]

_CALLS = f"agentbus.invocations FINAL WHERE $__timeFilter(occurred_at) AND {TENANT} AND {AGENT}"
# A task makes one cache lookup, however many attempts follow a miss; the hit rate is
# hits over the tasks of agents that have a cache (agents without one never hit).
_CACHING = (
    f"{_CALLS} AND agent IN (SELECT DISTINCT agent FROM agentbus.invocations WHERE cache_hit)"
)


def dashboard() -> Dashboard:
    return Dashboard(
        uid="agentbus-cache",
        title="agentbus / Cache",
        description="Result-cache hit rate per agent and the model spend it avoided.",
        variables=VARIABLES,
        panels=(
            stat(
                "Hit rate",
                f"SELECT countIf(cache_hit) / greatest(uniqExact(task_id), 1) AS hit_rate "
                f"FROM {_CACHING}",
                unit="percentunit",
            ),
            stat("Hits", f"SELECT countIf(cache_hit) AS hits FROM {_CALLS}"),
            stat(
                "Spend avoided (est.)",
                f"SELECT countIf(cache_hit) * avgIf(cost_usd, outcome = 'ok') AS usd FROM {_CALLS}",
                unit="currencyUSD",
            ),
            stat(
                "Tokens avoided (est.)",
                "SELECT countIf(cache_hit) * avgIf(input_tokens + output_tokens, outcome = 'ok') "
                f"AS tokens FROM {_CALLS}",
            ),
            timeseries(
                "Hit rate per agent",
                f"""
SELECT $__timeInterval(occurred_at) AS time, agent,
       countIf(cache_hit) / greatest(uniqExact(task_id), 1) AS hit_rate
FROM {_CACHING}
GROUP BY time, agent ORDER BY time""",
                unit="percentunit",
            ),
            timeseries(
                "Hits and misses",
                f"""
SELECT $__timeInterval(occurred_at) AS time,
       countIf(cache_hit) AS hits, uniqExact(task_id) - countIf(cache_hit) AS misses
FROM {_CACHING}
GROUP BY time ORDER BY time""",
                stacked=True,
            ),
            table(
                "Cache per agent",
                f"""
SELECT agent, uniqExact(task_id) AS lookups, countIf(cache_hit) AS hits,
       round(countIf(cache_hit) / greatest(uniqExact(task_id), 1), 3) AS hit_rate,
       round(countIf(cache_hit) * avgIf(cost_usd, outcome = 'ok'), 6) AS usd_avoided_est
FROM {_CACHING}
GROUP BY agent ORDER BY hits DESC""",
                width=24,
            ),
        ),
    )
