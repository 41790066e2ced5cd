"""``demo``: the reference fintech workload end to end on the embedded defaults.

The star's requests (routed to support, transactions, reports, general; support's
escalation edge hands some on to transactions) and a few requests to each flow the
system declares (the transaction-analysis pipeline, the monthly-report DAG, the
fraud-investigation mesh), then a summary of each topology read back from ClickHouse.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agents.reference import reference_flow_workload, reference_workload
from agents.system import AgentSystem
from streams.broker.errors import BrokerError
from streams.cli.context import CliContext, fail, pass_cli
from streams.client import AgentbusClient, ResultFollower
from streams.roles.runtime import Runtime, build_runtime
from streams.stack import StackError, bring_up, broker_for
from streams.supervise import WorkerProcess, spawn_worker, wait_for_gateway
from streams.warehouse.access import Reader
from streams.warehouse.gateway import find_gateway
from streams.warehouse.queries import TopologySummary, agent_summary, topology_summary

# Wide enough for the summary table when the output is a pipe or a CI log.
out = Console(width=None if sys.stdout.isatty() else 120)


def demo_workload(system: AgentSystem, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` requests for ``system``: the fintech reference workload for the reference
    system, else drawn from each agent's declared ``examples`` (or, for an agent with
    none, its description), spread over the agents in turn."""
    if system.name == "fintech" and set(system.names) >= {"support", "transactions", "reports"}:
        return reference_workload(count, seed)
    rng = random.Random(seed)
    texts = {
        name: list(spec.examples) or [spec.description or f"A question for {name}."]
        for name, spec in system.specs.items()
    }
    agents = list(texts)
    return [
        {"input": rng.choice(texts[agents[i % len(agents)]]), "tenant": "demo"}
        for i in range(count)
    ]


def flow_workload(system: AgentSystem, per_flow: int, seed: int) -> list[dict[str, Any]]:
    """``per_flow`` requests to each pipeline, workflow and mesh of ``system`` (target =
    the flow's name): the reference flow workload for the reference system, else each
    flow's declared ``examples`` (or its description)."""
    if system.name == "fintech" and set(system.flows) >= {"transaction_analysis"}:
        return reference_flow_workload(per_flow, seed)
    rng = random.Random(seed)
    requests = []
    for _ in range(per_flow):
        for name, flow in system.flows.items():
            texts = list(flow.examples) or [flow.description or f"A request for {name}."]
            requests.append({"input": rng.choice(texts), "tenant": "demo", "target_agent": name})
    return requests


