"""Run a panel's SQL against the store, and check the result has the shape its
visualisation needs: what Grafana would draw, checked without Grafana."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from streams.dashboards.macros import Selection, TimeRange, expand
from streams.dashboards.model import Dashboard, Panel, PanelKind, QueryVariable

__all__ = [
    "PanelData",
    "Reader",
    "column_kind",
    "query_panel",
    "shape_problems",
    "variable_selections",
]


class _Result(Protocol):
    columns: list[str]
    rows: list[list[Any]]


class Reader(Protocol):
    """What runs SQL: :class:`streams.warehouse.Warehouse` or the gateway's client."""

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> Any: ...


@dataclass(frozen=True)
class PanelData:
    """A panel's expanded SQL and what it returned, with ClickHouse column types."""

    dashboard: str
    panel: Panel
    sql: str
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]

    @property
    def problems(self) -> list[str]:
        return shape_problems(self.panel.kind, self.types)


_NUMERIC = re.compile(r"^(U?Int\d+|Float\d+|Decimal.*|Bool)$")
_TIME = re.compile(r"^(DateTime.*|Date\d*)$")
_TEXT = re.compile(r"^(String|FixedString.*|UUID|Enum.*)$")
_WRAPPERS = re.compile(r"^(Nullable|LowCardinality)\((.*)\)$")


def column_kind(clickhouse_type: str) -> str:
    """``number``, ``time``, ``text`` or ``other`` for a ClickHouse column type."""
    inner = clickhouse_type.strip()
    while match := _WRAPPERS.match(inner):
        inner = match[2]
    if _NUMERIC.match(inner):
        return "number"
    if _TIME.match(inner):
        return "time"
    if _TEXT.match(inner):
        return "text"
    return "other"


def shape_problems(kind: PanelKind, types: list[str]) -> list[str]:
    """Why a result of ``types`` cannot be drawn as ``kind`` (empty when it can)."""
    kinds = [column_kind(t) for t in types]
    if not kinds:
        return ["no columns"]
    problems = []
    if kind == "timeseries":
        if kinds[0] != "time":
            problems.append(f"first column is {types[0]}, not a time")
        if "number" not in kinds[1:]:
            problems.append("no numeric value column")
        # String columns label the series: the plugin turns a long frame wide.
        problems += [
            f"column {i} is {types[i]}" for i, k in enumerate(kinds[1:], 1) if k == "other"
        ]
    elif kind == "stat":
        problems += [
            f"column {i} is {types[i]}, not a number" for i, k in enumerate(kinds) if k != "number"
        ]
    elif kind == "barchart":
        if kinds[0] not in ("text", "time"):
            problems.append(f"first column is {types[0]}, not a label")
        if not kinds[1:] or any(k != "number" for k in kinds[1:]):
            problems.append("bar values must be numbers")
    return problems


def variable_selections(
    reader: Reader,
    variables: tuple[QueryVariable, ...],
    chosen: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, Selection]:
    """Each variable's options (its query run) and value: ``chosen`` or All."""
    selections = {}
    for variable in variables:
        options = tuple(str(row[0]) for row in reader.query(variable.sql).rows)
        values = (chosen or {}).get(variable.name)
        selections[variable.name] = Selection(values or Selection().values, options)
    return selections


def query_panel(
    reader: Reader,
    dashboard: Dashboard,
    panel: Panel,
    *,
    time_range: TimeRange,
    interval_s: int,
    variables: Mapping[str, Selection],
) -> PanelData:
    """Expand and run the panel's (first) query; column types come from ``DESCRIBE``,
    which also names the columns of an empty result."""
    sql = expand(
        panel.targets[0].sql, time_range=time_range, interval_s=interval_s, variables=variables
    )
    described = reader.query(f"DESCRIBE TABLE ({sql})").rows
    result = reader.query(sql)
    return PanelData(
        dashboard.uid,
        panel,
        sql,
        [str(row[0]) for row in described],
        [str(row[1]) for row in described],
        [list(row) for row in result.rows],
    )
