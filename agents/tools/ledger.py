"""Doing a side effect once per idempotency key, for tools whose target has no key of
its own.

The best place for the key is the system the effect happens in (an HTTP
`Idempotency-Key`, a unique constraint). When that system has none, a tool records
what it did in an `IdempotencyLedger` and `once()` replays the recorded result when
the same key comes again: a redelivered task then gets the first run's answer and the
effect is not repeated.

`once` checks and records around the effect, so a crash between the effect and the
record repeats it; a ledger in the same database as the effect (one transaction)
closes that gap.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import TypeAdapter
from pydantic_core import to_json

from agents.tools.tool import ToolContext

__all__ = ["IdempotencyLedger", "InMemoryLedger", "SqliteLedger", "once"]

T = TypeVar("T")


@runtime_checkable
class IdempotencyLedger(Protocol):
    """Results of side effects by idempotency key.

    Promises: `recall` returns exactly what `record` stored under the key (JSON text),
    or None if nothing was; a recorded key is never overwritten (the first result wins).
    """

    async def recall(self, key: str) -> str | None:
        """The JSON result recorded under `key`, or None."""
        ...

    async def record(self, key: str, result: str) -> None:
        """Store `result` (JSON) under `key` unless the key already has one."""
        ...


class InMemoryLedger:
    """An `IdempotencyLedger` in a dict: for tests and single-process demos."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    async def recall(self, key: str) -> str | None:
        return self.entries.get(key)

    async def record(self, key: str, result: str) -> None:
        self.entries.setdefault(key, result)


class SqliteLedger:
    """An `IdempotencyLedger` in a SQLite file: survives the worker that wrote it, so a
    task redelivered to a restarted worker on the same machine finds its key."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS ledger (key TEXT PRIMARY KEY, result TEXT)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=10.0)

    def _recall(self, key: str) -> str | None:
        with self._lock, self._connect() as db:
            row = db.execute("SELECT result FROM ledger WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _record(self, key: str, result: str) -> None:
        with self._lock, self._connect() as db:
            db.execute("INSERT OR IGNORE INTO ledger (key, result) VALUES (?, ?)", (key, result))

    async def recall(self, key: str) -> str | None:
        return await asyncio.to_thread(self._recall, key)

    async def record(self, key: str, result: str) -> None:
        await asyncio.to_thread(self._record, key, result)


async def once(
    ledger: IdempotencyLedger,
    context: ToolContext,
    effect: Callable[[], Awaitable[T]],
    result_type: type[T] | Any = Any,
) -> T:
    """Run `effect` unless `context.idempotency_key` already has a result in `ledger`;
    either way return the (first) result, decoded as `result_type`."""
    recorded = await ledger.recall(context.idempotency_key)
    if recorded is not None:
        value: T = TypeAdapter(result_type).validate_json(recorded)
        return value
    result = await effect()
    await ledger.record(context.idempotency_key, to_json(result).decode())
    return result