def _per_flow(system: AgentSystem, count: int, flow_requests: int | None) -> int:
    """Flow requests per flow: as asked, else about one for every 30 star requests
    (at least one, at most ten: a DAG run costs five model calls)."""
    if not system.flows:
        return 0
    return flow_requests if flow_requests is not None else max(1, min(10, count // 30))


async def _drive(
    runtime: Runtime, workload: list[dict[str, Any]], wait_s: float
) -> tuple[list[str], set[str]]:
    """Submit the workload and follow results with a progress bar; returns the ids in
    workload order and the ids that got a result."""
    count = len(workload)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    async with (
        ResultFollower(runtime) as follower,
        AgentbusClient(runtime, producer_role="demo") as client,
    ):
        with Progress(*columns, console=out) as progress:
            sent_bar = progress.add_task("submitted", total=count)
            done_bar = progress.add_task("results  ", total=count)
            ids = []
            for item in workload:
                submitted = await client.submit(
                    item["input"],
                    tenant=item["tenant"],
                    target_agent=item.get("target_agent"),
                    metadata=item.get("metadata") or {},
                )
                ids.append(submitted.request_id)
                progress.advance(sent_bar)
            await client.flush()
            wanted, seen = set(ids), set[str]()
            deadline = time.monotonic() + wait_s
            results = follower.results()
            while len(seen) < len(wanted) and time.monotonic() < deadline:
                try:
                    result = await asyncio.wait_for(
                        anext(results), timeout=max(0.1, deadline - time.monotonic())
                    )
                except TimeoutError:
                    break
                if result["request_id"] in wanted and result["request_id"] not in seen:
                    seen.add(result["request_id"])
                    progress.update(done_bar, completed=len(seen))
    return ids, seen


@click.command()
@click.option("--requests", "count", default=300, show_default=True, help="Requests to submit.")
@click.option("--seed", default=42, show_default=True, help="Seed of the generated workload.")
@click.option(
    "--timeout", default=300.0, show_default=True, help="Seconds to wait for all results."
)
@click.option(
    "--error-rate",
    default=0.05,
    show_default=True,
    help="Share of simulated model calls that fail (retries and failures show up).",
)
@click.option(
    "--flow-requests",
    type=click.IntRange(min=0),
    default=None,
    help="Requests to each pipeline, workflow and mesh of the system "
    "[default: one per 30 --requests, 1 to 10].",
)
@click.option("--keep-running", is_flag=True, help="Leave the broker running afterwards.")
@pass_cli
def demo(
    state: CliContext,
    count: int,
    seed: int,
    timeout: float,
    error_rate: float,
    flow_requests: int | None,
    keep_running: bool,
) -> None:
    """Run the fintech reference workload: start the stack, submit COUNT requests to the
    star and a few to each pipeline, DAG workflow and mesh, with a progress bar, and
    print a summary of each topology read back from ClickHouse."""
    settings = state.settings(sim_error_rate=error_rate)
    runtime = build_runtime(settings)
    if find_gateway(settings.data_dir) is not None:
        fail(
            "a worker already owns the embedded store in this data dir; stop it (or use "
            "`agentbus submit` against it) and run the demo again"
        )
    per_flow = _per_flow(runtime.system, count, flow_requests)
    star = demo_workload(runtime.system, count, seed)
    flows = flow_workload(runtime.system, per_flow, seed)
    flow_names = ", ".join(runtime.system.flows)
    out.print(
        f"[bold]agentbus demo[/]: {count} fintech requests, router → specialists → ClickHouse"
        + (f"; {per_flow} to each flow ({flow_names})" if flows else "")
    )
    try:
        report = bring_up(runtime, apply_schema=False)
    except (StackError, BrokerError) as exc:
        fail(str(exc))
    out.print(f"kafka {report.bootstrap}, clickhouse {settings.clickhouse_dsn}")
    worker: WorkerProcess = spawn_worker(settings, log_name="demo-run")
    try:
        wait_for_gateway(worker, settings)
        started = time.monotonic()
        ids, seen = asyncio.run(_drive(runtime, star + flows, timeout))
        elapsed = time.monotonic() - started
        gateway = find_gateway(settings.data_dir)
        if gateway is None:
            fail(f"the worker stopped before the summary; its log: {worker.log_file}")
        _wait_stored(worker, gateway, ids, seen, ids[len(star) :])
        columns, rows = agent_summary(gateway)
        topologies = topology_summary(gateway, ids)
    finally:
        worker.stop()
        if report.started_local_broker and not keep_running:
            broker_for(settings).stop()
    table = Table(*columns, title="results by agent or flow (from ClickHouse)")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    out.print(table)
    if flows:
        _print_topologies(topologies, runtime.system, rows)
    done = len(seen & set(ids[: len(star)]))
    flows_done = len(seen) - done
    out.print(f"{done}/{count} results in {elapsed:.1f}s ({len(seen) / elapsed:.0f} requests/s)")
    if flows:
        out.print(f"{flows_done}/{len(flows)} flow results ({per_flow} per flow)")
    out.print(
        f"explain one: agentbus --data-dir {settings.data_dir} trace {ids[0]}"
        " (with a worker running, or after the demo)"
    )
    if flows:
        out.print(f"a workflow as a tree: agentbus --data-dir {settings.data_dir} trace {ids[-2]}")
    if len(seen) < len(ids):
        fail(
            f"{len(ids) - len(seen)} requests got no result within {timeout:.0f}s; "
            f"see {worker.log_file}"
        )


def _wait_stored(
    worker: WorkerProcess, gateway: Reader, ids: list[str], seen: set[str], flow_ids: list[str]
) -> None:
    """Wait until ClickHouse holds the results seen and the finished flows' events."""
    stored = "SELECT count() FROM agentbus.results FINAL WHERE has({ids:Array(String)}, request_id)"
    worker.wait_for(
        lambda: gateway.query(stored, {"ids": ids}).rows[0][0] >= len(seen),
        60,
        "results in ClickHouse",
    )
    finished = (
        "SELECT count() FROM agentbus.workflow_events FINAL "
        "WHERE kind = 'finished' AND has({ids:Array(String)}, request_id)"
    )
    flows_seen = [i for i in flow_ids if i in seen]
    worker.wait_for(
        lambda: gateway.query(finished, {"ids": flows_seen}).rows[0][0] >= len(flows_seen),
        60,
        "workflow events in ClickHouse",
    )


def _print_topologies(summary: TopologySummary, system: AgentSystem, by_agent: list[Any]) -> None:
    """One line per topology with its headline figures, and the pipeline's stages."""
    figures = summary.figures
    flows = {row[0]: row for row in summary.flows[1]}  # workflow → run counts
    star = [row for row in by_agent if row[0] not in system.flows]
    requests = ", ".join(f"{row[0]} {row[1]}" for row in star)
    edges = ", ".join(f"{p} → {c} {n}" for p, c, n in summary.edges[1]) or "none"
    lines = [
        (
            "star",
            f"{sum(row[1] for row in star)} results by answering agent: {requests}; "
            f"edges fired: {edges}",
        )
    ]

    def runs(name: str) -> str:
        row = flows.get(name)
        if row is None:
            return f"{name}: no runs"
        _, _, total, ok, partial, dropped, failed, mean_ms, _ = row
        return (
            f"{name}: {total} runs (ok {ok}, partial {partial}, dropped {dropped}, "
            f"failed {failed}), mean {mean_ms / 1000:.2f}s"
        )

    for pipeline in system.pipelines:
        stages = [row for row in summary.stages[1] if row[0] == pipeline.name]
        p50 = ", ".join(f"{row[1]} {row[3]}ms" for row in stages)
        lines.append(
            (
                "pipeline",
                f"{runs(pipeline.name)}; items per stage "
                f"{'/'.join(str(row[2]) for row in stages)}; p50 {p50}; "
                f"drops {sum(row[6] for row in stages)}",
            )
        )
    for workflow in system.workflows:
        lines.append(
            (
                "DAG",
                f"{runs(workflow.name)}; max parallelism {figures['parallelism']}; "
                f"compensations {figures['compensations']}; "
                f"conflicts settled in {figures['conflicts_settled']} syntheses",
            )
        )
    for mesh in system.meshes:
        lines.append(
            (
                "mesh",
                f"{runs(mesh.name)}; hops {figures['hops']} (max hop {figures['max_hop']}); "
                f"cycles {figures['cycles']}, hop caps {figures['hop_caps']}, "
                f"duplicates {figures['duplicates']}",
            )
        )
    table = Table("topology", "figures (from ClickHouse)", title="topologies")
    for topology, text in lines:
        table.add_row(topology, text)
    out.print(table)
    per_stage = Table(*summary.stages[0], title="pipeline stages (from ClickHouse)")
    for row in summary.stages[1]:
        per_stage.add_row(*(str(v) for v in row))
    out.print(per_stage)
