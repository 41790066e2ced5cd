"""``demo``: the reference fintech workload end to end on the embedded defaults."""

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

from agents.reference import reference_workload
from agents.system import AgentSystem
from streams.broker.errors import BrokerError
from streams.cli.context import CliContext, fail, pass_cli
from streams.client import AgentbusClient, ResultFollower
from streams.roles.runtime import Runtime, build_runtime
from streams.stack import StackError, bring_up, broker_for
from streams.supervise import WorkerProcess, spawn_worker, wait_for_gateway
from streams.warehouse.gateway import find_gateway
from streams.warehouse.queries import agent_summary

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


async def _drive(runtime: Runtime, count: int, seed: int, wait_s: float) -> tuple[list[str], int]:
    """Submit the workload and follow results with a progress bar; returns ids and results seen."""
    workload = demo_workload(runtime.system, count, seed)
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
    return ids, len(seen)


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
@click.option("--keep-running", is_flag=True, help="Leave the broker running afterwards.")
@pass_cli
def demo(
    state: CliContext, count: int, seed: int, timeout: float, error_rate: float, keep_running: bool
) -> None:
    """Run the fintech reference workload: start the stack, submit COUNT requests with a
    progress bar, and print a summary read back from ClickHouse."""
    settings = state.settings(sim_error_rate=error_rate)
    runtime = build_runtime(settings)
    if find_gateway(settings.data_dir) is not None:
        fail(
            "a worker already owns the embedded store in this data dir; stop it (or use "
            "`agentbus submit` against it) and run the demo again"
        )
    out.print(
        f"[bold]agentbus demo[/]: {count} fintech requests, router → specialists → ClickHouse"
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
        ids, done = asyncio.run(_drive(runtime, count, seed, timeout))
        elapsed = time.monotonic() - started
        gateway = find_gateway(settings.data_dir)
        if gateway is None:
            fail(f"the worker stopped before the summary; its log: {worker.log_file}")
        stored = (
            "SELECT count() FROM agentbus.results FINAL WHERE has({ids:Array(String)}, request_id)"
        )
        worker.wait_for(
            lambda: gateway.query(stored, {"ids": ids}).rows[0][0] >= done,
            60,
            "results in ClickHouse",
        )
        columns, rows = agent_summary(gateway)
    finally:
        worker.stop()
        if report.started_local_broker and not keep_running:
            broker_for(settings).stop()
    table = Table(*columns, title="results by agent (from ClickHouse)")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    out.print(table)
    out.print(f"{done}/{count} results in {elapsed:.1f}s ({done / elapsed:.0f} requests/s)")
    out.print(
        f"explain one: agentbus --data-dir {settings.data_dir} trace {ids[0]}"
        " (with a worker running, or after the demo)"
    )
    if done < count:
        fail(f"{count - done} requests got no result within {timeout:.0f}s; see {worker.log_file}")
