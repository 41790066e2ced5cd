"""Open the warehouse through clickhouse-connect and apply its schema."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError

from streams.errors import StreamsError
from streams.resources import ResourceError, data_dir
from streams.warehouse.cluster import ClusterLayout, local_table

if TYPE_CHECKING:
    from streams.settings import Settings

__all__ = [
    "RETAINED_TABLES",
    "QueryResult",
    "SchemaOptions",
    "Warehouse",
    "WarehouseError",
    "WarehouseLocked",
    "open_warehouse",
]


class WarehouseError(StreamsError):
    """A ClickHouse operation failed; the message names the DSN or the statement.

    Retriable: a store that refused an insert or a query may answer the next one.
    """

    retriable = True


class WarehouseLocked(WarehouseError):
    """The embedded store is owned by another process (chdb opens a path from one process)."""

    retriable = False


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query with their column names; JSON-friendly."""

    columns: list[str]
    rows: list[list[Any]]


RETAINED_TABLES: tuple[str, ...] = (
    "requests",
    "tasks",
    "results",
    "step_results",
    "invocations",
    "workflow_events",
    "dead_letters",
    "breaker_events",
)
"""Tables of events that happened, which retention (``AGENTBUS_CLICKHOUSE_TTL_DAYS``)
trims. ``policies`` and ``capabilities`` hold current state (the projection of compacted
topics) and are kept whatever their age."""

_TTL_CLAUSE = re.compile(r"\bTTL\s+(.*?)(?:\s+SETTINGS\b|$)")


@dataclass(frozen=True)
class SchemaOptions:
    """How :meth:`Warehouse.apply_schema` lays the schema out."""

    ttl_days: int | None = None
    """Rows of :data:`RETAINED_TABLES` are dropped this many days after ``occurred_at``;
    0 keeps them forever (a TTL set before is removed); None leaves retention as it is
    (readers such as ``agentbus trace`` do not change it)."""
    cluster: str | None = None
    """Name of the ClickHouse cluster (``remote_servers``) to lay replicated and
    distributed tables out on, ``ON CLUSTER``; None: a single server or chdb."""

    @classmethod
    def of(cls, settings: Settings, *, retention: bool = True) -> SchemaOptions:
        """The options ``settings`` ask for; ``retention=False`` for a reader."""
        return cls(
            ttl_days=settings.clickhouse_ttl_days if retention else None,
            cluster=settings.clickhouse_cluster,
        )

    @property
    def layout(self) -> ClusterLayout | None:
        return ClusterLayout(self.cluster) if self.cluster else None

    def statements(self, sql: str) -> list[str]:
        """The statements to run for one migration file's text."""
        statements = split_statements(sql)
        layout = self.layout
        return layout.transform_all(statements) if layout else statements


def retention_statements(ttl_days: int, current: dict[str, str | None]) -> list[str]:
    """ALTERs that bring each table's TTL to ``ttl_days`` (0: none), given its
    ``current`` TTL expression; empty when nothing changes, so a restart with the same
    setting starts no mutation."""
    wanted = f"toIntervalDay({ttl_days})"
    statements = []
    for table in RETAINED_TABLES:
        ttl = current.get(table)
        if ttl_days > 0 and (ttl is None or wanted not in ttl.replace(" ", "")):
            statements.append(
                f"ALTER TABLE agentbus.{table} "
                f"MODIFY TTL toDateTime(occurred_at) + INTERVAL {ttl_days} DAY"
            )
        elif ttl_days == 0 and ttl is not None:
            statements.append(f"ALTER TABLE agentbus.{table} REMOVE TTL")
    return statements


def schema_dir() -> Path:
    """``infra/clickhouse``, the numbered migration files (``agentbus_data.clickhouse``)."""
    try:
        return data_dir("clickhouse")
    except ResourceError as exc:
        raise WarehouseError(str(exc)) from exc


