"""Encode events to Avro bytes and decode them back, in either framing.

Writes single-object encoding by default, Confluent framing when built with a
schema registry; reads both either way. Old events are resolved to the current
schema of their record, so consumers only ever see the current shape.

Python values: ``uuid`` fields are ``str`` on decode (``str`` or ``uuid.UUID``
on encode); ``timestamp-millis`` fields decode to timezone-aware UTC
``datetime`` and encode from an aware ``datetime``, epoch milliseconds, or a
naive ``datetime``, which fastavro takes as UTC.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Literal, cast

from fastavro import schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError
from fastavro.validation import ValidationError, validate

from streams.codec.errors import DecodeError, EncodeError, RegistryError, SchemaLoadError
from streams.codec.framing import confluent_header, single_object_header, split_frame
from streams.codec.registry import SchemaRegistryClient
from streams.codec.schemas import RecordSchema, SchemaSet, record_schema

__all__ = ["AvroCodec", "Decoded"]

# What fastavro raises on a body that does not match its schema (found by fuzzing
# 1.13: EOFError, UnicodeDecodeError, IndexError, OverflowError on dates).
_BODY_ERRORS = (EOFError, ValueError, IndexError, OverflowError, KeyError, TypeError)
# What fastavro raises on a value that does not fit the schema.
_VALUE_ERRORS = (TypeError, ValueError, OverflowError, AttributeError, KeyError)
_FIELD_IN_MESSAGE = re.compile(
    r"(?:on field|no value and no default for|^Field|schema specifies:) (\w+)"
)
_FIELD_SUFFIX = re.compile(r"( on field \w+)+$")
_UNKNOWN_IDS_MAX = 1024


@dataclass(frozen=True, slots=True)
class Decoded:
    """One decoded event, in the shape of the current schema of its record."""

    name: str
    """Short record name, e.g. ``"AgentRequest"``."""
    value: dict[str, Any]
    fingerprint: int
    """CRC-64-AVRO fingerprint of the schema the event was written with."""
    schema_id: int | None = None
    """Registry id for a Confluent-framed event, ``None`` for single-object."""


class _ReadPlan:
    """How to read bodies written with one writer schema (fixed, prepared once)."""

    __slots__ = ("fingerprint", "full_name", "label", "name", "reader", "schema_id", "writer")

    def __init__(
        self, writer: RecordSchema, current: RecordSchema, label: str, schema_id: int | None
    ) -> None:
        self.name = current.name
        self.full_name = current.full_name
        self.writer = writer.read_parsed
        # None skips fastavro's schema resolution when nothing needs resolving.
        self.reader = None if writer.fingerprint == current.fingerprint else current.read_parsed
        self.fingerprint = writer.fingerprint
        self.schema_id = schema_id
        self.label = label


class AvroCodec:
    """Turns event dicts into Avro bytes and back.

    Schemas are parsed once; encode and decode only look up prepared plans.
    With a registry, a record's schema is registered (subject = the record's
    full name, RecordNameStrategy) on its first encode, or up front with
    ``register_schemas()``, which avoids blocking an event loop later.
    ``validate=True`` runs fastavro's full validation before each write (about
    20 µs): it also rejects what the writer would coerce silently (floats or
    out-of-range ints in ``int`` fields, a string given for an array).
    Caches may be filled concurrently; a race costs a duplicate lookup at worst.
    """

    def __init__(
        self,
        schemas: SchemaSet,
        registry: SchemaRegistryClient | None = None,
        *,
        validate: bool = False,
    ) -> None:
        self.schemas = schemas
        self._registry = registry
        self._validate = validate
        self._headers: dict[str, bytes] = {}
        if registry is None:
            for name in schemas.names:
                current = schemas.current(name)
                self._headers[name] = single_object_header(current.fingerprint_bytes)
        self._by_fingerprint: dict[bytes, _ReadPlan] = {}
        for name in schemas.names:
            current = schemas.current(name)
            for version in schemas.versions(name):
                plan = _ReadPlan(version, current, f"{name} ({Path(version.source).name})", None)
                self._by_fingerprint[version.fingerprint_bytes] = plan
                if version.alt_fingerprint_bytes is not None:
                    self._by_fingerprint[version.alt_fingerprint_bytes] = plan
        self._by_id: dict[int, _ReadPlan] = {}
        self._unknown_ids: dict[int, str] = {}

    @property
    def framing(self) -> Literal["single-object", "confluent"]:
        """``"confluent"`` with a registry, else ``"single-object"``: what ``encode`` writes."""
        return "single-object" if self._registry is None else "confluent"

    def encode(self, name: str, value: Mapping[str, Any]) -> bytes:
        """Avro bytes of ``value`` written with the current schema of record ``name``.

        Fields with a default may be left out; unknown fields are refused.
        Raises ``EncodeError`` naming the record (and field, when known), or
        ``RegistryError`` when the schema cannot be registered.
        """
        try:
            schema = self.schemas.current(name)
        except KeyError:
            raise EncodeError(
                name, f"unknown record; known: {', '.join(self.schemas.names)}"
            ) from None
        if self._validate:
            _check(schema, value)
        header = self._headers.get(schema.name) or self._register(schema)
        buf = BytesIO()
        buf.write(header)
        try:
            schemaless_writer(buf, schema.parsed, value, strict_allow_default=True)
        except _VALUE_ERRORS as exc:
            raise _encode_error(schema, value, exc) from exc
        return buf.getvalue()

    def decode(self, data: bytes) -> Decoded:
        """The event in ``data`` (either framing), resolved to its record's current schema.

        Raises ``DecodeError`` (``not_avro``, ``unknown_schema``, ``corrupt_body``),
        or ``RegistryError`` when the registry is needed and cannot answer
        (retriable: the event itself may be fine).
        """
        plan, offset = self._plan(data)
        return Decoded(plan.name, self._read(plan, data, offset), plan.fingerprint, plan.schema_id)

    def decode_as(self, name: str, data: bytes) -> dict[str, Any]:
        """The value of ``data``, which must be a ``name`` record (short or full name).

        Raises ``DecodeError`` with ``wrong_record`` for another record, else as ``decode``.
        """
        plan, offset = self._plan(data)
        if name not in (plan.name, plan.full_name):
            raise DecodeError(f"expected record {name}, got {plan.label}", "wrong_record")
        return self._read(plan, data, offset)

    def register_schemas(self) -> dict[str, int]:
        """Register every current schema now; returns name → schema id (empty without registry)."""
        if self._registry is None:
            return {}
        ids: dict[str, int] = {}
        for name in self.schemas.names:
            header = self._headers.get(name) or self._register(self.schemas.current(name))
            ids[name] = int.from_bytes(header[1:], "big")
        return ids

    def __repr__(self) -> str:
        return f"AvroCodec({len(self.schemas.names)} records, {self.framing})"

    def _plan(self, data: bytes) -> tuple[_ReadPlan, int]:
        key, offset = split_frame(data)
        if isinstance(key, bytes):
            plan = self._by_fingerprint.get(key)
            if plan is None:
                crc = int.from_bytes(key, "little")
                raise DecodeError(
                    f"unknown schema fingerprint 0x{crc:016x} (not in avro/ or avro/history/)",
                    "unknown_schema",
                )
            return plan, offset
        return self._by_id.get(key) or self._fetch(key), offset

    @staticmethod
    def _read(plan: _ReadPlan, data: bytes, offset: int) -> dict[str, Any]:
        buf = BytesIO(data)
        buf.seek(offset)
        try:
            # A record schema always reads to a dict.
            value = cast(dict[str, Any], schemaless_reader(buf, plan.writer, plan.reader))
        except SchemaResolutionError as exc:
            raise DecodeError(
                f"{plan.label} cannot be read as the current {plan.name}: {exc}", "unknown_schema"
            ) from exc
        except _BODY_ERRORS as exc:
            raise DecodeError(
                f"corrupt {plan.label} body: {type(exc).__name__}: {exc}", "corrupt_body"
            ) from exc
        if buf.tell() != len(data):
            raise DecodeError(
                f"corrupt {plan.label} body: {len(data) - buf.tell()} byte(s) after the record",
                "corrupt_body",
            )
        return value

    def _register(self, schema: RecordSchema) -> bytes:
        assert self._registry is not None  # without one, every header was prepared up front
        schema_id = self._registry.register(schema.full_name, schema.schema_json)
        header = confluent_header(schema_id)
        self._by_id[schema_id] = _ReadPlan(
            schema, schema, f"{schema.name} (id {schema_id})", schema_id
        )
        self._headers[schema.name] = header
        return header

    def _fetch(self, schema_id: int) -> _ReadPlan:
        reason = self._unknown_ids.get(schema_id)
        if reason is None:
            try:
                plan = self._plan_from_registry(schema_id)
            except DecodeError as exc:
                if len(self._unknown_ids) >= _UNKNOWN_IDS_MAX:  # drop-oldest keeps it bounded
                    self._unknown_ids.pop(next(iter(self._unknown_ids)), None)
                self._unknown_ids[schema_id] = exc.reason
                raise
            self._by_id[schema_id] = plan
            return plan
        raise DecodeError(reason, "unknown_schema")

    def _plan_from_registry(self, schema_id: int) -> _ReadPlan:
        where = f"schema id {schema_id}"
        if self._registry is None:
            raise DecodeError(
                f"Confluent-framed event with {where}, but no schema registry is configured",
                "unknown_schema",
            )
        try:
            answer = self._registry.get_schema(schema_id)
        except RegistryError as exc:
            if exc.status != 404:
                raise  # the registry is unwell, not the event: let the caller retry
            raise DecodeError(
                f"{where} not found in {self._registry.url}", "unknown_schema"
            ) from exc
        if answer.get("schemaType", "AVRO") != "AVRO" or answer.get("references"):
            raise DecodeError(f"{where} is not a self-contained Avro schema", "unknown_schema")
        try:
            writer = record_schema(json.loads(answer["schema"]), f"registry {where}")
            current = self.schemas.current(writer.full_name)
        except (ValueError, SchemaLoadError) as exc:
            raise DecodeError(f"{where}: unusable schema: {exc}", "unknown_schema") from exc
        except KeyError:
            raise DecodeError(
                f"{where} is record {writer.full_name}, not one of {', '.join(self.schemas.names)}",
                "unknown_schema",
            ) from None
        known = self.schemas.by_fingerprint(writer.fingerprint_bytes)
        return _ReadPlan(known or writer, current, f"{current.name} ({where})", schema_id)


def _check(schema: RecordSchema, value: Mapping[str, Any]) -> None:
    try:
        validate(value, schema.parsed, raise_errors=True)
    except ValidationError as exc:
        bad = exc.errors[0] if exc.errors else None
        field = str(bad.field).rpartition(".")[2] if bad is not None else ""
        detail = f"{bad.datum!r} is not a valid {_type_name(bad.schema)}" if bad else str(exc)
        raise EncodeError(schema.name, detail, field or None) from exc


def _encode_error(schema: RecordSchema, value: Mapping[str, Any], exc: Exception) -> EncodeError:
    if not isinstance(value, Mapping):
        return EncodeError(schema.name, f"value must be a mapping, not {type(value).__name__}")
    detail = _FIELD_SUFFIX.sub("", str(exc)) or type(exc).__name__
    match = _FIELD_IN_MESSAGE.search(str(exc))
    if match:
        return EncodeError(schema.name, detail, match.group(1))
    try:
        _check(schema, value)  # error path only: validation names the field
    except EncodeError as named:
        return EncodeError(schema.name, detail, named.field)
    except _VALUE_ERRORS:
        pass
    return EncodeError(schema.name, detail)


def _type_name(schema: Any) -> str:
    # A short name for an Avro type in an error line, never a whole schema dump.
    if isinstance(schema, Mapping):
        return str(schema.get("logicalType") or schema.get("name") or schema.get("type"))
    if isinstance(schema, list):
        return " | ".join(_type_name(branch) for branch in schema)
    return str(schema)
