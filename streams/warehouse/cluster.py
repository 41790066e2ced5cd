"""The cluster variant of the schema, generated from the single-node migration files.

One set of DDL files (``infra/clickhouse``) serves both shapes of store. On a cluster
(``AGENTBUS_CLICKHOUSE_CLUSTER``) every table becomes a replicated local table
``<name>_local`` (``Replicated*MergeTree``) plus a ``Distributed`` table under the
original name, so the sink's inserts and every query (``trace``, dashboards, the
``otel_traces`` view) keep using the names they always did. Every statement runs
``ON CLUSTER``.

The sharding key is the first column of the table's ``ORDER BY``: rows that
ReplacingMergeTree must collapse (same order key) then always meet on one shard, and a
request's rows (``request_id`` first) stay together for ``trace``.

The transformer knows the statement shapes the migrations use and refuses any other,
so a new migration cannot silently produce a wrong cluster DDL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from streams.errors import StreamsError

__all__ = ["ClusterDDLError", "ClusterLayout", "local_table"]

LOCAL_SUFFIX = "_local"

_NAME = re.compile(r"^[A-Za-z0-9_.\-{}]+$")
_CREATE_DATABASE = re.compile(r"^CREATE\s+DATABASE\s+IF\s+NOT\s+EXISTS\s+(\w+)$", re.IGNORECASE)
_CREATE_TABLE = re.compile(
    r"^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)\.(\w+)\s*\(", re.IGNORECASE
)
_ENGINE = re.compile(r"\bENGINE\s*=\s*(\w*MergeTree)(?:\s*\(([^()]*)\))?", re.IGNORECASE)
_ORDER_BY = re.compile(r"\bORDER\s+BY\s+\(?\s*([A-Za-z_]\w*)", re.IGNORECASE)
_ALTER_TABLE = re.compile(r"^ALTER\s+TABLE\s+(\w+)\.(\w+)\s+(.*)$", re.IGNORECASE | re.DOTALL)
_CREATE_VIEW = re.compile(
    r"^(CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?)(\w+\.\w+)(\s+AS\s+.*)$",
    re.IGNORECASE | re.DOTALL,
)
# Column changes the Distributed table must mirror (it has its own column list);
# storage-only changes (codecs, indexes, TTL, settings) touch the local table alone.
_COLUMN_SHAPE = re.compile(r"^(ADD|DROP|RENAME|COMMENT)\s+COLUMN\b", re.IGNORECASE)
_MODIFY_COLUMN = re.compile(r"^MODIFY\s+COLUMN\s+(?:IF\s+EXISTS\s+)?\w+\s+(\S+)", re.IGNORECASE)


class ClusterDDLError(StreamsError):
    """A migration statement has a shape the cluster transformer does not know.

    Not retriable: the migration file (or the transformer) needs changing.
    """

    retriable = False


def local_table(table: str) -> str:
    """The replicated table that holds ``table``'s rows on each shard."""
    return f"{table}{LOCAL_SUFFIX}"


@dataclass(frozen=True)
class ClusterLayout:
    """How the schema is laid out on the ClickHouse cluster ``cluster``.

    ``zookeeper_path`` is the replication path of each local table; ``{shard}`` and
    ``{replica}`` are the servers' own macros, filled in by ClickHouse.
    """

    cluster: str
    zookeeper_path: str = "/clickhouse/tables/{shard}/{database}/{table}"
    replica_name: str = "{replica}"

    def __post_init__(self) -> None:
        if not _NAME.match(self.cluster):
            raise ClusterDDLError(
                f"cluster name {self.cluster!r} may hold only letters, digits, '_', '-', '.' "
                "and {macros} (AGENTBUS_CLICKHOUSE_CLUSTER)"
            )

    @property
    def on_cluster(self) -> str:
        return f"ON CLUSTER '{self.cluster}'"

    def transform(self, statement: str) -> list[str]:
        """The cluster statements for one single-node ``statement``, in order."""
        text = statement.strip()
        if match := _CREATE_DATABASE.match(text):
            return [f"{text} {self.on_cluster}"]
        if match := _CREATE_TABLE.match(text):
            return self._create_table(text, match.group(1), match.group(2))
        if match := _ALTER_TABLE.match(text):
            return self._alter(match.group(1), match.group(2), match.group(3).strip())
        if match := _CREATE_VIEW.match(text):
            return [f"{match.group(1)}{match.group(2)} {self.on_cluster}{match.group(3)}"]
        raise ClusterDDLError(f"no cluster form for statement: {' '.join(text.split())[:100]}")

    def transform_all(self, statements: list[str]) -> list[str]:
        return [out for statement in statements for out in self.transform(statement)]

    def _create_table(self, text: str, database: str, table: str) -> list[str]:
        engine = _ENGINE.search(text)
        order = _ORDER_BY.search(text)
        if engine is None or order is None:
            raise ClusterDDLError(
                f"{database}.{table}: the cluster form needs a *MergeTree engine and an ORDER BY"
            )
        local = local_table(table)
        path = self.zookeeper_path.format(shard="{shard}", database=database, table=local)
        args = [f"'{path}'", f"'{self.replica_name}'"]
        if engine.group(2) and engine.group(2).strip():
            args.append(engine.group(2).strip())
        replicated = f"ENGINE = Replicated{engine.group(1)}({', '.join(args)})"
        create = _CREATE_TABLE.match(text)
        assert create is not None  # the caller matched it
        local_ddl = (
            f"CREATE TABLE IF NOT EXISTS {database}.{local} {self.on_cluster}\n("
            + text[create.end() : engine.start()]
            + replicated
            + text[engine.end() :]
        )
        distributed = (
            f"CREATE TABLE IF NOT EXISTS {database}.{table} {self.on_cluster} "
            f"AS {database}.{local} "
            f"ENGINE = Distributed('{self.cluster}', '{database}', '{local}', "
            f"cityHash64({order.group(1)}))"
        )
        return [local_ddl, distributed]

    def _alter(self, database: str, table: str, action: str) -> list[str]:
        local = f"ALTER TABLE {database}.{local_table(table)} {self.on_cluster} {action}"
        modify = _MODIFY_COLUMN.match(action)
        mirrors = _COLUMN_SHAPE.match(action) or (
            modify is not None and not modify.group(1).upper().startswith("CODEC")
        )
        if not mirrors:
            return [local]
        return [local, f"ALTER TABLE {database}.{table} {self.on_cluster} {action}"]
