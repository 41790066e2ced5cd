"""Property-based tests of the Avro codec: whatever arrives on a topic, decode fails cleanly.

A consumer dead-letters what ``AvroCodec.decode`` refuses, by the ``DecodeError``'s
``error_type``; any other exception would crash the consumer (or, in Faust, skip an
offset silently). So for any bytes, above all near-valid ones (a flipped bit, a cut
or padded payload, another record's fingerprint), decode returns a value or raises a
``DecodeError`` with a known ``error_type``. And every valid ``AgentRequest``,
however odd its strings, decodes back equal to what was encoded.
"""

from __future__ import annotations

import datetime as dt
import string
from io import BytesIO
from typing import Any, get_args

import fastavro
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streams.codec import (
    AvroCodec,
    DecodeError,
    DecodeErrorType,
    EncodeError,
    RecordSchema,
    SchemaSet,
)
from streams.codec import default_avro_dir as avro_dir
from streams.codec.testing import sample_value

SCHEMAS = SchemaSet.load(avro_dir())
CODEC = AvroCodec(SCHEMAS)
ERROR_TYPES = set(get_args(DecodeErrorType))
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every fingerprint a header may carry, current and history, both variants.
FINGERPRINTS = sorted(
    {
        fp
        for name in SCHEMAS.names
        for version in SCHEMAS.versions(name)
        for fp in (version.fingerprint_bytes, version.alt_fingerprint_bytes)
        if fp is not None
    }
)


def _written_with(version: RecordSchema, optional: Any) -> bytes:
    body = BytesIO()
    fastavro.schemaless_writer(body, version.parsed, sample_value(version, optional=optional))
    return b"\xc3\x01" + version.fingerprint_bytes + body.getvalue()


# One valid event per version (history ones go through schema resolution on read)
# and optional-field shape.
VALID = [
    _written_with(version, optional)
    for name in SCHEMAS.names
    for version in SCHEMAS.versions(name)
    for optional in ("value", "null")
]


def decode_cleanly(data: bytes) -> None:
    """Decode ``data`` both ways; only a value or a well-typed ``DecodeError`` may come out."""
    try:
        decoded = CODEC.decode(data)
    except DecodeError as exc:
        assert exc.error_type in ERROR_TYPES
        assert exc.reason
        assert "\n" not in exc.reason
    else:
        assert isinstance(decoded.value, dict)
        assert decoded.name in SCHEMAS.names
    for name in ("AgentRequest", "CacheEntry"):
        try:
            value = CODEC.decode_as(name, data)
        except DecodeError as exc:
            assert exc.error_type in ERROR_TYPES
        else:
            assert isinstance(value, dict)


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    """A valid event with one to three mutations applied."""
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "truncate", "extend", "swap", "byte", "splice"]))
        if kind == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        elif kind == "extend":
            data += draw(st.binary(min_size=1, max_size=32))
        elif kind == "swap" and len(data) >= 10:
            data[2:10] = draw(st.sampled_from(FINGERPRINTS))
        elif kind == "byte" and data:
            i = draw(st.integers(0, len(data) - 1))
            # Avro lengths and longs are zig-zag varints: 0x7f/0x80/0xff hit their edges.
            data[i] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]))
        elif kind == "splice":
            other = draw(st.sampled_from(VALID))
            cut = draw(st.integers(0, len(other)))
            data[draw(st.integers(0, len(data))) :] = other[cut:]
    return bytes(data)


headers = st.one_of(
    st.just(b""),
    st.sampled_from(FINGERPRINTS).map(lambda fp: b"\xc3\x01" + fp),
    st.binary(min_size=4, max_size=4).map(lambda sid: b"\x00" + sid),
)


@FUZZ
@given(st.binary(max_size=300))
@example(b"")
@example(b"\xc3")
@example(b"\xc3\x01")
@example(b"\x00\x00\x00")
@example(b'{"event_id": 1}')
def test_random_bytes_decode_to_a_value_or_a_decode_error(data: bytes) -> None:
    decode_cleanly(data)


