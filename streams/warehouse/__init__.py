"""ClickHouse: the queryable projection of the event log.

Reached only through clickhouse-connect: ``chdb:///path`` (embedded, the
default) or ``http(s)://`` for a server. An embedded store is owned by one
process; others reach it through that process's :mod:`gateway`.
"""

from streams.warehouse.client import Warehouse, WarehouseError, WarehouseLocked, open_warehouse
from streams.warehouse.tables import TABLE_FOR_RECORD

__all__ = ["TABLE_FOR_RECORD", "Warehouse", "WarehouseError", "WarehouseLocked", "open_warehouse"]
