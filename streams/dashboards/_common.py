"""Pieces every agentbus dashboard shares: its variables and their filters.

Counting is ReplacingMergeTree-correct: a redelivered event is a second row until a
background merge collapses it, so every panel reads its table ``FINAL``.
"""

from __future__ import annotations

from typing import Final

from streams.dashboards.model import QueryVariable

TENANT_VARIABLE: Final = QueryVariable(
    "tenant", "Tenant", "SELECT DISTINCT tenant FROM agentbus.requests ORDER BY tenant"
)
AGENT_VARIABLE: Final = QueryVariable(
    "agent", "Agent", "SELECT DISTINCT agent FROM agentbus.invocations ORDER BY agent"
)
VARIABLES: Final = (TENANT_VARIABLE, AGENT_VARIABLE)

TENANT: Final = "$__conditionalAll(tenant IN (${tenant:singlequote}), $tenant)"
"""The tenant filter: ``1=1`` when All is selected."""
AGENT: Final = "$__conditionalAll(agent IN (${agent:singlequote}), $agent)"
"""The agent filter: ``1=1`` when All is selected."""
