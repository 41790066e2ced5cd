"""``agentbus report``: the dashboards' panels as one self-contained HTML page.

Each panel's SQL is expanded and run exactly as for Grafana (:mod:`.panels`); time
series and bar panels become PNG charts rendered from Vega-Lite by ``vl-convert``
(no browser, no network) and embedded as data URIs, so the page works offline.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.dashboards.catalog import all_dashboards
from streams.dashboards.errors import DashboardError
from streams.dashboards.macros import TimeRange, auto_interval, expand
from streams.dashboards.model import Dashboard, Panel
from streams.dashboards.panels import PanelData, Reader, column_kind, query_panel
from streams.dashboards.panels import variable_selections as _selections
from streams.errors import StreamsError

__all__ = ["PanelOutcome", "Report", "Summary", "chart_png", "collect", "render_html", "summarise"]

_TABLE_ROWS = 20


@dataclass(frozen=True)
class PanelOutcome:
    """A panel's data, or why it could not be queried."""

    dashboard: Dashboard
    panel: Panel
    data: PanelData | None
    error: str | None = None


@dataclass(frozen=True)
class Summary:
    """The figures the terminal summary prints."""

    requests: int
    results_by_status: dict[str, int]
    p95_latency_ms: float | None
    cost_usd: float
    dead_letters: int


@dataclass
class Report:
    time_range: TimeRange
    interval_s: int
    summary: Summary
    panels: list[PanelOutcome] = field(default_factory=list)


_SUMMARY_SQL = {
    "requests": "SELECT count() FROM agentbus.requests FINAL WHERE $__timeFilter(occurred_at)",
    "status": "SELECT status, count() FROM agentbus.results FINAL "
    "WHERE $__timeFilter(occurred_at) GROUP BY status ORDER BY status",
    "latency": "SELECT count(), quantile(0.95)(latency_ms), sum(cost_usd) FROM agentbus.results "
    "FINAL WHERE $__timeFilter(occurred_at)",
    "dead": "SELECT count() FROM agentbus.dead_letters FINAL WHERE $__timeFilter(occurred_at)",
}


def summarise(reader: Reader, time_range: TimeRange) -> Summary:
    def rows(name: str) -> list[list[Any]]:
        sql = expand(_SUMMARY_SQL[name], time_range=time_range, interval_s=60)
        return list(reader.query(sql).rows)

    results, p95, cost = rows("latency")[0]
    return Summary(
        requests=int(rows("requests")[0][0]),
        results_by_status={str(s): int(n) for s, n in rows("status")},
        p95_latency_ms=float(p95) if int(results) and _finite(p95) else None,
        cost_usd=float(cost or 0.0),
        dead_letters=int(rows("dead")[0][0]),
    )


def collect(reader: Reader, since: dt.timedelta, now: dt.datetime | None = None) -> Report:
    """Query every panel of every dashboard over the last ``since`` (variables on All)."""
    time_range = TimeRange.last(since, now)
    interval_s = auto_interval(time_range, max_points=120)
    report = Report(time_range, interval_s, summarise(reader, time_range))
    for dashboard in all_dashboards():
        selections = _selections(reader, dashboard.variables)
        for panel in dashboard.panels:
            try:
                data = query_panel(
                    reader,
                    dashboard,
                    panel,
                    time_range=time_range,
                    interval_s=interval_s,
                    variables=selections,
                )
            except StreamsError as exc:  # one broken panel must not hide the others
                report.panels.append(PanelOutcome(dashboard, panel, None, str(exc)))
                continue
            report.panels.append(PanelOutcome(dashboard, panel, data))
    return report


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _long_records(data: PanelData) -> list[dict[str, Any]]:
    """Rows as (x, series, value) records: text columns label series, each numeric
    column is a measure (the plugin's long-to-wide, done for Vega-Lite)."""
    kinds = [column_kind(t) for t in data.types]
    labels = [i for i, k in enumerate(kinds) if k == "text" and i > 0]
    measures = [i for i, k in enumerate(kinds) if k == "number" and i > 0]
    records = []
    for row in data.rows:
        label = " ".join(str(row[i]) for i in labels)
        for i in measures:
            value = _plain(row[i])
            if value is None:
                continue
            series = data.columns[i] if not label else f"{data.columns[i]} {label}"
            records.append({"x": _plain(row[0]), "series": series, "value": value})
    return records


