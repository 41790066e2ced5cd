"""The typed shape of a dashboard: what a panel shows and the SQL behind it.

Only what agentbus's dashboards use is modelled; :meth:`Dashboard.to_json` writes the
JSON Grafana 10+ imports, with every query addressed to the official ClickHouse plugin
(``grafana-clickhouse-datasource``) through the dashboard's ``datasource`` variable, so
one file works against any ClickHouse data source a user has provisioned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "DATASOURCE_REF",
    "PLUGIN_ID",
    "Annotation",
    "Dashboard",
    "Panel",
    "PanelKind",
    "QueryVariable",
    "Target",
    "barchart",
    "stat",
    "table",
    "timeseries",
]

PLUGIN_ID: Final = "grafana-clickhouse-datasource"
DATASOURCE_REF: Final[dict[str, str]] = {"type": PLUGIN_ID, "uid": "${datasource}"}

# The plugin's backend format option (grafana-plugin-sdk-go sqlutil.FormatQueryOption):
# 0 time series (a long frame, with string label columns, is turned wide by the plugin),
# 1 table.
_FORMAT = {"timeSeries": 0, "table": 1}

PanelKind = Literal["timeseries", "stat", "table", "barchart"]
QueryType = Literal["table", "timeSeries"]

_GRID_WIDTH: Final = 24


@dataclass(frozen=True)
class Target:
    """One SQL query of a panel, in the plugin's raw-SQL editor."""

    sql: str
    """ClickHouse SQL with the plugin's macros (``$__timeFilter(col)``...) and variables."""
    query_type: QueryType = "table"
    ref_id: str = "A"

    def to_json(self) -> dict[str, Any]:
        return {
            "datasource": dict(DATASOURCE_REF),
            "editorType": "sql",
            "format": _FORMAT[self.query_type],
            "queryType": self.query_type,
            "rawSql": self.sql.strip(),
            "refId": self.ref_id,
        }


@dataclass(frozen=True)
class Panel:
    """A visualisation with its queries; ``kind`` decides which columns it needs."""

    title: str
    kind: PanelKind
    targets: tuple[Target, ...]
    description: str = ""
    unit: str | None = None
    width: int = 12
    height: int = 8
    stacked: bool = False
    expect_rows: bool = True
    """False for a panel that is empty on a healthy system (e.g. misroutes, hop caps)."""

    def to_json(self, panel_id: int, x: int, y: int) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        if self.unit:
            defaults["unit"] = self.unit
        custom: dict[str, Any] = {}
        if self.kind == "timeseries":
            custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}
            if self.stacked:
                custom["stacking"] = {"mode": "normal", "group": "A"}
        options: dict[str, Any] = {}
        if self.kind == "stat":
            options = {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "value",
                "graphMode": "none",
                "textMode": "auto",
            }
        elif self.kind == "table":
            options = {"showHeader": True, "cellHeight": "sm"}
        elif self.kind == "timeseries":
            options = {
                "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max"]},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }
        return {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": dict(DATASOURCE_REF),
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "fieldConfig": {"defaults": {**defaults, "custom": custom}, "overrides": []},
            "options": options,
            "targets": [t.to_json() for t in self.targets],
        }


@dataclass(frozen=True)
class QueryVariable:
    """A multi-value dashboard variable filled by a query, ``All`` selected by default.

    Panels filter with ``$__conditionalAll(col IN (${name:singlequote}), $name)``: the
    plugin turns the condition into ``1=1`` when All is selected.
    """

    name: str
    label: str
    sql: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": "query",
            "datasource": dict(DATASOURCE_REF),
            "definition": self.sql,
            "query": {
                "editorType": "sql",
                "queryType": "table",
                "rawSql": self.sql,
                "refId": self.name,
            },
            "multi": True,
            "includeAll": True,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "refresh": 2,
            "sort": 1,
            "hide": 0,
            "regex": "",
            "options": [],
        }


@dataclass(frozen=True)
class Annotation:
    """Events drawn on every time-series panel; the SQL returns ``time``, ``text``, ``tags``."""

    name: str
    sql: str
    color: str = "red"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "datasource": dict(DATASOURCE_REF),
            "enable": True,
            "hide": False,
            "iconColor": self.color,
            "target": Target(self.sql, "table", "Anno").to_json(),
        }


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: panels laid out left to right in Grafana's 24-column grid."""

    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[QueryVariable, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    tags: tuple[str, ...] = ("agentbus",)
    time_from: str = "now-1h"
    refresh: str = "30s"

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": "utc",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": 39,
            "version": 1,
            "time": {"from": self.time_from, "to": "now"},
            "refresh": self.refresh,
            # Every agentbus dashboard links to the others (by their shared tag).
            "links": [
                {
                    "type": "dashboards",
                    "tags": ["agentbus"],
                    "asDropdown": True,
                    "title": "agentbus",
                }
            ],
            "templating": {
                "list": [_datasource_variable(), *(v.to_json() for v in self.variables)]
            },
            "annotations": {
                "list": [_builtin_annotation(), *(a.to_json() for a in self.annotations)]
            },
            "panels": self._laid_out(),
        }

    def _laid_out(self) -> list[dict[str, Any]]:
        panels, x, y, row_height = [], 0, 0, 0
        for number, panel in enumerate(self.panels, start=1):
            if x + panel.width > _GRID_WIDTH:
                x, y, row_height = 0, y + row_height, 0
            panels.append(panel.to_json(number, x, y))
            x += panel.width
            row_height = max(row_height, panel.height)
        return panels


def _datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "ClickHouse",
        "type": "datasource",
        "query": PLUGIN_ID,
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
    }


def _builtin_annotation() -> dict[str, Any]:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


def timeseries(
    title: str,
    sql: str,
    *,
    description: str = "",
    unit: str | None = None,
    width: int = 12,
    stacked: bool = False,
    expect_rows: bool = True,
) -> Panel:
    """A time series: the first column ``time``, then numbers; string columns label series."""
    return Panel(
        title,
        "timeseries",
        (Target(sql, "timeSeries"),),
        description,
        unit,
        width,
        stacked=stacked,
        expect_rows=expect_rows,
    )


def stat(
    title: str, sql: str, *, description: str = "", unit: str | None = None, width: int = 6
) -> Panel:
    """One number (the query returns one row of numeric columns)."""
    return Panel(title, "stat", (Target(sql),), description, unit, width, height=4)


def table(
    title: str,
    sql: str,
    *,
    description: str = "",
    unit: str | None = None,
    width: int = 12,
    expect_rows: bool = True,
) -> Panel:
    """Rows as they come."""
    return Panel(title, "table", (Target(sql),), description, unit, width, expect_rows=expect_rows)


def barchart(
    title: str, sql: str, *, description: str = "", unit: str | None = None, width: int = 12
) -> Panel:
    """Bars: the first column names each bar, the others are numbers."""
    return Panel(title, "barchart", (Target(sql),), description, unit, width)
