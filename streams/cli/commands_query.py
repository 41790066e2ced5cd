"""``sql`` and ``trace``: the ClickHouse door."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from streams.cli.context import CliContext, fail, pass_cli
from streams.cli.trace_workflow import add_workflow
from streams.warehouse import WarehouseError
from streams.warehouse.access import Reader, open_reader, open_sql_reader, query_with_columns
from streams.warehouse.queries import RequestTrace, load_trace

out = Console()


def _reader(state: CliContext) -> Reader:
    settings = state.settings()
    try:
        return open_reader(settings.clickhouse_dsn, settings.data_dir, settings.clickhouse_cluster)
    except WarehouseError as exc:
        fail(str(exc))


def _sql_reader(state: CliContext) -> Reader:
    settings = state.settings()
    try:
        return open_sql_reader(
            settings.clickhouse_dsn, settings.data_dir, settings.clickhouse_cluster
        )
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
    the embedded store: the query goes through its gateway's ClickHouse HTTP interface,
    read-only unless AGENTBUS_GATEWAY_ALLOW_WRITES is set. Use FINAL for exact counts."""
    reader = _sql_reader(state)
    try:
        result = query_with_columns(reader, query)
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


_STATUS_COLOR = {"ok": "green", "degraded": "yellow", "partial": "yellow", "failed": "red"}


def _add_attempt(branch: Tree, inv: dict[str, Any], task_agent: str) -> None:
    color = "green" if inv["outcome"] in ("ok", "cached") else "red"
    who = "" if inv["agent"] == task_agent else f"[yellow]{inv['agent']}[/] "
    line = (
        f"attempt {inv['attempt']} {who}[{color}]{inv['outcome']}[/] "
        f"{inv['provider']}/{inv['model']} "
        f"tier={inv['tier']} temp={float(inv['temperature']):.2f} "
        f"tokens={inv['input_tokens']}+{inv['output_tokens']} "
        f"latency={float(inv['latency_ms']):.0f}ms cost=${float(inv['cost_usd']):.6f}"
    )
    if inv["cache_hit"]:
        line += " (cache hit)"
    if inv["breaker_state"] and inv["breaker_state"] != "closed":
        line += f" breaker={inv['breaker_state']}"
    node = branch.add(line)
    for label in ("perturbation", "decision", "error"):
        if inv[label]:
            node.add(f"{label}: {_short(inv[label], 110)}")
    for run in inv.get("tool_runs") or ():
        _add_tool_run(node, run)


def _add_tool_run(node: Tree, run: dict[str, Any]) -> None:
    """One tool call: name, arguments, result or error, latency, idempotency key."""
    failed = run["error"] is not None
    outcome = f"[red]error[/] {_short(run['error'], 80)}" if failed else _short(run["result"], 80)
    key = f" key={run['idempotency_key']}" if run["idempotency_key"] else ""
    node.add(
        f"tool {run['name']}({_short(run['arguments'], 60)}) → {outcome} "
        f"round={run['round']} latency={float(run['latency_ms']):.0f}ms{key}"
    )


def _add_result(branch: Tree, res: dict[str, Any], kind: str = "result") -> None:
    color = _STATUS_COLOR.get(res["status"], "red")
    node = branch.add(
        f"{kind} [{color}]{res['status']}[/] by {res['agent']} ({res['model']}) after "
        f"{res['attempts']} attempt(s), {float(res['latency_ms']):.0f}ms, "
        f"${float(res['cost_usd']):.6f}"
    )
    details = (
        ("answered by the fallback agent", res["answered_by"]),
        ("reason:", res["error"]),
        ("disclaimer:", res["disclaimer"]),
        ("output:", repr(_short(res["output"])) if res["output"] else None),
    )
    for label, value in details:
        if value:
            node.add(f"{label} {value}")


def _task_line(task: dict[str, Any]) -> str:
    """How the task reached its agent: routed (with confidence), or handed on by an edge."""
    chain = [name for name in str(task.get("chain") or "").split(",") if name]
    if chain:
        # The reason reads "edge support → transactions: escalate is true".
        _, _, condition = str(task["routing_reason"]).partition(": ")
        return f"[cyan]edge {chain[-1]}[/] → [bold]{task['agent']}[/] ({condition})"
    by_model = task.get("routing_model_version")
    model = f", model {by_model}" if by_model else ""
    return (
        f"[cyan]{task['producer']}[/] → [bold]{task['agent']}[/]  "
        f"(confidence {float(task['routing_confidence']):.2f}{model}): "
        f"{task['routing_reason']}"
    )


def render_trace(request_id: str, trace: RequestTrace) -> Tree:
    """The request's path: routing with its reason, every attempt, the result (and the
    step result of each agent an edge handed the request on from), breaker transitions
    of the agents it used while it ran, and dead letters. A request that named a flow
    shows its pipeline, workflow or mesh as a tree (`trace_workflow`) with each step's
    attempts and result under the step, then the final result."""
    req = trace.request
    head = f"[bold]request {request_id}[/]"
    if req:
        head += f"  tenant={req['tenant']} trace={req['trace_id']} at {req['occurred_at']}"
    root = Tree(head)
    if req:
        root.add(f"input: {_short(req['input'])!r}")

    def task_details(branch: Tree, task_id: str, agent: str) -> None:
        for inv in (i for i in trace.invocations if i["task_id"] == task_id):
            _add_attempt(branch, inv, agent)
        for res in (r for r in trace.step_results if r["task_id"] == task_id):
            _add_result(branch, res, "step result")
        for res in (r for r in trace.results if r["task_id"] == task_id):
            _add_result(branch, res)

    in_flow = (
        add_workflow(root, trace.workflow_events, task_details) if trace.workflow_events else set()
    )
    for task in trace.tasks:
        if task["task_id"] in in_flow:
            continue
        branch = root.add(_task_line(task))
        task_details(branch, task["task_id"], task["agent"])
    # A workflow's final result carries the workflow's own task id (no task row).
    known = in_flow | {task["task_id"] for task in trace.tasks}
    for res in (r for r in trace.results if r["task_id"] not in known):
        _add_result(root, res)
    for event in trace.breaker_events:
        root.add(
            f"[magenta]breaker {event['key']}[/] {event['from_state']} → {event['to_state']} "
            f"at {event['occurred_at']}: {event['reason']}"
        )
    for dead in trace.dead_letters:
        root.add(
            f"[red]dead letter[/] from {dead['producer']} ({dead['error_type']}): {dead['reason']} "
            f"[{dead['source_topic']}[{dead['source_partition']}]@{dead['source_offset']}]"
        )
    if not trace.tasks and not trace.dead_letters and not trace.workflow_events and req:
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
