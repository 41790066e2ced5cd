"""The Avro codec: single-object framing, fingerprints, clear errors on bad bytes and values."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import random
import shutil
import uuid
from io import BytesIO
from pathlib import Path
from typing import Any

import avro.schema
import fastavro
import pytest

import streams.codec
from streams.codec import (
    AvroCodec,
    CodecError,
    DecodeError,
    EncodeError,
    RegistryError,
    SchemaLoadError,
    SchemaSet,
    default_avro_dir,
)
from streams.codec.testing import sample_value

RECORDS = (
    "AgentRequest",
    "AgentResult",
    "AgentTask",
    "BreakerEvent",
    "CacheEntry",
    "DeadLetter",
    "Capability",
    "Invocation",
    "Policy",
    "WorkflowEvent",
)


# The Apache Avro Python library keeps {"type": "long"} / {"type": "string"} for
# logical types in its canonical form, so its fingerprints differ from ours and Java's.
def apache_python_fingerprint(source: str) -> str:
    """The fingerprint the Apache Avro Python library computes for a schema file."""
    return bytes(avro.schema.parse(Path(source).read_text()).fingerprint("CRC-64-AVRO")).hex()


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet.load(default_avro_dir())


@pytest.fixture(scope="module")
def codec(schemas: SchemaSet) -> AvroCodec:
    return AvroCodec(schemas)


def crc64_avro(data: bytes) -> int:
    """The Avro spec's reference fingerprint algorithm, written out independently."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def minimal_request() -> dict[str, Any]:
    """An AgentRequest with only the fields that have no default."""
    return {
        "event_id": str(uuid.uuid4()),
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "occurred_at": dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC),
        "producer": "cli",
        "request_id": "req-1",
        "input": "hello",
    }


def test_public_api_is_pinned() -> None:
    assert sorted(streams.codec.__all__) == [
        "AvroCodec",
        "CodecError",
        "DecodeError",
        "DecodeErrorType",
        "Decoded",
        "EncodeError",
        "RecordSchema",
        "RegistryError",
        "SchemaLoadError",
        "SchemaRegistryClient",
        "SchemaSet",
        "default_avro_dir",
    ]


def test_schema_set_holds_every_record_and_history(schemas: SchemaSet) -> None:
    assert sorted(schemas.names) == sorted(RECORDS)
    assert [Path(v.source).name for v in schemas.versions("AgentRequest")] == [
        "AgentRequest.v1.avsc",
        "AgentRequest.avsc",
    ]
    assert [Path(v.source).name for v in schemas.versions("Invocation")] == [
        "Invocation.v1.avsc",
        "Invocation.v2.avsc",
        "Invocation.avsc",
    ]
    assert schemas.current("agentbus.events.Invocation") is schemas.current("Invocation")


@pytest.mark.parametrize("name", RECORDS)
@pytest.mark.parametrize("optional", ["value", "null"])
def test_every_record_round_trips_in_single_object_framing(
    codec: AvroCodec, schemas: SchemaSet, name: str, optional: Any
) -> None:
    value = sample_value(schemas.current(name), optional=optional)
    data = codec.encode(name, value)
    decoded = codec.decode(data)
    assert decoded.name == name
    assert decoded.value == value
    assert decoded.fingerprint == schemas.current(name).fingerprint
    assert decoded.schema_id is None
    assert codec.decode_as(name, data) == value


@pytest.mark.parametrize("name", RECORDS)
def test_header_is_c301_and_the_spec_fingerprint(
    codec: AvroCodec, schemas: SchemaSet, name: str
) -> None:
    schema = schemas.current(name)
    data = codec.encode(name, sample_value(schema))
    assert data[:2] == b"\xc3\x01"
    expected = crc64_avro(schema.canonical_form.encode())
    assert int.from_bytes(data[2:10], "little") == expected == schema.fingerprint
    # The body is plain Avro binary: any Avro library reads it with the schema file alone.
    raw = json.loads(Path(schema.source).read_text())
    body = fastavro.schemaless_reader(BytesIO(data[10:]), fastavro.parse_schema(raw))
    assert isinstance(body, dict)
    assert list(body) == [field["name"] for field in raw["fields"]]