def chart_png(data: PanelData, width: int = 560, height: int = 220) -> bytes | None:
    """A PNG of a time-series or bar panel; None for other kinds or no data."""
    records = _long_records(data)
    if not records or data.panel.kind not in ("timeseries", "barchart"):
        return None
    if data.panel.kind == "timeseries":
        mark: dict[str, Any] = {"type": "line", "point": len(data.rows) < 3}
        x = {"field": "x", "type": "temporal", "title": None}
    else:
        mark = {"type": "bar"}
        x = {"field": "x", "type": "nominal", "title": data.columns[0]}
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": width,
        "height": height,
        "background": "white",
        "data": {"values": records},
        "mark": mark,
        "encoding": {
            "x": x,
            "y": {"field": "value", "type": "quantitative", "title": data.panel.unit or None},
            "color": {"field": "series", "type": "nominal", "title": None},
        },
    }
    try:
        # Imported here: the renderer is a large native library only `report` needs.
        import vl_convert  # noqa: PLC0415

        return bytes(vl_convert.vegalite_to_png(spec, scale=1.0))
    except ValueError as exc:
        raise DashboardError(f"chart of panel {data.panel.title!r} failed: {exc}") from exc


def _cell(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, float):
        return f"{value:,.6g}"
    return html.escape("" if value is None else str(value))


def _table_html(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _panel_html(outcome: PanelOutcome) -> str:
    panel, data = outcome.panel, outcome.data
    title = f"<h3>{html.escape(panel.title)}</h3>"
    if data is None:
        error = html.escape(outcome.error or "")
        return f'<div class="panel">{title}<p class="error">{error}</p></div>'
    if not data.rows:
        return f'<div class="panel">{title}<p class="empty">no data in this range</p></div>'
    if panel.kind == "stat":
        figures = "".join(
            f'<div class="stat"><span>{_cell(v)}</span><small>{html.escape(c)}</small></div>'
            for c, v in zip(data.columns, data.rows[0], strict=True)
        )
        return f'<div class="panel small">{title}{figures}</div>'
    png = chart_png(data)
    if png is not None:
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        alt = html.escape(panel.title)
        return f'<div class="panel">{title}<img alt="{alt}" src="{uri}"></div>'
    more = len(data.rows) - _TABLE_ROWS
    note = f"<p class='empty'>{more} more rows</p>" if more > 0 else ""
    rows = _table_html(data.columns, data.rows[:_TABLE_ROWS])
    return f'<div class="panel wide">{title}{rows}{note}</div>'


_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{margin-bottom:4px} h2{margin-top:32px;border-bottom:1px solid #ccc}
.grid{display:flex;flex-wrap:wrap;gap:12px}
.panel{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px}
.panel.small{min-width:180px} .panel.wide{flex-basis:100%}
.panel h3{margin:4px 0 8px;font-size:15px} .stat{display:inline-block;margin-right:16px}
.stat span{font-size:26px;font-weight:600;display:block}
.stat small,.empty{color:#777} .error{color:#b00}
table{border-collapse:collapse;font-size:12px} td,th{border:1px solid #e3e3e3;padding:2px 6px}
th{background:#f0f0f0;text-align:left}
"""


def render_html(report: Report) -> str:
    """The whole report as one HTML document with every image inline."""
    start = f"{report.time_range.start:%Y-%m-%d %H:%M:%S} UTC"
    end = f"{report.time_range.end:%Y-%m-%d %H:%M:%S} UTC"
    s = report.summary
    statuses = ", ".join(f"{k} {v}" for k, v in s.results_by_status.items()) or "none"
    p95 = f"{s.p95_latency_ms:.0f} ms" if s.p95_latency_ms is not None else "n/a"
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>agentbus report</title>",
        f"<style>{_CSS}</style></head><body><h1>agentbus report</h1>",
        f"<p>{start} → {end} (buckets of {report.interval_s} s)</p>",
        f"<p><b>{s.requests}</b> requests; results: {html.escape(statuses)}; p95 latency {p95}; "
        f"cost ${s.cost_usd:.4f}; <b>{s.dead_letters}</b> dead letters</p>",
    ]
    current = None
    for outcome in report.panels:
        if outcome.dashboard.uid != current:
            if current is not None:
                parts.append("</div>")
            current = outcome.dashboard.uid
            parts.append(f"<h2>{html.escape(outcome.dashboard.title)}</h2><div class='grid'>")
        parts.append(_panel_html(outcome))
    if current is not None:
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)
