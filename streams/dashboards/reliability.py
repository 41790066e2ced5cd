"""Reliability: retries and what they changed, fallbacks, breakers, dead letters."""

from __future__ import annotations

from streams.dashboards._common import AGENT, TENANT, VARIABLES
from streams.dashboards.model import Annotation, Dashboard, stat, table, timeseries

__all__ = ["dashboard"]

_CALLS = f"agentbus.invocations FINAL WHERE $__timeFilter(occurred_at) AND {TENANT} AND {AGENT}"
_RESULTS = f"agentbus.results FINAL WHERE $__timeFilter(occurred_at) AND {TENANT} AND {AGENT}"
_BREAKERS = (
    "agentbus.breaker_events FINAL "
    f"WHERE $__timeFilter(occurred_at) AND kind = 'transition' AND {AGENT}"
)
# Dead letters carry no tenant or agent: a malformed event may name neither.
_DEAD = "agentbus.dead_letters FINAL WHERE $__timeFilter(occurred_at)"

BREAKER_ANNOTATION = Annotation(
    "Breaker transitions",
    f"""
SELECT occurred_at AS time,
       concat(key, ': ', ifNull(from_state, '?'), ' → ', ifNull(to_state, '?'), ' (', reason, ')')
           AS text,
       [agent, ifNull(to_state, '')] AS tags
FROM {_BREAKERS}
ORDER BY time""",
    color="orange",
)


def dashboard() -> Dashboard:
    return Dashboard(
        uid="agentbus-reliability",
        title="agentbus / Reliability",
        description="Retries and perturbations, fallbacks, circuit breakers, dead letters.",
        variables=VARIABLES,
        annotations=(BREAKER_ANNOTATION,),
        panels=(
            stat("Retries", f"SELECT countIf(attempt > 1) AS retries FROM {_CALLS}"),
            stat(
                "Fallback answers",
                f"SELECT countIf(answered_by IS NOT NULL) AS fallbacks FROM {_RESULTS}",
            ),
            stat("Breaker transitions", f"SELECT count() AS transitions FROM {_BREAKERS}"),
            stat("Dead letters", f"SELECT count() AS dead_letters FROM {_DEAD}"),
            timeseries(
                "Retries and perturbations per agent",
                f"""
SELECT $__timeInterval(occurred_at) AS time, agent,
       countIf(attempt > 1) AS retries, countIf(perturbation IS NOT NULL) AS perturbed
FROM {_CALLS}
GROUP BY time, agent ORDER BY time""",
            ),
            timeseries(
                "Attempt outcomes",
                f"""
SELECT $__timeInterval(occurred_at) AS time, outcome, count() AS attempts
FROM {_CALLS}
GROUP BY time, outcome ORDER BY time""",
                stacked=True,
            ),
            timeseries(
                "Fallbacks and degraded answers",
                f"""
SELECT $__timeInterval(occurred_at) AS time, agent,
       countIf(answered_by IS NOT NULL) AS fallbacks, countIf(status = 'degraded') AS degraded,
       countIf(status = 'failed') AS failed
FROM {_RESULTS}
GROUP BY time, agent ORDER BY time""",
            ),
            timeseries(
                "Dead letters by reason",
                f"""
SELECT $__timeInterval(occurred_at) AS time, error_type, count() AS dead_letters
FROM {_DEAD}
GROUP BY time, error_type ORDER BY time""",
                stacked=True,
            ),
            table(
                "What retries changed",
                f"""
SELECT agent, perturbation, count() AS attempts, countIf(outcome = 'ok') AS then_ok
FROM {_CALLS} AND perturbation IS NOT NULL
GROUP BY agent, perturbation ORDER BY attempts DESC LIMIT 50""",
            ),
            table(
                "Breaker transitions",
                f"""
SELECT occurred_at AS time, key, from_state, to_state, reason, replica
FROM {_BREAKERS}
ORDER BY time DESC LIMIT 200""",
            ),
            table(
                "Dead letters",
                f"""
SELECT error_type, source_topic, count() AS dead_letters, max(occurred_at) AS last_seen,
       any(reason) AS example_reason
FROM {_DEAD}
GROUP BY error_type, source_topic ORDER BY dead_letters DESC""",
                width=24,
            ),
        ),
    )