def test_canonical_form_drops_docs_defaults_and_logical_types(schemas: SchemaSet) -> None:
    form = schemas.current("AgentRequest").canonical_form
    assert form.startswith('{"name":"agentbus.events.AgentRequest","type":"record","fields":[')
    assert '{"name":"event_id","type":"string"}' in form
    assert '{"name":"occurred_at","type":"long"}' in form
    assert "doc" not in form
    assert "default" not in form


@pytest.mark.parametrize("name", RECORDS)
def test_apache_python_fingerprint_variant_is_also_read(
    codec: AvroCodec, schemas: SchemaSet, name: str
) -> None:
    schema = schemas.current(name)
    assert schema.alt_fingerprint_bytes is not None
    assert schema.alt_fingerprint_bytes.hex() == apache_python_fingerprint(schema.source)
    value = sample_value(schema)
    data = codec.encode(name, value)
    as_apache_writes_it = b"\xc3\x01" + schema.alt_fingerprint_bytes + data[10:]
    assert codec.decode_as(name, as_apache_writes_it) == value


def test_history_fingerprints_include_the_apache_variant(schemas: SchemaSet) -> None:
    v1 = schemas.versions("AgentRequest")[0]
    assert v1.alt_fingerprint_bytes is not None
    assert v1.alt_fingerprint_bytes.hex() == apache_python_fingerprint(v1.source)
    assert schemas.by_fingerprint(v1.alt_fingerprint_bytes) is v1


def test_defaults_fill_fields_left_out(codec: AvroCodec) -> None:
    value = codec.decode_as("AgentRequest", codec.encode("AgentRequest", minimal_request()))
    assert value["tenant"] == "default"
    assert value["metadata"] == {}
    assert value["parent_span_id"] is None
    assert value["session_id"] is None


def test_uuid_is_str_and_timestamps_are_aware_utc(codec: AvroCodec) -> None:
    request = minimal_request()
    request["event_id"] = uuid.UUID("7c0f3a52-1d2e-4b8f-9a61-3e5d2c4b1a09")  # UUID objects are fine
    request["occurred_at"] = dt.datetime(
        2024, 3, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))
    )
    value = codec.decode_as("AgentRequest", codec.encode("AgentRequest", request))
    assert value["event_id"] == "7c0f3a52-1d2e-4b8f-9a61-3e5d2c4b1a09"
    assert type(value["event_id"]) is str
    assert value["occurred_at"] == dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert value["occurred_at"].tzinfo == dt.UTC


def test_timestamps_keep_milliseconds_and_accept_epoch_millis(codec: AvroCodec) -> None:
    request = minimal_request()
    request["occurred_at"] = 1_709_294_400_123
    value = codec.decode_as("AgentRequest", codec.encode("AgentRequest", request))
    assert value["occurred_at"] == dt.datetime(2024, 3, 1, 12, 0, 0, 123000, tzinfo=dt.UTC)


def test_naive_datetime_is_taken_as_utc(codec: AvroCodec) -> None:
    # Pinned fastavro behaviour, documented in the codec: naive means UTC.
    request = minimal_request()
    request["occurred_at"] = dt.datetime(2024, 3, 1, 12, 0)  # noqa: DTZ001  # the naive case is the point
    value = codec.decode_as("AgentRequest", codec.encode("AgentRequest", request))
    assert value["occurred_at"] == dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def _payloads(codec: AvroCodec) -> dict[str, bytes]:
    good = codec.encode("AgentRequest", minimal_request())
    return {
        "empty": b"",
        "garbage": b"\x17\x99garbage bytes that are no event",
        "json": json.dumps(minimal_request(), default=str).encode(),
        "short_header": b"\xc3\x01\x7e\xd3",
        "unknown_fingerprint": b"\xc3\x01" + bytes.fromhex("0102030405060708") + good[10:],
        "truncated_body": good[: len(good) - 5],
        "header_only": good[:10],
        "trailing_bytes": good + b"\x00\x00",
        "confluent_without_registry": b"\x00\x00\x00\x00\x2a" + good[10:],
    }


