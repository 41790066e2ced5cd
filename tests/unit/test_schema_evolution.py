"""Schema evolution: events written with any known version stay readable, both ways.

Every change to a schema in ``avro/`` must keep the previous version (moved to
``avro/history/``) backward compatible (old events read with the new schema)
and forward compatible (new events read by consumers still on the old schema).
"""

from __future__ import annotations

import datetime as dt
import shutil
from io import BytesIO
from pathlib import Path
from typing import Any

import fastavro
import pytest

from streams.codec import AvroCodec, DecodeError, RecordSchema, SchemaSet, default_avro_dir
from streams.codec.testing import sample_value

# An AgentRequest as a v1 producer wrote it (single-object framing, v1 fingerprint
# 0xe90da46add147177). Frozen bytes: they also catch an accidental edit of the v1 file.
RECORDED_V1_REQUEST = bytes.fromhex(
    "c301777114dd6aa40de94837633066336135322d316432652d346238662d3961"
    "36312d3365356432633462316130394034626639326633353737623334646136"
    "6133636539323964306530653437333620303066303637616130626139303262"
    "3700f4cb959ebf6306636c69107265712d303030310861636d65305768657265"
    "206973206d79206f726465722023313233343f020e737570706f7274020e6368"
    "616e6e656c0a656d61696c00"
)


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet.load(default_avro_dir())


@pytest.fixture(scope="module")
def codec(schemas: SchemaSet) -> AvroCodec:
    return AvroCodec(schemas)


def history(schemas: SchemaSet) -> list[tuple[RecordSchema, RecordSchema]]:
    """(old version, current version) for every schema in avro/history/."""
    return [
        (old, schemas.current(name))
        for name in schemas.names
        for old in schemas.versions(name)[:-1]
    ]


def write(schema: RecordSchema, value: dict[str, Any]) -> bytes:
    buf = BytesIO()
    fastavro.schemaless_writer(buf, schema.parsed, value)
    return buf.getvalue()


def read(body: bytes, writer: RecordSchema, reader: RecordSchema) -> dict[str, Any]:
    # The reading schemas the codec uses (uuid fields come back as str).
    value = fastavro.schemaless_reader(BytesIO(body), writer.read_parsed, reader.read_parsed)
    assert isinstance(value, dict)
    return value


def test_there_is_history_to_check(schemas: SchemaSet) -> None:
    assert sorted((old.name, Path(old.source).name) for old, _ in history(schemas)) == [
        ("AgentRequest", "AgentRequest.v1.avsc"),
        ("AgentResult", "AgentResult.v1.avsc"),
        ("AgentResult", "AgentResult.v2.avsc"),
        ("AgentTask", "AgentTask.v1.avsc"),
        ("CacheEntry", "CacheEntry.v1.avsc"),
        ("Invocation", "Invocation.v1.avsc"),
        ("Invocation", "Invocation.v2.avsc"),
    ]


def test_recorded_v1_request_reads_with_the_current_codec(codec: AvroCodec) -> None:
    decoded = codec.decode(RECORDED_V1_REQUEST)
    assert decoded.name == "AgentRequest"
    assert decoded.fingerprint == codec.schemas.versions("AgentRequest")[0].fingerprint
    assert decoded.value == {
        "event_id": "7c0f3a52-1d2e-4b8f-9a61-3e5d2c4b1a09",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "parent_span_id": None,
        "occurred_at": dt.datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=dt.UTC),
        "producer": "cli",
        "request_id": "req-0001",
        "tenant": "acme",
        "input": "Where is my order #1234?",
        "target_agent": "support",
        "metadata": {"channel": "email"},
        "session_id": None,  # added in v2; v1 events read with its default
    }


def test_v1_request_written_now_reads_as_current(codec: AvroCodec, schemas: SchemaSet) -> None:
    v1 = schemas.versions("AgentRequest")[0]
    value = sample_value(v1)
    data = b"\xc3\x01" + v1.fingerprint_bytes + write(v1, value)
    assert codec.decode_as("AgentRequest", data) == {**value, "session_id": None}


def test_current_request_reads_with_only_v1(schemas: SchemaSet) -> None:
    v1 = schemas.versions("AgentRequest")[0]
    current = schemas.current("AgentRequest")
    value = sample_value(current)
    assert value["session_id"] is not None
    old_view = read(write(current, value), current, v1)
    assert old_view == {k: v for k, v in value.items() if k != "session_id"}


def test_a_consumer_on_v1_without_registry_refuses_v2_events_clearly(
    schemas: SchemaSet, tmp_path: Path
) -> None:
    # Single-object framing carries only a fingerprint: a consumer must have the
    # new schema file before producers use it (deploy consumers first), or use a
    # registry (see test_schema_registry). The refusal is a clear unknown_schema.
    shutil.copy(default_avro_dir() / "history" / "AgentRequest.v1.avsc", tmp_path)
    old_codec = AvroCodec(SchemaSet.load(tmp_path))
    new_event = AvroCodec(schemas).encode(
        "AgentRequest", sample_value(schemas.current("AgentRequest"))
    )
    with pytest.raises(DecodeError) as info:
        old_codec.decode(new_event)
    assert info.value.error_type == "unknown_schema"


