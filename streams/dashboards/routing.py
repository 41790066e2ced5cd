"""Routing: which agent the star hub chose, how sure it was, and where it likely erred."""

from __future__ import annotations

from streams.dashboards._common import AGENT, TENANT, VARIABLES
from streams.dashboards.model import Dashboard, barchart, stat, table, timeseries

__all__ = ["dashboard"]

_TASKS = f"agentbus.tasks FINAL WHERE $__timeFilter(occurred_at) AND {TENANT} AND {AGENT}"
# Suspected misroute: a caller labelled the request for another agent (metadata
# `expected_agent`, set by evaluation traffic and the reference workload), or the
# router was unsure. Specialists dead-letter the tasks they refuse as `misrouted`.
_LABELLED = "metadata['expected_agent'] != ''"
_SUSPECT = f"({_LABELLED} AND metadata['expected_agent'] != agent) OR routing_confidence < 0.5"


def dashboard() -> Dashboard:
    return Dashboard(
        uid="agentbus-routing",
        title="agentbus / Routing",
        description="Routing decisions, their confidence, suspected misroutes, router model.",
        variables=VARIABLES,
        panels=(
            stat("Decisions", f"SELECT count() AS decisions FROM {_TASKS}"),
            stat(
                "Mean confidence",
                f"SELECT avg(routing_confidence) AS confidence FROM {_TASKS}",
                unit="percentunit",
            ),
            stat(
                "Labelled accuracy",
                f"SELECT countIf({_LABELLED} AND metadata['expected_agent'] = agent) "
                f"/ greatest(countIf({_LABELLED}), 1) AS accuracy FROM {_TASKS}",
                unit="percentunit",
            ),
            stat(
                "Suspected misroutes",
                f"SELECT countIf({_SUSPECT}) AS suspected, "
                "(SELECT count() FROM agentbus.dead_letters FINAL "
                "WHERE $__timeFilter(occurred_at) AND error_type = 'misrouted') AS refused "
                f"FROM {_TASKS}",
            ),
            timeseries(
                "Decisions per agent",
                f"""
SELECT $__timeInterval(occurred_at) AS time, agent, count() AS decisions
FROM {_TASKS}
GROUP BY time, agent ORDER BY time""",
                stacked=True,
            ),
            timeseries(
                "Confidence per agent",
                f"""
SELECT $__timeInterval(occurred_at) AS time, agent,
       avg(routing_confidence) AS mean, min(routing_confidence) AS lowest
FROM {_TASKS}
GROUP BY time, agent ORDER BY time""",
                unit="percentunit",
            ),
            barchart(
                "Confidence distribution",
                f"""
SELECT toString(floor(routing_confidence, 1)) AS confidence, count() AS decisions
FROM {_TASKS}
GROUP BY confidence ORDER BY confidence""",
            ),
            table(
                "Router model versions",
                f"""
SELECT ifNull(routing_model_version, 'rules / keywords') AS router, count() AS decisions,
       round(avg(routing_confidence), 3) AS mean_confidence,
       min(occurred_at) AS first_seen, max(occurred_at) AS last_seen
FROM {_TASKS}
GROUP BY router ORDER BY last_seen DESC""",
            ),
            table(
                "Suspected misroutes",
                f"""
SELECT occurred_at AS time, request_id, agent AS routed_to,
       metadata['expected_agent'] AS expected, round(routing_confidence, 3) AS confidence,
       ifNull(routing_model_version, '') AS router_model, routing_reason
FROM {_TASKS} AND ({_SUSPECT})
ORDER BY time DESC LIMIT 200""",
                width=24,
                expect_rows=False,
            ),
        ),
    )