@pytest.mark.parametrize(
    ("case", "error_type", "words"),
    [
        ("empty", "not_avro", "empty payload"),
        ("garbage", "not_avro", "starts with 17 99"),
        ("json", "not_avro", "looks like JSON"),
        ("short_header", "not_avro", "too short"),
        ("unknown_fingerprint", "unknown_schema", "unknown schema fingerprint 0x0807060504030201"),
        ("truncated_body", "corrupt_body", "corrupt AgentRequest"),
        ("header_only", "corrupt_body", "corrupt AgentRequest"),
        ("trailing_bytes", "corrupt_body", "2 byte(s) after the record"),
        ("confluent_without_registry", "unknown_schema", "no schema registry is configured"),
    ],
)
def test_bad_bytes_give_a_one_line_decode_error(
    codec: AvroCodec, case: str, error_type: str, words: str
) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode(_payloads(codec)[case])
    assert info.value.error_type == error_type
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    assert message == info.value.reason


def test_unknown_fingerprint_message_points_at_the_schema_folders(codec: AvroCodec) -> None:
    with pytest.raises(DecodeError, match=r"\(not in avro/ or avro/history/\)$"):
        codec.decode(_payloads(codec)["unknown_fingerprint"])


def test_decode_as_refuses_another_record(codec: AvroCodec, schemas: SchemaSet) -> None:
    data = codec.encode("AgentTask", sample_value(schemas.current("AgentTask")))
    with pytest.raises(DecodeError) as info:
        codec.decode_as("AgentRequest", data)
    assert info.value.error_type == "wrong_record"
    assert str(info.value) == "expected record AgentRequest, got AgentTask (AgentTask.avsc)"
    assert codec.decode_as("agentbus.events.AgentTask", data)["agent"] == "text"


def test_mutated_events_only_ever_raise_decode_errors(codec: AvroCodec, schemas: SchemaSet) -> None:
    # Whatever arrives on a topic, the consumer gets a DecodeError it can dead-letter,
    # never an arbitrary exception that would stop the stream.
    good = codec.encode("Invocation", sample_value(schemas.current("Invocation")))
    rng = random.Random(20240517)
    outcomes: set[str] = set()
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(2 if rng.random() < 0.9 else 0, len(data))] = rng.randrange(256)
        cut = rng.randrange(len(data) + 1) if rng.random() < 0.3 else len(data)
        try:
            codec.decode(bytes(data[:cut]))
        except DecodeError as exc:
            assert "\n" not in str(exc)
            outcomes.add(exc.error_type)
        else:
            outcomes.add("ok")
    assert {"corrupt_body", "unknown_schema", "ok"} <= outcomes


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"input": None}, "input", "must be string"),
        ({"input": 42}, "input", "must be string"),
        ({"metadata": {"k": 1}}, "metadata", "must be string"),
        ({"occurred_at": "yesterday"}, "occurred_at", ""),
        ({"parent_span_id": 3}, "parent_span_id", "do not match"),
        ({"colour": "blue"}, "colour", "more fields than the schema specifies"),
        ({"request_id": ...}, "request_id", "missing"),
    ],
)
def test_values_that_do_not_fit_name_record_and_field(
    codec: AvroCodec, change: dict[str, Any], field: str, words: str
) -> None:
    request = minimal_request()
    for key, new in change.items():
        if new is ...:
            del request[key]
        else:
            request[key] = new
    with pytest.raises(EncodeError) as info:
        codec.encode("AgentRequest", request)
    assert info.value.record == "AgentRequest"
    assert info.value.field == field
    assert str(info.value).startswith(f"cannot encode AgentRequest.{field}: ")
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_encode_refuses_unknown_records_and_non_mappings(codec: AvroCodec) -> None:
    with pytest.raises(EncodeError, match="unknown record; known: AgentRequest"):
        codec.encode("AgentRequets", minimal_request())
    with pytest.raises(EncodeError, match="value must be a mapping, not list"):
        codec.encode("AgentRequest", [1, 2])  # type: ignore[arg-type]


