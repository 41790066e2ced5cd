"""``mesh list``: the capability registry meshes resolve agents through.

Read from the compacted ``capabilities`` topic itself (not ClickHouse), so it shows
what a starting orchestrator would see: the latest advertisement per (mesh,
capability, agent), withdrawn ones included with ``active`` false.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import click
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from streams.cli.context import CliContext, fail, kafka_failure, pass_cli
from streams.roles.runtime import Runtime, build_runtime
from streams.shared.capabilities import capability_key
from streams.shared.topic_view import TopicView

__all__ = ["mesh", "read_registry", "registry_rows"]

out = Console()

COLUMNS = ("mesh", "capability", "agent", "version", "active", "advertised_at")


async def read_registry(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """The latest ``Capability`` record per (mesh, capability, agent): the topic read
    from its beginning to the end offsets seen at start, without a consumer group."""
    entries: dict[str, dict[str, Any]] = {}

    def apply(record: str, value: dict[str, Any], offset: int) -> None:
        if record == "Capability":
            entries[capability_key(value["mesh"], value["capability"], value["agent"])] = value

    view = TopicView(runtime.settings, runtime.codec, runtime.topics.capabilities, apply)
    try:
        await view.start()
    finally:
        await view.stop()
    return entries


def registry_rows(
    entries: Iterable[dict[str, Any]], *, mesh_name: str | None = None, active_only: bool = False
) -> list[tuple[str, ...]]:
    """Table rows (see ``COLUMNS``) by mesh, capability and agent."""
    rows = []
    for entry in entries:
        if mesh_name is not None and entry["mesh"] != mesh_name:
            continue
        if active_only and not entry["active"]:
            continue
        rows.append(
            (
                str(entry["mesh"]),
                str(entry["capability"]),
                str(entry["agent"]),
                str(entry["version"]),
                "yes" if entry["active"] else "no (withdrawn)",
                str(entry.get("occurred_at") or ""),
            )
        )
    return sorted(rows)


@click.group()
def mesh() -> None:
    """Meshes: agents that ask each other by capability."""


@mesh.command("list")
@click.option("--mesh", "mesh_name", default=None, help="Only this mesh's capabilities.")
@click.option("--active", "active_only", is_flag=True, help="Leave withdrawn capabilities out.")
@pass_cli
def list_capabilities(state: CliContext, mesh_name: str | None, active_only: bool) -> None:
    """Print the capability registry (mesh, capability, agent, version, active) from the
    compacted capabilities topic. Orchestrators advertise their meshes' members when
    they start, so an empty registry means none has run against this broker yet."""
    runtime = build_runtime(state.settings())
    try:
        entries = asyncio.run(read_registry(runtime))
    except KafkaError as exc:
        where = f"{runtime.topics.capabilities} at {runtime.settings.kafka_bootstrap}"
        fail(kafka_failure(runtime.settings, f"could not read {where}", exc))
    rows = registry_rows(entries.values(), mesh_name=mesh_name, active_only=active_only)
    if not rows:
        which = f" for mesh {mesh_name!r}" if mesh_name else ""
        out.print(
            f"no capabilities advertised{which} on {runtime.topics.capabilities} "
            "(an orchestrator advertises its meshes when it starts: `agentbus run`)"
        )
        return
    table = Table(*COLUMNS, title=f"capability registry ({runtime.topics.capabilities})")
    for row in rows:
        table.add_row(*row)
    out.print(table)
