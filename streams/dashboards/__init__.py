"""Grafana dashboards as code, and the same panels rendered without Grafana.

A dashboard is a :class:`~streams.dashboards.model.Dashboard` built by one module per
dashboard (``overview``, ``cost``, ``reliability``, ``cache``, ``routing``,
``topologies``); :mod:`~streams.dashboards.catalog` writes them as the JSON committed in
``dashboards/``. :mod:`~streams.dashboards.macros` expands a panel's SQL the way the
ClickHouse plugin does, so tests and ``agentbus report`` run the very same queries.
"""

from streams.dashboards.catalog import all_dashboards, render, write_all
from streams.dashboards.errors import DashboardError, MacroError, PushError
from streams.dashboards.macros import ALL, Selection, TimeRange, auto_interval, expand
from streams.dashboards.model import Dashboard, Panel, Target

__all__ = [
    "ALL",
    "Dashboard",
    "DashboardError",
    "MacroError",
    "Panel",
    "PushError",
    "Selection",
    "Target",
    "TimeRange",
    "all_dashboards",
    "auto_interval",
    "expand",
    "render",
    "write_all",
]
