"""``sql`` and ``trace``: the ClickHouse door."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from streams.cli.context import CliContext, fail, pass_cli
from streams.warehouse import WarehouseError
from streams.warehouse.access import Reader, open_reader
from streams.warehouse.queries import RequestTrace, load_trace

out = Console()


def _reader(state: CliContext) -> Reader:
    settings = state.settings()
    try:
        return open_reader(settings.clickhouse_dsn, settings.data_dir)
    except WarehouseError as exc:
        fail(str(exc))


@click.command()
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "tsv"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@pass_cli
def sql(state: CliContext, query: str, fmt: str) -> None:
    """Run QUERY on the event log (database `agentbus`). Works while `agentbus run` owns
    the embedded store: the query goes through its gateway. Use FINAL for exact counts."""
    reader = _reader(state)
    try:
        result = reader.query(query)
    except WarehouseError as exc:
        fail(str(exc))
    finally:
        reader.close()
    if fmt == "json":
        for row in result.rows:
            out.print_json(json.dumps(dict(zip(result.columns, row, strict=True)), default=str))
    elif fmt == "tsv":
        click.echo("\t".join(result.columns))
        for row in result.rows:
            click.echo("\t".join("" if v is None else str(v) for v in row))
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        out.print(table)


def _short(text: Any, limit: int = 90) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render_trace(request_id: str, trace: RequestTrace) -> Tree:
    """The request's path: routing with its reason, every attempt, the result, dead letters."""
    req = trace.request
    head = f"[bold]request {request_id}[/]"
    if req:
        head += f"  tenant={req['tenant']} trace={req['trace_id']} at {req['occurred_at']}"
    root = Tree(head)
    if req:
        root.add(f"input: {_short(req['input'])!r}")
    for task in trace.tasks:
        branch = root.add(
            f"[cyan]{task['producer']}[/] → [bold]{task['agent']}[/]  "
            f"(confidence {float(task['routing_confidence']):.2f}): {task['routing_reason']}"
        )
        for inv in (i for i in trace.invocations if i["task_id"] == task["task_id"]):
            color = "green" if inv["outcome"] == "ok" else "red"
            line = (
                f"attempt {inv['attempt']} [{color}]{inv['outcome']}[/] "
                f"{inv['provider']}/{inv['model']} "
                f"tier={inv['tier']} temp={float(inv['temperature']):.2f} "
                f"tokens={inv['input_tokens']}+{inv['output_tokens']} "
                f"latency={float(inv['latency_ms']):.0f}ms cost=${float(inv['cost_usd']):.6f}"
            )
            if inv["error"]:
                line += f"  error: {_short(inv['error'], 60)}"
            branch.add(line)
        for res in (r for r in trace.results if r["task_id"] == task["task_id"]):
            color = (
                "green"
                if res["status"] == "ok"
                else "yellow"
                if res["status"] != "failed"
                else "red"
            )
            node = branch.add(
                f"result [{color}]{res['status']}[/] by {res['agent']} ({res['model']}) after "
                f"{res['attempts']} attempt(s), {float(res['latency_ms']):.0f}ms, "
                f"${float(res['cost_usd']):.6f}"
            )
            if res["error"]:
                node.add(f"reason: {res['error']}")
            if res["disclaimer"]:
                node.add(f"disclaimer: {res['disclaimer']}")
            if res["output"]:
                node.add(f"output: {_short(res['output'])!r}")
    for dead in trace.dead_letters:
        root.add(
            f"[red]dead letter[/] from {dead['producer']} ({dead['error_type']}): {dead['reason']} "
            f"[{dead['source_topic']}[{dead['source_partition']}]@{dead['source_offset']}]"
        )
    if not trace.tasks and not trace.dead_letters and req:
        root.add("[yellow]not routed yet[/] (is the router running?)")
    return root


@click.command()
@click.argument("request_id")
@pass_cli
def trace(state: CliContext, request_id: str) -> None:
    """Print REQUEST_ID's path: routing and its reason, each model attempt (model, tokens,
    latency, cost, outcome), the result, and any dead letter."""
    reader = _reader(state)
    try:
        found = load_trace(reader, request_id)
    except WarehouseError as exc:
        fail(str(exc))
    finally:
        reader.close()
    if not found.found:
        fail(f"no events for request {request_id} in {reader.dsn} (not submitted, or not yet sunk)")
    out.print(render_trace(request_id, found))