def test_validate_catches_what_the_writer_coerces(schemas: SchemaSet) -> None:
    strict = AvroCodec(schemas, validate=True)
    value = sample_value(schemas.current("Invocation"))
    value["attempt"] = 2**40  # Avro int is 32-bit; Java readers would choke on this
    AvroCodec(schemas).encode("Invocation", value)  # the plain writer lets it through
    with pytest.raises(EncodeError) as info:
        strict.encode("Invocation", value)
    assert info.value.field == "attempt"
    assert "is not a valid int" in str(info.value)


def test_default_avro_dir_is_the_repository_folder() -> None:
    path = default_avro_dir()
    assert path == Path(__file__).resolve().parents[2] / "avro"
    assert (path / "AgentRequest.avsc").is_file()


def test_load_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(SchemaLoadError, match="not found"):
        SchemaSet.load(tmp_path / "missing")
    with pytest.raises(SchemaLoadError, match=r"no \.avsc files"):
        SchemaSet.load(tmp_path)

    (tmp_path / "Broken.avsc").write_text('{"type": "record", "name": "Broken", "fields": [')
    with pytest.raises(SchemaLoadError, match=r"Broken\.avsc: cannot read schema"):
        SchemaSet.load(tmp_path)

    (tmp_path / "Broken.avsc").write_text(
        json.dumps(
            {
                "type": "record",
                "name": "Broken",
                "fields": [{"name": "n", "type": "int", "default": "x"}],
            }
        )
    )
    with pytest.raises(SchemaLoadError, match=r"Broken\.avsc: invalid Avro schema"):
        SchemaSet.load(tmp_path)


def test_history_without_a_current_schema_is_refused(tmp_path: Path) -> None:
    source = default_avro_dir()
    shutil.copy(source / "AgentTask.avsc", tmp_path)
    (tmp_path / "history").mkdir()
    shutil.copy(source / "history" / "AgentRequest.v1.avsc", tmp_path / "history")
    with pytest.raises(SchemaLoadError, match="record AgentRequest has no current schema"):
        SchemaSet.load(tmp_path)


def test_a_record_defined_twice_is_refused(tmp_path: Path) -> None:
    shutil.copy(default_avro_dir() / "AgentTask.avsc", tmp_path / "A.avsc")
    shutil.copy(default_avro_dir() / "AgentTask.avsc", tmp_path / "B.avsc")
    with pytest.raises(SchemaLoadError, match="record AgentTask defined twice"):
        SchemaSet.load(tmp_path)


def test_errors_keep_their_context_through_pickling() -> None:
    # Errors may cross process boundaries (worker pools, subprocess test runners).
    decode = pickle.loads(pickle.dumps(DecodeError("empty payload", "not_avro")))
    assert (str(decode), decode.error_type) == ("empty payload", "not_avro")
    encode = pickle.loads(pickle.dumps(EncodeError("AgentTask", "must be string", "agent")))
    assert (str(encode), encode.field) == ("cannot encode AgentTask.agent: must be string", "agent")
    registry = pickle.loads(pickle.dumps(RegistryError("GET /x: down", url="http://r", status=503)))
    assert (str(registry), registry.status, registry.retriable) == (
        "schema registry http://r: GET /x: down (HTTP 503)",
        503,
        True,
    )
    assert all(isinstance(e, CodecError) for e in (decode, encode, registry))
    assert not decode.retriable
