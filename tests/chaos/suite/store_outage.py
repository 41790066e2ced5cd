"""Make the embedded ClickHouse store refuse inserts, then let it accept them again.

There is no ClickHouse server to stop here: the store lives inside the sink
process. ClickHouse refuses an insert with ``NOT_ENOUGH_SPACE`` (code 243) when
a MergeTree table's ``min_free_disk_bytes_to_perform_insert`` exceeds the free
space of its disk: setting it to a petabyte on every table of ``agentbus`` is a
"disk full" outage the sink's writer sees as a :class:`WarehouseError`, while
reads keep working. ``RESET SETTING`` ends it. The ``ALTER`` is persisted with
the table, so the outage survives a sink restart until it is lifted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from streams.warehouse import WarehouseError
from streams.warehouse.gateway import find_gateway

__all__ = ["StoreOutage"]

_SETTING = "min_free_disk_bytes_to_perform_insert"
_PETABYTE = 10**15


class StoreOutage:
    """Starts and ends an insert outage on every MergeTree table, through the gateway."""

    def __init__(self, data_dir: Path, timeout: float = 120.0) -> None:
        self._data_dir = data_dir
        self._timeout = timeout
        self.started_at: float | None = None
        self.seconds = 0.0

    async def _run_everywhere(self, template: str) -> None:
        """Run ``template`` on every agentbus table; waits out a sink restart."""
        deadline = time.monotonic() + self._timeout
        while True:
            gateway = find_gateway(self._data_dir)
            try:
                if gateway is None:
                    raise WarehouseError("no live sink owns the store")  # noqa: TRY301  # same wait as a failed query
                tables = await asyncio.to_thread(
                    gateway.query,
                    "SELECT name FROM system.tables WHERE database = 'agentbus' "
                    "AND engine LIKE '%MergeTree%'",
                )
                for (table,) in tables.rows:
                    await asyncio.to_thread(gateway.query, template.format(table=table))
            except WarehouseError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
            else:
                return

    async def begin(self) -> None:
        await self._run_everywhere(
            f"ALTER TABLE agentbus.{{table}} MODIFY SETTING {_SETTING} = {_PETABYTE}"
        )
        self.started_at = time.monotonic()

    async def end(self) -> None:
        await self._run_everywhere(f"ALTER TABLE agentbus.{{table}} RESET SETTING {_SETTING}")
        if self.started_at is not None:
            self.seconds += time.monotonic() - self.started_at
            self.started_at = None
