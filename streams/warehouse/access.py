"""Reach the warehouse for reading from any process (CLI, tests, demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError

from streams.warehouse.client import (
    QueryResult,
    SchemaOptions,
    Warehouse,
    WarehouseError,
    WarehouseLocked,
    open_warehouse,
)
from streams.warehouse.gateway import HttpEndpoint, find_gateway, result_columns

__all__ = ["Reader", "open_http_reader", "open_reader", "open_sql_reader", "query_with_columns"]


class Reader(Protocol):
    """Anything that runs SQL and returns rows: a Warehouse or a GatewayClient."""

    dsn: str

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult: ...

    def close(self) -> None: ...


def open_reader(dsn: str, data_dir: Path, cluster: str | None = None) -> Reader:
    """A server DSN is opened directly; an embedded store through its owner's gateway
    when a live process owns it, else opened here (schema applied, in its ``cluster``
    form when one is named; retention is left to the writers)."""
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
    warehouse.apply_schema(SchemaOptions(cluster=cluster))
    return warehouse


def open_http_reader(endpoint: HttpEndpoint, dsn: str) -> Warehouse:
    """A clickhouse-connect ``http://`` client on a gateway's ClickHouse HTTP interface,
    as a Warehouse; ``dsn`` names the store behind it in messages."""
    try:
        client = clickhouse_connect.get_client(
            host=endpoint.host,
            port=endpoint.port,
            username=endpoint.user,
            password=endpoint.password,
            compress=False,  # loopback: compressing costs CPU and saves nothing
        )
    except ClickHouseError as exc:
        raise WarehouseError(f"the gateway at {endpoint.url} did not answer: {exc}") from exc
    return Warehouse(client, dsn)


def open_sql_reader(dsn: str, data_dir: Path, cluster: str | None = None) -> Reader:
    """What ``agentbus sql`` queries: a live owner's ClickHouse HTTP interface for an
    embedded store (read-only unless its operator allowed writes), else as
    :func:`open_reader`."""
    if dsn.startswith("chdb:"):
        gateway = find_gateway(data_dir)
        if gateway is not None and gateway.http is not None:
            return open_http_reader(gateway.http, gateway.dsn)
    return open_reader(dsn, data_dir, cluster)


def query_with_columns(
    reader: Reader, sql: str, parameters: dict[str, Any] | None = None
) -> QueryResult:
    """``reader.query``, and an empty result keeps its column names: chdb opened in this
    process names none (the gateway and a server do)."""
    result = reader.query(sql, parameters)
    if not result.rows and not result.columns and isinstance(reader, Warehouse):
        return QueryResult(result_columns(reader, sql, parameters), [])
    return result
