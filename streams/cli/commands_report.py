"""``report``: the dashboards' panels as an offline HTML page, and a terminal summary."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from streams.cli.commands_query import _reader
from streams.cli.context import CliContext, fail, pass_cli
from streams.dashboards.macros import parse_duration
from streams.dashboards.report import Report, collect, render_html
from streams.errors import StreamsError

out = Console()


def _print_summary(report: Report) -> None:
    s = report.summary
    table = Table("figure", "value", title=f"agentbus, last {report.time_range.seconds:.0f} s")
    table.add_row("requests", str(s.requests))
    for status, count in s.results_by_status.items():
        table.add_row(f"results {status}", str(count))
    table.add_row("p95 latency", f"{s.p95_latency_ms:.0f} ms" if s.p95_latency_ms else "n/a")
    table.add_row("cost", f"${s.cost_usd:.4f}")
    table.add_row("dead letters", str(s.dead_letters))
    out.print(table)


@click.command()
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every dashboard panel, charts included, to this self-contained HTML file.",
)
@click.option(
    "--since",
    default="1h",
    show_default=True,
    help="How far back to look: 15m, 1h, 7d...",
)
@pass_cli
def report(state: CliContext, html_file: Path | None, since: str) -> None:
    """Summarise the event log (requests, results by status, p95 latency, cost, dead
    letters); with --html, render the Grafana dashboards' panels as one offline page."""
    try:
        span = parse_duration(since)
    except ValueError as exc:
        fail(str(exc))
    reader = _reader(state)
    try:
        collected = collect(reader, span)
        page = render_html(collected) if html_file is not None else None
    except StreamsError as exc:
        fail(str(exc))
    finally:
        reader.close()
    _print_summary(collected)
    if html_file is not None and page is not None:
        html_file.write_text(page, encoding="utf-8")
        broken = [p for p in collected.panels if p.error]
        out.print(f"wrote {html_file} ({len(collected.panels)} panels, {len(broken)} failed)")
