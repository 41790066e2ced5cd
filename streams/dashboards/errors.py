"""Errors of the dashboards package: building, expanding, publishing, reporting."""

from __future__ import annotations

from streams.errors import StreamsError

__all__ = ["DashboardError", "MacroError", "PushError"]


class DashboardError(StreamsError):
    """Root of every error :mod:`streams.dashboards` raises; names the dashboard or panel."""


class MacroError(DashboardError):
    """A panel's SQL uses a macro the ClickHouse plugin does not know, or with the wrong
    arguments; fixing the SQL is the only remedy."""


class PushError(DashboardError):
    """Grafana refused or did not answer a publish; retriable (a Grafana that is
    restarting answers the next push)."""

    retriable = True
