"""``replay``: rebuild the ClickHouse projection from the Kafka log."""

from __future__ import annotations

import asyncio

import click
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from streams.cli.context import CliContext, fail, kafka_failure, pass_cli
from streams.replay import ReplayError, ReplayReport, parse_since, replay
from streams.roles.runtime import build_runtime
from streams.settings import env_var
from streams.warehouse import WarehouseError, WarehouseLocked, open_warehouse
from streams.warehouse.client import SchemaOptions

out = Console()


@click.command(name="replay")
@click.option(
    "--into",
    "into",
    default=None,
    metavar="DSN",
    help="Store to fill: chdb:///path (a fresh one is created) or http(s)://user:pass@host:8123. "
    f"Default: the configured store ({env_var('clickhouse_url')}).",
)
@click.option(
    "--since",
    default=None,
    metavar="TIME",
    help="Only events from TIME on: an ISO time (UTC unless it names a zone) or an age "
    "(90s, 15m, 2h, 7d). Default: the whole log.",
)
@pass_cli
def replay_command(state: CliContext, into: str | None, since: str | None) -> None:
    """Rebuild the ClickHouse tables from the event topics: every event is read from the
    log (no consumer group, nothing committed) and landed as the sink lands it, then
    the rows per table are printed. Events already in the store change nothing, so it
    is safe to run twice or into a store that is partly filled."""
    settings = state.settings()
    runtime = build_runtime(settings)
    dsn = into or settings.clickhouse_dsn
    try:
        start = parse_since(since) if since else None
        warehouse = open_warehouse(dsn)
    except WarehouseLocked as exc:
        fail(
            f"{exc}: its sink keeps it current; replay into another store (--into "
            "chdb:///new/path) or stop the worker first"
        )
    except (WarehouseError, ReplayError) as exc:
        fail(str(exc))
    try:
        warehouse.apply_schema(SchemaOptions.of(settings))
        report = asyncio.run(replay(runtime, warehouse, since=start))
    except KafkaError as exc:
        fail(kafka_failure(settings, "replay could not read the log", exc))
    except (WarehouseError, ReplayError) as exc:
        fail(str(exc))
    finally:
        warehouse.close()
    _print(report, dsn)


def _print(report: ReplayReport, dsn: str) -> None:
    table = Table("table", "rows (FINAL)")
    for name, count in report.counts.items():
        table.add_row(name, str(count))
    out.print(table)
    out.print(
        f"read {report.events} events from {len(report.topics)} topics into {dsn}: "
        f"landed {report.rows} rows, {report.undecodable} undecodable (already dead-lettered)",
        soft_wrap=True,
    )