@FUZZ
@given(headers, st.binary(max_size=300))
def test_a_known_header_on_random_bodies_decodes_cleanly(header: bytes, body: bytes) -> None:
    decode_cleanly(header + body)


@FUZZ
@given(mutated_events())
def test_mutated_valid_events_decode_cleanly(data: bytes) -> None:
    decode_cleanly(data)


def test_every_single_bit_flip_of_a_request_decodes_cleanly() -> None:
    # Exhaustive where it is cheap: each of the ~3,000 bit flips of one event.
    event = CODEC.encode("AgentRequest", sample_value(SCHEMAS.current("AgentRequest")))
    outcomes: dict[str, int] = {}
    for i in range(len(event) * 8):
        data = bytearray(event)
        data[i // 8] ^= 1 << (i % 8)
        try:
            CODEC.decode(bytes(data))
            outcomes["value"] = outcomes.get("value", 0) + 1
        except DecodeError as exc:
            outcomes[exc.error_type] = outcomes.get(exc.error_type, 0) + 1
    assert sum(outcomes.values()) == len(event) * 8
    # Flips in the magic bytes and fingerprint are refused by header...
    assert outcomes["not_avro"] + outcomes["unknown_schema"] >= 16 + 64 - 1
    assert outcomes["corrupt_body"] > 0


def test_every_valid_event_of_every_version_decodes() -> None:
    # The mutations start from these: they must be valid to begin with.
    for event in VALID:
        assert CODEC.decode(event).name in SCHEMAS.names


def test_a_payload_cut_anywhere_is_a_decode_error() -> None:
    for event in VALID:
        for cut in range(len(event)):
            with pytest.raises(DecodeError) as info:
                CODEC.decode(event[:cut])
            assert info.value.error_type in {"not_avro", "corrupt_body"}, (event.hex(), cut)


# --- encode → decode round trip of valid AgentRequest values -------------------------

odd_text = st.one_of(
    st.text(),  # any code point UTF-8 can carry, control characters included
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "So"])),
    st.sampled_from(["", "\x00", "\u200b\u200d", "e\u0301", "🏳️‍🌈", "\ufeffBOM", "\r\n\t"]),
    st.text(string.printable, min_size=1, max_size=8).flatmap(
        lambda chunk: st.integers(1, 150_000).map(lambda n: chunk * n)  # up to ~1.2 MB
    ),
)
ids = st.one_of(st.uuids().map(str), odd_text)  # the uuid fields take any string
# Years 1 to 9999, to the millisecond (timestamp-millis).
millis = st.datetimes(timezones=st.just(dt.UTC)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
)

requests = st.fixed_dictionaries(
    {
        "event_id": ids,
        "trace_id": odd_text,
        "span_id": odd_text,
        "parent_span_id": st.none() | odd_text,
        "occurred_at": millis,
        "producer": odd_text,
        "request_id": ids,
        "tenant": odd_text,
        "input": odd_text,
        "target_agent": st.none() | odd_text,
        "metadata": st.dictionaries(odd_text, odd_text, max_size=5),
        "session_id": st.none() | ids,
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_any_valid_request_round_trips(request: dict[str, Any]) -> None:
    data = CODEC.encode("AgentRequest", request)
    assert CODEC.decode_as("AgentRequest", data) == request
    decoded = CODEC.decode(data)
    assert (decoded.name, decoded.value) == ("AgentRequest", request)


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1).map(lambda t: t + "\ud800"))
def test_a_string_utf8_cannot_carry_is_an_encode_error(text: str) -> None:
    # A lone surrogate (e.g. from a bad JSON decode upstream) is refused at the producer.
    value = {**sample_value(SCHEMAS.current("AgentRequest")), "input": text}
    with pytest.raises(EncodeError) as info:
        CODEC.encode("AgentRequest", value)
    assert info.value.record == "AgentRequest"