@pytest.mark.parametrize("optional", ["value", "null"])
def test_every_history_version_resolves_both_ways(schemas: SchemaSet, optional: Any) -> None:
    for old, current in history(schemas):
        label = f"{Path(old.source).name} <-> {Path(current.source).name}"

        old_value = sample_value(old, optional=optional)
        as_current = read(write(old, old_value), old, current)
        current_fields = {f["name"]: f for f in current.parsed["fields"]}
        for name, field in current_fields.items():
            expected = old_value[name] if name in old_value else field["default"]
            assert as_current[name] == expected, f"backward: {label}, field {name}"

        current_value = sample_value(current, optional=optional)
        as_old = read(write(current, current_value), current, old)
        for field in old.parsed["fields"]:
            name = field["name"]
            expected = current_value[name] if name in current_value else field["default"]
            assert as_old[name] == expected, f"forward: {label}, field {name}"


def test_fields_added_since_a_history_version_have_defaults(schemas: SchemaSet) -> None:
    # What makes old events readable; spelled out so a failure names the field.
    for old, current in history(schemas):
        old_names = {f["name"] for f in old.parsed["fields"]}
        for field in current.parsed["fields"]:
            if field["name"] not in old_names:
                assert "default" in field, f"{current.name}.{field['name']} needs a default"
        current_names = {f["name"] for f in current.parsed["fields"]}
        for field in old.parsed["fields"]:
            if field["name"] not in current_names:
                assert "default" in field, f"removed {old.name}.{field['name']} needs a default"


def test_cache_entries_keep_provider_tier_and_tool_calls_across_versions(
    codec: AvroCodec, schemas: SchemaSet
) -> None:
    # v2 added what a cache hit reports (finding 5): a v1 entry reads with empty
    # values, and a consumer still on v1 reads a v2 entry without them.
    v1 = schemas.versions("CacheEntry")[0]
    current = schemas.current("CacheEntry")
    old_entry = sample_value(v1)
    data = b"\xc3\x01" + v1.fingerprint_bytes + write(v1, old_entry)
    assert codec.decode_as("CacheEntry", data) == {
        **old_entry,
        "provider": None,
        "tier": None,
        "tool_calls": [],
    }

    new_entry = {
        **sample_value(current),
        "provider": "sim",
        "tier": "frontier",
        "tool_calls": ["lookup_card", "reset_pin"],
    }
    assert codec.decode_as("CacheEntry", codec.encode("CacheEntry", new_entry)) == new_entry
    as_v1 = read(write(current, new_entry), current, v1)
    assert as_v1 == {
        k: v for k, v in new_entry.items() if k not in ("provider", "tier", "tool_calls")
    }


def test_tasks_keep_the_routing_model_version_across_versions(
    codec: AvroCodec, schemas: SchemaSet
) -> None:
    # v2 records which trained router model chose the agent (issue 8): a v1 task reads as
    # routed without a model, and a consumer still on v1 reads a v2 task without it.
    v1 = schemas.versions("AgentTask")[0]
    current = schemas.current("AgentTask")
    old_task = sample_value(v1)
    data = b"\xc3\x01" + v1.fingerprint_bytes + write(v1, old_task)
    assert codec.decode_as("AgentTask", data) == {**old_task, "routing_model_version": None}

    new_task = {**sample_value(current), "routing_model_version": "20261130T104500Z-3f2a9c1b07de"}
    assert codec.decode_as("AgentTask", codec.encode("AgentTask", new_task)) == new_task
    as_v1 = read(write(current, new_task), current, v1)
    assert as_v1 == {k: v for k, v in new_task.items() if k != "routing_model_version"}


def test_invocations_keep_their_tool_runs_across_versions(
    codec: AvroCodec, schemas: SchemaSet
) -> None:
    # v3 records every tool call an attempt ran (issue 7, tools): a v2 invocation reads
    # as one that ran none, and a consumer still on v2 reads a v3 one without them.
    v2 = schemas.versions("Invocation")[1]
    current = schemas.current("Invocation")
    old = sample_value(v2)
    data = b"\xc3\x01" + v2.fingerprint_bytes + write(v2, old)
    assert codec.decode_as("Invocation", data) == {**old, "tool_runs": []}

    run = {
        "name": "reset_pin",
        "arguments": '{"account_id":"4417"}',
        "result": None,
        "error": "reset_pin did not finish within 10s",
        "latency_ms": 10000.0,
        "idempotency_key": "reset_pin:0f3c",
        "call_id": "call_1",
        "round": 2,
    }
    new = {**sample_value(current), "tool_runs": [run]}
    assert codec.decode_as("Invocation", codec.encode("Invocation", new)) == new
    assert read(write(current, new), current, v2) == {
        k: v for k, v in new.items() if k != "tool_runs"
    }


def test_results_keep_the_chain_of_agents_across_versions(
    codec: AvroCodec, schemas: SchemaSet
) -> None:
    # v3 records which agents handed the request on before the one that answered (issue 8,
    # edges that run): a v2 result reads as answered first hand, and a consumer still on
    # v2 reads a v3 result without it.
    v2 = schemas.versions("AgentResult")[1]
    current = schemas.current("AgentResult")
    old = sample_value(v2)
    data = b"\xc3\x01" + v2.fingerprint_bytes + write(v2, old)
    assert codec.decode_as("AgentResult", data) == {**old, "chain": []}

    new = {**sample_value(current), "chain": ["support"]}
    assert codec.decode_as("AgentResult", codec.encode("AgentResult", new)) == new
    assert read(write(current, new), current, v2) == {k: v for k, v in new.items() if k != "chain"}
