"""The two wire framings an event may carry, and how to tell them apart.

Single-object encoding (Avro spec): ``C3 01`` + 8-byte little-endian CRC-64-AVRO
fingerprint of the writer schema + Avro binary body. Any Avro library can read
it with the schema files alone.

Confluent framing: ``00`` + 4-byte big-endian schema-registry id + Avro binary
body. Readable by Confluent tooling; needs the registry to find the schema.
"""

from __future__ import annotations

from streams.codec.errors import DecodeError

__all__ = [
    "CONFLUENT_HEADER_SIZE",
    "CONFLUENT_MAGIC",
    "SINGLE_OBJECT_HEADER_SIZE",
    "SINGLE_OBJECT_MAGIC",
    "confluent_header",
    "single_object_header",
    "split_frame",
]

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
SINGLE_OBJECT_HEADER_SIZE = 10
CONFLUENT_MAGIC = b"\x00"
CONFLUENT_HEADER_SIZE = 5

_EXPECTED = "expected C3 01 (Avro single-object) or 00 (Confluent) header"


def single_object_header(fingerprint_bytes: bytes) -> bytes:
    """Header for a body written with the schema of this fingerprint (wire byte order)."""
    if len(fingerprint_bytes) != 8:
        raise ValueError(f"a CRC-64-AVRO fingerprint has 8 bytes, not {len(fingerprint_bytes)}")
    return SINGLE_OBJECT_MAGIC + fingerprint_bytes


def confluent_header(schema_id: int) -> bytes:
    """Header for a body written with the registry schema ``schema_id``."""
    return CONFLUENT_MAGIC + schema_id.to_bytes(4, "big")  # OverflowError outside 0..2**32-1


def split_frame(data: bytes) -> tuple[bytes | int, int]:
    """Read the header of ``data``.

    Returns the writer's fingerprint bytes (single-object) or schema id
    (Confluent), and the offset where the Avro body starts. Raises
    ``DecodeError`` (``not_avro``) when ``data`` carries neither header.
    """
    if data[:2] == SINGLE_OBJECT_MAGIC:
        if len(data) < SINGLE_OBJECT_HEADER_SIZE:
            raise DecodeError(
                f"payload of {len(data)} bytes is too short for an Avro single-object header "
                f"({SINGLE_OBJECT_HEADER_SIZE} bytes)",
                "not_avro",
            )
        return bytes(data[2:SINGLE_OBJECT_HEADER_SIZE]), SINGLE_OBJECT_HEADER_SIZE
    if data[:1] == CONFLUENT_MAGIC:
        if len(data) < CONFLUENT_HEADER_SIZE:
            raise DecodeError(
                f"payload of {len(data)} bytes is too short for a Confluent header "
                f"({CONFLUENT_HEADER_SIZE} bytes)",
                "not_avro",
            )
        return int.from_bytes(data[1:CONFLUENT_HEADER_SIZE], "big"), CONFLUENT_HEADER_SIZE
    raise DecodeError(_describe(data), "not_avro")


def _describe(data: bytes) -> str:
    if not data:
        return f"empty payload; {_EXPECTED}"
    if data.lstrip()[:1] in (b"{", b"["):
        snippet = bytes(data[:24]).decode("utf-8", "replace")
        return f"payload looks like JSON ({snippet!r}…), not Avro; {_EXPECTED}"
    return f"not Avro: payload starts with {bytes(data[:4]).hex(' ')}; {_EXPECTED}"