def split_statements(sql: str) -> list[str]:
    """Statements of a migration file: ``;``-separated, comment lines dropped."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


class Warehouse:
    """A clickhouse-connect client made safe to share between threads.

    chdb runs in-process and one connection serves the whole process, so every
    call goes through one lock; inserts are synchronous (``async_insert=0``) so
    a row is readable as soon as ``insert`` returns.
    """

    def __init__(self, client: Any, dsn: str) -> None:
        self._client = client
        self.dsn = dsn
        self._lock = threading.Lock()

    @property
    def embedded(self) -> bool:
        return self.dsn.startswith("chdb:")

    def apply_schema(self, options: SchemaOptions | None = None) -> list[str]:
        """Run every migration in order, then set retention; idempotent (``IF NOT
        EXISTS``). Returns the migration file names.

        ``options.cluster`` runs the cluster form of each statement
        (:class:`~streams.warehouse.cluster.ClusterLayout`); ``options.ttl_days`` sets
        the retention of :data:`RETAINED_TABLES`.
        """
        options = options or SchemaOptions()
        applied = []
        for path in sorted(schema_dir().glob("*.sql")):
            for statement in options.statements(path.read_text()):
                self.command(statement)
            applied.append(path.name)
        if options.ttl_days is not None:
            wanted = retention_statements(options.ttl_days, self._current_ttls(options))
            for statement in wanted:
                for out in options.layout.transform(statement) if options.layout else [statement]:
                    self.command(out)
        return applied

    def _current_ttls(self, options: SchemaOptions) -> dict[str, str | None]:
        """Each retained table's TTL expression as the server reports it (None: none)."""
        names = {(local_table(t) if options.cluster else t): t for t in RETAINED_TABLES}
        rows = self.query(
            "SELECT name, engine_full FROM system.tables "
            "WHERE database = 'agentbus' AND name IN {names:Array(String)}",
            {"names": list(names)},
        ).rows
        current: dict[str, str | None] = {}
        for name, engine_full in rows:
            match = _TTL_CLAUSE.search(str(engine_full))
            current[names[str(name)]] = match.group(1) if match else None
        return current

    def command(self, sql: str) -> Any:
        with self._lock:
            try:
                return self._client.command(sql)
            except ClickHouseError as exc:
                raise WarehouseError(f"{_first_line(exc)} (in: {_shorten(sql)})") from exc

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        with self._lock:
            try:
                result = self._client.query(sql, parameters=parameters)
            except ClickHouseError as exc:
                raise WarehouseError(_first_line(exc)) from exc
        return QueryResult(list(result.column_names), [list(row) for row in result.result_rows])

    def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        if not rows:
            return
        with self._lock:
            try:
                self._client.insert(
                    table,
                    rows,
                    column_names=list(columns),
                    database="agentbus",
                    settings={"async_insert": 0},
                )
            except ClickHouseError as exc:
                raise WarehouseError(f"insert into {table} failed: {_first_line(exc)}") from exc

    def close(self) -> None:
        with self._lock:
            self._client.close()


def embedded_config() -> Path:
    """``infra/clickhouse/embedded.xml``: the embedded engine's server configuration.

    chdb starts with a database server's defaults (5 GiB caches, 16 merge threads,
    wide merges), sized for a server, not for one worker process beside the agents;
    the file caps caches and merge memory so the sink's memory stays flat as tables grow.
    """
    return schema_dir() / "embedded.xml"


EMBEDDED_ALLOCATOR = "dirty_decay_ms:0,muzzy_decay_ms:0"
"""Options for the jemalloc that chdb carries inside it (it reads ``JE_MALLOC_CONF``,
not ``MALLOC_CONF``). chdb keeps freed pages for 5 s, a server's choice: in the sink
that let RSS swing up to ~100 MiB above what the store holds live, and even a 1 s decay
left spikes of +12% in the overload soak. Freed pages go back at once; the price is
CPU per insert (madvise, page faults): about a quarter more in an insert loop."""


def tune_embedded_allocator() -> None:
    """Give chdb's allocator :data:`EMBEDDED_ALLOCATOR` unless ``JE_MALLOC_CONF`` is set
    already (the operator's choice wins). jemalloc reads it once, when chdb is loaded,
    so once chdb is in the process this changes nothing."""
    if "chdb" not in sys.modules:
        os.environ.setdefault("JE_MALLOC_CONF", EMBEDDED_ALLOCATOR)


def open_warehouse(dsn: str) -> Warehouse:
    """Connect to ``dsn``; a chdb store held by another process raises :class:`WarehouseLocked`.

    An embedded (chdb) store starts with :func:`embedded_config` and, when it is the
    first in the process, :func:`tune_embedded_allocator`.
    """
    options: dict[str, Any] = {}
    if dsn.startswith("chdb:"):
        options["chdb_options"] = {"config-file": str(embedded_config())}
        tune_embedded_allocator()
    if dsn.startswith("chdb://") and dsn != "chdb://memory":
        Path(dsn.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
    try:
        client = clickhouse_connect.get_client(dsn=dsn, **options)
    except ClickHouseError as exc:
        text = str(exc)
        if "EmbeddedServer" in text or "Unable to open the chdb engine" in text:
            raise WarehouseLocked(
                f"the embedded ClickHouse store {dsn} is in use by another process "
                f"({_first_line(exc)})"
            ) from exc
        raise WarehouseError(f"cannot connect to {_redact(dsn)}: {_first_line(exc)}") from exc
    return Warehouse(client, dsn)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _shorten(sql: str, limit: int = 80) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _redact(dsn: str) -> str:
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return dsn
