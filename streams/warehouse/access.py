"""Reach the warehouse for reading from any process (CLI, tests, demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from streams.warehouse.client import QueryResult, WarehouseLocked, open_warehouse
from streams.warehouse.gateway import find_gateway

__all__ = ["Reader", "open_reader"]


class Reader(Protocol):
    """Anything that runs SQL and returns rows: a Warehouse or a GatewayClient."""

    dsn: str

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult: ...

    def close(self) -> None: ...


def open_reader(dsn: str, data_dir: Path) -> Reader:
    """A server DSN is opened directly; an embedded store through its owner's gateway
    when a live process owns it, else opened here (schema applied)."""
    if dsn.startswith("chdb:"):
        gateway = find_gateway(data_dir)
        if gateway is not None:
            return gateway
    try:
        warehouse = open_warehouse(dsn)
    except WarehouseLocked as exc:
        raise WarehouseLocked(
            f"{exc}. No gateway is registered in {data_dir}: run this command with the same "
            "AGENTBUS_DATA_DIR as the worker that owns the store, or stop that worker first."
        ) from exc
    warehouse.apply_schema()
    return warehouse
