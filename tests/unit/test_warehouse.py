"""The ClickHouse projection on a real embedded chdb store (one per test session:
chdb opens a single path per process)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.codec import default_avro_dir
from streams.events import envelope, new_id, new_trace_id
from streams.warehouse import Warehouse, open_warehouse
from streams.warehouse.client import split_statements
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
