"""The ClickHouse projection on a real embedded chdb store (one per test session:
chdb opens a single path per process)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.codec import default_avro_dir
from streams.events import envelope, new_id, new_trace_id
from streams.warehouse import Warehouse, open_warehouse
from streams.warehouse.client import RETAINED_TABLES, SchemaOptions, split_statements
from streams.warehouse.tables import TABLE_FOR_RECORD
from streams.warehouse.writer import EventWriter, record_columns


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    store = open_warehouse(f"chdb://{tmp_path_factory.mktemp('chdb')}")
    store.apply_schema()
    yield store
    store.close()


@pytest.fixture
def clean(warehouse: Warehouse) -> Warehouse:
    for table in TABLE_FOR_RECORD.values():
        warehouse.command(f"TRUNCATE TABLE agentbus.{table}")
    return warehouse


def _result(request_id: str, event_id: str | None = None) -> dict[str, object]:
    return {
        **envelope(
            producer="specialist:support",
            trace_id=new_trace_id(),
            parent_span_id=None,
            event_id=event_id,
        ),
        "request_id": request_id,
        "task_id": new_id(),
        "tenant": "acme",
        "agent": "support",
        "status": "ok",
        "output": "done",
        "error": None,
        "disclaimer": None,
        "model": "sim-small",
        "attempts": 1,
        "input_tokens": 10,
        "output_tokens": 20,
        "cost_usd": 0.001,
        "latency_ms": 5.0,
        "chain": [],  # as the sink reads it: Avro fills the default of an older event
    }


def test_schema_columns_match_the_avro_fields(warehouse: Warehouse) -> None:
    columns = record_columns(default_avro_dir())
    for record, table in TABLE_FOR_RECORD.items():
        rows = warehouse.query(
            "SELECT name FROM system.columns WHERE database = 'agentbus' AND table = {t:String} "
            "AND name != 'ingested_at' ORDER BY position",
            {"t": table},
        ).rows
        assert [r[0] for r in rows] == columns[record], table


def test_schema_applies_twice_without_error(warehouse: Warehouse) -> None:
    assert warehouse.apply_schema() == warehouse.apply_schema()


def test_rows_are_readable_right_after_insert(clean: Warehouse) -> None:
    writer = EventWriter(clean, record_columns(default_avro_dir()))
    writer.write([("AgentResult", _result("r1")), ("AgentResult", _result("r2"))])
    rows = clean.query(
        "SELECT request_id, status, occurred_at FROM agentbus.results ORDER BY request_id"
    ).rows
    assert [r[:2] for r in rows] == [["r1", "ok"], ["r2", "ok"]]
    assert isinstance(rows[0][2], dt.datetime)


def test_redelivered_events_count_once(clean: Warehouse) -> None:
    event = _result("r1", event_id=new_id())
    first = EventWriter(clean, record_columns(default_avro_dir()))
    first.write([("AgentResult", event), ("AgentResult", event)])
    assert first.stats.duplicates_skipped == 1
    # A restarted sink has no memory of the first write: the engine collapses the copy.
    EventWriter(clean, record_columns(default_avro_dir())).write([("AgentResult", event)])
    assert clean.query("SELECT count() FROM agentbus.results FINAL").rows == [[1]]


def test_dead_letter_without_request_id_is_stored(clean: Warehouse) -> None:
    letter = {
        **envelope(producer="router", trace_id=new_trace_id(), parent_span_id=None),
        "request_id": None,
        "reason": "not Avro",
        "error_type": "not_avro",
        "source_topic": "agentbus.intake",
        "source_partition": 0,
        "source_offset": 7,
        "raw": b"\x00garbage",
    }
    EventWriter(clean, record_columns(default_avro_dir())).write([("DeadLetter", letter)])
    assert clean.query(
        "SELECT request_id, reason, source_offset FROM agentbus.dead_letters"
    ).rows == [["", "not Avro", 7]]


def test_migration_files_split_into_statements() -> None:
    sql = "-- comment\nCREATE TABLE a (x Int8) ENGINE=Memory;\n\n-- more\nSELECT 1;\n"
    assert split_statements(sql) == ["CREATE TABLE a (x Int8) ENGINE=Memory", "SELECT 1"]


def test_schema_folder_exists() -> None:
    assert any(Path(__file__).resolve().parents[2].joinpath("infra", "clickhouse").glob("*.sql"))


def _ttls(warehouse: Warehouse) -> dict[str, bool]:
    rows = warehouse.query(
        "SELECT name, engine_full LIKE '% TTL %' FROM system.tables "
        "WHERE database = 'agentbus' AND engine LIKE '%MergeTree'"
    ).rows
    return {str(name): bool(has) for name, has in rows}


def test_retention_setting_is_applied_and_removed(warehouse: Warehouse) -> None:
    try:
        warehouse.apply_schema(SchemaOptions(ttl_days=30))
        ttls = _ttls(warehouse)
        assert all(ttls[t] for t in RETAINED_TABLES)
        assert not ttls["policies"] and not ttls["capabilities"]  # current state is kept
        warehouse.apply_schema(SchemaOptions(ttl_days=30))  # nothing to change, no error
        warehouse.apply_schema()  # a reader leaves retention alone
        assert all(_ttls(warehouse)[t] for t in RETAINED_TABLES)
    finally:
        warehouse.apply_schema(SchemaOptions(ttl_days=0))
    assert not any(_ttls(warehouse).values())


def test_no_event_column_is_left_with_the_default_codec(warehouse: Warehouse) -> None:
    plain = warehouse.query(
        "SELECT table, name FROM system.columns WHERE database = 'agentbus' "
        "AND table IN {tables:Array(String)} AND compression_codec = '' "
        "AND type NOT LIKE 'LowCardinality%' AND type NOT IN ('Bool', 'Int32')",
        {"tables": list(RETAINED_TABLES)},
    ).rows
    assert plain == []


def test_otel_traces_view_has_the_exporter_shape(warehouse: Warehouse) -> None:
    columns = warehouse.query("DESCRIBE TABLE agentbus.otel_traces").rows
    shape = {str(r[0]): str(r[1]) for r in columns}
    assert shape["Timestamp"].startswith("DateTime64(9")
    assert shape["Duration"] == "UInt64"
    assert shape["SpanAttributes"] == "Map(LowCardinality(String), String)"
    assert [c for c in shape if c.startswith(("Events.", "Links."))] == [
        "Events.Timestamp",
        "Events.Name",
        "Events.Attributes",
        "Links.TraceId",
        "Links.SpanId",
        "Links.TraceState",
        "Links.Attributes",
    ]


_SHOW_ALLOCATOR = """
import re, sys
from streams.warehouse import open_warehouse
store = open_warehouse("chdb://" + sys.argv[1])
stats = store.query("SELECT * FROM system.jemalloc_stats").rows[0][0]
print(re.search(r"opt.dirty_decay_ms: (\\d+)", stats).group(1))
"""


def _dirty_decay_ms(path: Path, **env: str) -> int:
    """The decay chdb's jemalloc runs with in a fresh process (it reads its options once)."""
    environ = {k: v for k, v in os.environ.items() if k != "JE_MALLOC_CONF"} | env
    done = subprocess.run(
        [sys.executable, "-c", _SHOW_ALLOCATOR, str(path)],
        env=environ, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return int(done.stdout.strip().splitlines()[-1])


def test_the_embedded_store_hands_freed_memory_back_at_once_unless_told_otherwise(
    tmp_path: Path,
) -> None:
    """chdb's jemalloc keeps freed pages 5 s by default, which let the sink's RSS swing
    far above what its store holds; an operator's own JE_MALLOC_CONF still wins."""
    assert _dirty_decay_ms(tmp_path / "a") == 0
    assert _dirty_decay_ms(tmp_path / "b", JE_MALLOC_CONF="dirty_decay_ms:7000") == 7000


def test_the_embedded_store_runs_with_small_caches_and_lean_merges(warehouse: Warehouse) -> None:
    """A server's defaults (5 GiB caches, 16 merge threads, wide merges) would let the
    sink's memory climb with its tables; the embedded configuration bounds them."""
    server = dict(
        warehouse.query(
            "SELECT name, value FROM system.server_settings WHERE name IN "
            "('mark_cache_size', 'primary_index_cache_size', 'background_pool_size', "
            "'background_merges_mutations_concurrency_ratio')"
        ).rows
    )
    assert server == {
        "mark_cache_size": str(64 * 2**20),
        "primary_index_cache_size": str(32 * 2**20),
        "background_pool_size": "2",
        "background_merges_mutations_concurrency_ratio": "1",
    }
    merges = dict(
        warehouse.query(
            "SELECT name, value FROM system.merge_tree_settings WHERE name IN "
            "('vertical_merge_algorithm_min_rows_to_activate', 'merge_max_block_size', "
            "'concurrent_part_removal_threshold')"
        ).rows
    )
    assert merges == {
        "vertical_merge_algorithm_min_rows_to_activate": "1",
        "merge_max_block_size": "1024",
        "concurrent_part_removal_threshold": "1000000",
    }
