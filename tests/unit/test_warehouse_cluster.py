"""The cluster form of the schema is generated text (no cluster can run here): pin it."""

from __future__ import annotations

import pytest

from streams.warehouse.client import (
    RETAINED_TABLES,
    SchemaOptions,
    retention_statements,
    schema_dir,
    split_statements,
)
from streams.warehouse.cluster import ClusterDDLError, ClusterLayout

LAYOUT = ClusterLayout("prod")


def _cluster_schema() -> list[str]:
    options = SchemaOptions(cluster="prod")
    return [
        out
        for path in sorted(schema_dir().glob("*.sql"))
        for out in options.statements(path.read_text())
    ]


def test_database_is_created_on_the_cluster() -> None:
    assert LAYOUT.transform("CREATE DATABASE IF NOT EXISTS agentbus") == [
        "CREATE DATABASE IF NOT EXISTS agentbus ON CLUSTER 'prod'"
    ]


def test_a_table_becomes_a_replicated_local_table_and_a_distributed_one() -> None:
    local, distributed = LAYOUT.transform(
        "CREATE TABLE IF NOT EXISTS agentbus.results\n(\n    event_id String,\n"
        "    request_id String\n)\nENGINE = ReplacingMergeTree\n"
        "PARTITION BY toYYYYMM(occurred_at)\nORDER BY (request_id, event_id)"
    )
    assert local == (
        "CREATE TABLE IF NOT EXISTS agentbus.results_local ON CLUSTER 'prod'\n(\n"
        "    event_id String,\n    request_id String\n)\n"
        "ENGINE = ReplicatedReplacingMergeTree("
        "'/clickhouse/tables/{shard}/agentbus/results_local', '{replica}')\n"
        "PARTITION BY toYYYYMM(occurred_at)\nORDER BY (request_id, event_id)"
    )
    # Same name as before, so the sink and every query keep working; a request's rows
    # (and every copy of one event) land on one shard.
    assert distributed == (
        "CREATE TABLE IF NOT EXISTS agentbus.results ON CLUSTER 'prod' AS agentbus.results_local "
        "ENGINE = Distributed('prod', 'agentbus', 'results_local', cityHash64(request_id))"
    )


def test_engine_arguments_are_kept_after_the_replication_path() -> None:
    local, _ = LAYOUT.transform(
        "CREATE TABLE IF NOT EXISTS agentbus.capabilities (mesh String, agent String) "
        "ENGINE = ReplacingMergeTree(occurred_at) ORDER BY (mesh, capability, agent)"
    )
    assert local.endswith(
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/agentbus/"
        "capabilities_local', '{replica}', occurred_at) ORDER BY (mesh, capability, agent)"
    )


def test_column_changes_reach_both_tables_storage_changes_only_the_local_one() -> None:
    add = "ALTER TABLE agentbus.results ADD COLUMN IF NOT EXISTS chain Array(String)"
    assert LAYOUT.transform(add) == [
        "ALTER TABLE agentbus.results_local ON CLUSTER 'prod' ADD COLUMN IF NOT EXISTS chain "
        "Array(String)",
        "ALTER TABLE agentbus.results ON CLUSTER 'prod' ADD COLUMN IF NOT EXISTS chain "
        "Array(String)",
    ]
    for storage in (
        "ALTER TABLE agentbus.results MODIFY COLUMN event_id CODEC(ZSTD(1))",
        "ALTER TABLE agentbus.results ADD INDEX IF NOT EXISTS idx_trace trace_id "
        "TYPE bloom_filter(0.001) GRANULARITY 1",
        "ALTER TABLE agentbus.results MODIFY TTL toDateTime(occurred_at) + INTERVAL 30 DAY",
    ):
        (only,) = LAYOUT.transform(storage)
        assert only.startswith("ALTER TABLE agentbus.results_local ON CLUSTER 'prod' ")
    retype = "ALTER TABLE agentbus.results MODIFY COLUMN error LowCardinality(String)"
    assert len(LAYOUT.transform(retype)) == 2


def test_views_are_created_on_the_cluster_over_the_distributed_tables() -> None:
    (view,) = LAYOUT.transform(
        "CREATE OR REPLACE VIEW agentbus.v AS SELECT 1 FROM agentbus.results"
    )
    assert view == (
        "CREATE OR REPLACE VIEW agentbus.v ON CLUSTER 'prod' AS SELECT 1 FROM agentbus.results"
    )


def test_every_migration_has_a_cluster_form() -> None:
    statements = _cluster_schema()
    single = [
        s for p in sorted(schema_dir().glob("*.sql")) for s in split_statements(p.read_text())
    ]
    assert len(statements) > len(single)
    assert all("ON CLUSTER 'prod'" in s for s in statements)
    creates = [s for s in statements if s.startswith("CREATE TABLE")]
    assert not [s for s in creates if "_local" not in s.split("(")[0] and "Distributed(" not in s]
    assert not [s for s in creates if "ENGINE = ReplacingMergeTree" in s]


def test_unknown_statement_shapes_and_bad_names_are_refused() -> None:
    with pytest.raises(ClusterDDLError, match="no cluster form"):
        LAYOUT.transform("INSERT INTO agentbus.results VALUES (1)")
    with pytest.raises(ClusterDDLError, match="AGENTBUS_CLICKHOUSE_CLUSTER"):
        ClusterLayout("prod'; DROP")


def test_retention_changes_only_what_differs() -> None:
    none = dict.fromkeys(RETAINED_TABLES)
    assert len(retention_statements(30, none)) == len(RETAINED_TABLES)
    same = dict.fromkeys(RETAINED_TABLES, "toDateTime(occurred_at) + toIntervalDay(30)")
    assert retention_statements(30, same) == []
    assert retention_statements(7, same)[0] == (
        "ALTER TABLE agentbus.requests MODIFY TTL toDateTime(occurred_at) + INTERVAL 7 DAY"
    )
    assert retention_statements(0, same)[0] == "ALTER TABLE agentbus.requests REMOVE TTL"
    assert retention_statements(0, none) == []
