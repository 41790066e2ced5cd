"""Overview: traffic, outcomes and latency at a glance."""

from __future__ import annotations

from streams.dashboards._common import AGENT, TENANT, VARIABLES
from streams.dashboards.model import Dashboard, stat, table, timeseries

__all__ = ["dashboard"]

_RESULTS = f"agentbus.results FINAL WHERE $__timeFilter(occurred_at) AND {TENANT} AND {AGENT}"


def dashboard() -> Dashboard:
    return Dashboard(
        uid="agentbus-overview",
        title="agentbus / Overview",
        description="Requests in, results out, and how long agents take.",
        variables=VARIABLES,
        panels=(
            stat(
                "Requests",
                "SELECT count() AS requests FROM agentbus.requests FINAL "
                f"WHERE $__timeFilter(occurred_at) AND {TENANT}",
            ),
            stat(
                "Answered ok",
                f"SELECT countIf(status = 'ok') / greatest(count(), 1) AS ok_share FROM {_RESULTS}",
                unit="percentunit",
            ),
            stat(
                "p95 latency",
                f"SELECT quantile(0.95)(latency_ms) AS p95_ms FROM {_RESULTS}",
                unit="ms",
            ),
            stat("Cost", f"SELECT sum(cost_usd) AS cost_usd FROM {_RESULTS}", unit="currencyUSD"),
            timeseries(
                "Requests per second",
                f"""
SELECT $__timeInterval(occurred_at) AS time, count() / $__interval_s AS requests_per_s
FROM agentbus.requests FINAL
WHERE $__timeFilter(occurred_at) AND {TENANT}
GROUP BY time ORDER BY time""",
                unit="reqps",
            ),
            timeseries(
                "Results by status",
                f"""
SELECT $__timeInterval(occurred_at) AS time, status, count() AS results
FROM {_RESULTS}
GROUP BY time, status ORDER BY time""",
                stacked=True,
            ),
            timeseries(
                "Latency p50 / p95 / p99 per agent",
                f"""
SELECT $__timeInterval(occurred_at) AS time, agent,
       quantile(0.5)(latency_ms) AS p50, quantile(0.95)(latency_ms) AS p95,
       quantile(0.99)(latency_ms) AS p99
FROM {_RESULTS}
GROUP BY time, agent ORDER BY time""",
                unit="ms",
                width=24,
            ),
            table(
                "Agents",
                f"""
SELECT agent, count() AS results, countIf(status = 'ok') AS ok,
       countIf(status != 'ok') AS not_ok, round(avg(attempts), 2) AS avg_attempts,
       round(quantile(0.5)(latency_ms), 1) AS p50_ms,
       round(quantile(0.95)(latency_ms), 1) AS p95_ms,
       round(quantile(0.99)(latency_ms), 1) AS p99_ms, round(sum(cost_usd), 6) AS cost_usd
FROM {_RESULTS}
GROUP BY agent ORDER BY results DESC""",
                width=24,
            ),
        ),
    )
