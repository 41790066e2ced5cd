"""Cost: what each agent, model, tier and tenant spends, and where budgets cut answers."""

from __future__ import annotations

from streams.dashboards._common import AGENT, TENANT, VARIABLES
from streams.dashboards.model import Dashboard, Panel, stat, table, timeseries

__all__ = ["dashboard"]

# One row per model attempt (cached and refused attempts cost 0): the finest grain of spend.
_CALLS = f"agentbus.invocations FINAL WHERE $__timeFilter(occurred_at) AND {TENANT} AND {AGENT}"

# How the token budget shows in an attempt: refused outright (outcome skipped, "token
# budget exhausted"), its output capped before the call, or its answer cut short (partial).
_REFUSED = "outcome = 'skipped' AND ifNull(error, '') LIKE '%token budget%'"
_CAPPED = "ifNull(decision, '') LIKE '%by the token budget%'"
_CUT = "outcome = 'partial'"


def _spend_by(column: str, title: str) -> Panel:
    return timeseries(
        title,
        f"""
SELECT $__timeInterval(occurred_at) AS time, {column}, sum(cost_usd) AS cost_usd
FROM {_CALLS}
GROUP BY time, {column} ORDER BY time""",
        unit="currencyUSD",
        stacked=True,
    )


def dashboard() -> Dashboard:
    return Dashboard(
        uid="agentbus-cost",
        title="agentbus / Cost",
        description="Spend per agent, model, tier and tenant over time; token-budget cuts.",
        variables=VARIABLES,
        panels=(
            stat("Spend", f"SELECT sum(cost_usd) AS cost_usd FROM {_CALLS}", unit="currencyUSD"),
            stat(
                "Cost per request",
                f"SELECT sum(cost_usd) / greatest(uniqExact(request_id), 1) AS usd FROM {_CALLS}",
                unit="currencyUSD",
            ),
            stat(
                "Tokens",
                f"SELECT sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens "
                f"FROM {_CALLS}",
            ),
            stat(
                "Budget cuts",
                f"SELECT countIf({_REFUSED}) + countIf({_CAPPED}) + countIf({_CUT}) AS cuts "
                f"FROM {_CALLS}",
            ),
            _spend_by("agent", "Spend per agent"),
            _spend_by("model", "Spend per model"),
            _spend_by("tier", "Spend per tier"),
            _spend_by("tenant", "Spend per tenant"),
            timeseries(
                "Budget cuts",
                f"""
SELECT $__timeInterval(occurred_at) AS time,
       countIf({_REFUSED}) AS calls_refused, countIf({_CAPPED}) AS outputs_capped,
       countIf({_CUT}) AS answers_cut_short
FROM {_CALLS}
GROUP BY time ORDER BY time""",
                description="Attempts the agent's token budget refused, capped or cut short.",
            ),
            table(
                "Spend by agent, model and tier",
                f"""
SELECT agent, model, tier, count() AS attempts, sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens, round(sum(cost_usd), 6) AS spend_usd,
       round(sum(cost_usd) / greatest(countIf(outcome NOT IN ('cached', 'skipped')), 1), 6)
           AS usd_per_call,
       countIf({_REFUSED}) AS budget_refused, countIf({_CAPPED}) AS budget_capped,
       countIf({_CUT}) AS budget_cut, max(ifNull(budget_used, 0)) AS max_budget_used
FROM {_CALLS}
GROUP BY agent, model, tier ORDER BY spend_usd DESC""",
            ),
        ),
    )
