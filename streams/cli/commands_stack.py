"""``up``, ``down``, ``status``: the parts agentbus runs on."""

from __future__ import annotations

import asyncio

import click
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Column, Table

from streams.broker.errors import BrokerAuthError, BrokerError
from streams.broker.groups import GroupInfo, describe_group, group_lag
from streams.cli.context import CliContext, fail, pass_cli
from streams.kafka_options import client_options
from streams.roles.registry import all_roles, group_id
from streams.roles.runtime import build_runtime
from streams.scaling import recommend_replicas
from streams.settings import Settings
from streams.stack import StackError, bring_up, broker_answers, broker_for, is_loopback
from streams.warehouse import WarehouseError
from streams.warehouse.access import open_reader
from streams.warehouse.gateway import find_gateway

out = Console()


@click.command()
@pass_cli
def up(state: CliContext) -> None:
    """Start the local Kafka broker (unless one is configured), create topics, apply the
    ClickHouse schema. Idempotent: running it again changes nothing."""
    runtime = build_runtime(state.settings())
    try:
        report = bring_up(runtime)
    except (StackError, BrokerError) as exc:
        fail(str(exc))
    how = "started locally" if report.started_local_broker else "already running"
    out.print(f"kafka      {report.bootstrap} ({how})")
    out.print(f"topics     {len(runtime.topics.specs())} ({len(report.topics_created)} created)")
    out.print(f"clickhouse {report.clickhouse}")


@click.command()
@pass_cli
def down(state: CliContext) -> None:
    """Stop the local Kafka broker started by `up` (data is kept)."""
    settings = state.settings()
    if not is_loopback(settings.kafka_bootstrap):
        fail(f"{settings.kafka_bootstrap} is not a local broker; agentbus does not stop it")
    broker = broker_for(settings)
    was = broker.status().running
    broker.stop()
    out.print("kafka stopped" if was else "kafka was not running")


@click.command()
@pass_cli
def status(state: CliContext) -> None:
    """Say what runs: broker, its process and log, the ClickHouse store and its owner,
    and per role its consumer group's state, live members and lag; per specialist the
    wait its lag means and the replicas that keep it under AGENTBUS_SCALING_TARGET_WAIT_S."""
    settings = state.settings()
    table = Table(show_header=False, box=None)
    refused: BrokerAuthError | None = None
    try:
        answering = broker_answers(settings, 2.0)
    except BrokerAuthError as exc:
        answering, refused = False, exc
    verdict = "answering" if answering else "refuses us" if refused else "not answering"
    table.add_row("kafka", settings.kafka_bootstrap, verdict)
    if is_loopback(settings.kafka_bootstrap):
        info = broker_for(settings).status()
        table.add_row(
            "local broker", f"pid {info.pid}" if info.running else "not running", str(info.log_file)
        )
    gateway = find_gateway(settings.data_dir)
    owner = (
        f"owned by a running sink, gateway {gateway.url}" if gateway else "not in use by a worker"
    )
    table.add_row(
        "clickhouse", settings.clickhouse_dsn, owner if settings.uses_embedded_clickhouse else ""
    )
    table.add_row("data dir", str(settings.data_dir.resolve()), "")
    out.print(table)
    if refused is not None:
        fail(str(refused))
    if answering:
        out.print(_roles_table(settings))


def _roles_table(settings: Settings) -> Table:
    """Per role: consumer-group state, live members and lag (what a 3 a.m. look needs);
    per specialist also its completions per second, the wait its lag means, and the
    replicas that would bring that wait under the target (`streams.scaling`)."""
    runtime = build_runtime(settings)
    options = client_options(settings)

    async def facts(role: str) -> tuple[GroupInfo, int | None]:
        group = group_id(runtime, role)
        try:
            return (
                await describe_group(settings.kafka_bootstrap, group, options=options),
                await group_lag(settings.kafka_bootstrap, group, options=options),
            )
        except KafkaError as exc:  # one role's trouble must not hide the others
            return GroupInfo(group, f"unknown ({type(exc).__name__})", 0), None

    async def rows() -> list[tuple[str, GroupInfo, int | None]]:
        return [(role, *await facts(role)) for role in all_roles(runtime)]

    rates = results_per_s(settings)
    roles = all_roles(runtime)
    # Role names are what an operator greps for: never wrapped, whatever the width.
    role_column = Column("role", no_wrap=True, min_width=max(len(r) for r in roles))
    table = Table(
        role_column,
        "group",
        Column("state", no_wrap=True),
        "members",
        "lag",
        "done/s",
        "wait",
        "replicas",
        "why",
        title=f"roles (replicas for a wait under {settings.scaling_target_wait_s:g}s)",
    )
    for role, info, lag in asyncio.run(rows()):
        table.add_row(
            role,
            info.group_id,
            info.state,
            str(info.members),
            "-" if lag is None else str(lag),
            *scaling_cells(role, lag, info.members, rates, settings),
        )
    return table


RATE_WINDOW_S = 60
"""Completions are counted over this many seconds before now."""
_RESULTS_PER_AGENT = (
    "SELECT agent, count() FROM agentbus.results FINAL "
    f"WHERE occurred_at >= now64(3) - INTERVAL {RATE_WINDOW_S} SECOND GROUP BY agent"
)


def results_per_s(settings: Settings) -> dict[str, float] | None:
    """Results per second per agent over the last minute, from ClickHouse (through the
    running sink's gateway when it owns the embedded store); None when unreadable."""
    try:
        reader = open_reader(
            settings.clickhouse_dsn, settings.data_dir, settings.clickhouse_cluster
        )
    except WarehouseError:
        return None
    try:
        rows = reader.query(_RESULTS_PER_AGENT).rows
    except WarehouseError:
        return None
    finally:
        reader.close()
    return {str(agent): int(count) / RATE_WINDOW_S for agent, count in rows}


def scaling_cells(
    role: str,
    lag: int | None,
    members: int,
    rates: dict[str, float] | None,
    settings: Settings,
) -> tuple[str, str, str, str]:
    """The done/s, wait, replicas and why cells of one role's row ("" for non-specialists,
    "?" when ClickHouse could not be read)."""
    if not role.startswith("specialist:"):
        return ("", "", "", "")
    if rates is None:
        return ("?", "?", "?", "clickhouse not readable")
    advice = recommend_replicas(
        lag,
        rates.get(role.split(":", 1)[1], 0.0),
        members,
        target_wait_s=settings.scaling_target_wait_s,
        max_replicas=settings.partitions,
    )
    wait = "?" if advice.wait_s is None else f"{advice.wait_s:.1f}s"
    replicas = (
        str(advice.recommended)
        if advice.recommended == members
        else f"{members} → {advice.recommended}"
    )
    return (f"{advice.results_per_s:.2f}", wait, replicas, advice.reason)
