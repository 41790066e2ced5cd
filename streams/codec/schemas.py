"""The record schemas of ``avro/``: parsed once, fingerprinted, looked up by name or fingerprint.

``avro/*.avsc`` holds the current version of each record (one record per file);
``avro/history/*.avsc`` holds older versions that may still be on the topics.
Events written with any of them are read as the current version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro.schema import (
    SchemaParseException,
    fingerprint,
    parse_schema,
    to_parsing_canonical_form,
)

from streams.codec.errors import SchemaLoadError
from streams.resources import ResourceError, data_dir

__all__ = ["RecordSchema", "SchemaSet", "default_avro_dir", "record_schema"]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
# Attributes the Apache Avro Python library does not count as a primitive's own properties.
_APACHE_RESERVED = frozenset(
    {"type", "name", "namespace", "fields", "items", "size", "symbols", "values", "doc"}
)


@dataclass(frozen=True, slots=True, eq=False)
class RecordSchema:
    """One version of one record, ready for fastavro.

    ``fingerprint`` is the CRC-64-AVRO of the Parsing Canonical Form as the Avro
    spec, Java and fastavro compute it; ``fingerprint_bytes`` is the same value
    little-endian, as it appears in a single-object header. ``alt_fingerprint_bytes``
    is what the Apache Avro Python library computes for the same schema (it keeps
    ``{"type": "long"}`` for logical-typed primitives), or ``None`` when both agree.
    """

    name: str
    full_name: str
    schema_json: str
    """The schema as written (docs and defaults included), compact JSON."""
    parsed: dict[str, Any]
    """fastavro-parsed schema used to write."""
    read_parsed: dict[str, Any]
    """fastavro-parsed schema used to read: ``uuid`` strings come back as ``str``."""
    canonical_form: str
    fingerprint: int
    fingerprint_bytes: bytes
    alt_fingerprint_bytes: bytes | None
    source: str


def default_avro_dir() -> Path:
    """The ``avro/`` folder agentbus ships (``agentbus_data.avro``, see :mod:`streams.resources`).

    Raises ``SchemaLoadError`` when the installation lacks it: then pass the folder
    holding the .avsc files to ``SchemaSet.load`` explicitly.
    """
    try:
        return data_dir("avro")
    except ResourceError as exc:
        raise SchemaLoadError(f"{exc}; or pass the folder holding the .avsc files") from exc


def record_schema(raw: Mapping[str, Any], source: str) -> RecordSchema:
    """Parse one record schema (a JSON object) and fingerprint it; ``source`` names its origin."""
    if not isinstance(raw, Mapping) or raw.get("type") not in ("record", "error"):
        raise SchemaLoadError(f"{source}: not an Avro record schema")
    try:
        parsed = _parse(dict(raw))
        read_parsed = _parse(_without_uuid(raw))
    except (SchemaParseException, ValueError, TypeError, KeyError) as exc:
        raise SchemaLoadError(f"{source}: invalid Avro schema: {exc}") from exc
    canonical = to_parsing_canonical_form(parsed)
    wire = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
    apache = _apache_python_canonical_form(canonical, parsed)
    alt = bytes.fromhex(fingerprint(apache, "CRC-64-AVRO")) if apache != canonical else None
    full_name: str = parsed["name"]
    return RecordSchema(
        name=full_name.rpartition(".")[2],
        full_name=full_name,
        schema_json=json.dumps(raw, separators=(",", ":")),
        parsed=parsed,
        read_parsed=read_parsed,
        canonical_form=canonical,
        fingerprint=int.from_bytes(wire, "little"),
        fingerprint_bytes=wire,
        alt_fingerprint_bytes=alt,
        source=source,
    )


class SchemaSet:
    """Current schema of every record, and every known version by fingerprint.

    Immutable after construction; safe to share between threads.
    """

    def __init__(
        self, current: Iterable[RecordSchema], history: Iterable[RecordSchema] = ()
    ) -> None:
        self._current: dict[str, RecordSchema] = {}
        for schema in current:
            if schema.name in self._current:
                raise SchemaLoadError(
                    f"record {schema.name} defined twice: "
                    f"{self._current[schema.name].source} and {schema.source}"
                )
            self._current[schema.name] = schema
        self._by_fingerprint: dict[bytes, RecordSchema] = {}
        self._versions: dict[str, list[RecordSchema]] = {name: [] for name in self._current}
        for schema in (*history, *self._current.values()):
            if schema.name not in self._current:
                raise SchemaLoadError(
                    f"{schema.source}: record {schema.name} has no current schema"
                )
            self._versions[schema.name].append(schema)
            self._by_fingerprint[schema.fingerprint_bytes] = schema
            if schema.alt_fingerprint_bytes is not None:
                self._by_fingerprint[schema.alt_fingerprint_bytes] = schema
        # Full names work wherever short names do.
        self._by_name = {**self._current, **{s.full_name: s for s in self._current.values()}}

    @classmethod
    def load(cls, avro_dir: Path) -> SchemaSet:
        """Read ``avro_dir/*.avsc`` (current) and ``avro_dir/history/*.avsc`` (older versions)."""
        if not avro_dir.is_dir():
            raise SchemaLoadError(f"Avro schema folder not found: {avro_dir}")
        current = [_load_file(path) for path in sorted(avro_dir.glob("*.avsc"))]
        if not current:
            raise SchemaLoadError(f"no .avsc files in {avro_dir}")
        history = [_load_file(path) for path in sorted(avro_dir.glob("history/*.avsc"))]
        return cls(current, history)

    @property
    def names(self) -> tuple[str, ...]:
        """Short names of all records, e.g. ``("AgentRequest", ...)``."""
        return tuple(self._current)

    def current(self, name: str) -> RecordSchema:
        """Current schema of a record by short or full name; ``KeyError`` if unknown."""
        return self._by_name[name]

    def by_fingerprint(self, fingerprint_bytes: bytes) -> RecordSchema | None:
        """The version whose fingerprint (either variant, wire byte order) this is."""
        return self._by_fingerprint.get(fingerprint_bytes)

    def versions(self, name: str) -> tuple[RecordSchema, ...]:
        """Every known version of a record, oldest history first, current last."""
        return tuple(self._versions[self.current(name).name])


def _load_file(path: Path) -> RecordSchema:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaLoadError(f"{path}: cannot read schema: {exc}") from exc
    return record_schema(raw, str(path))


def _parse(raw: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_schema(raw)
    if not isinstance(parsed, dict):  # a record schema always parses to a dict
        raise SchemaLoadError(f"unexpected parse result for record {raw.get('name')}")
    return parsed


def _without_uuid(node: Any) -> Any:
    # fastavro turns uuid strings into uuid.UUID on read, and applies logical
    # types from the writer schema: dropping the annotation from the reading
    # copies returns plain str at no per-event cost (the fingerprint is taken
    # from the real schema, so nothing changes on the wire).
    if isinstance(node, Mapping):
        return {
            key: _without_uuid(value)
            for key, value in node.items()
            if not (key == "logicalType" and value == "uuid")
        }
    if isinstance(node, list):
        return [_without_uuid(item) for item in node]
    return node


def _apache_python_canonical_form(canonical: str, parsed: dict[str, Any]) -> str:
    """Canonical form as Apache Avro Python 1.12 writes it (FACTS.md, "Avro").

    It writes a primitive carrying extra attributes (a logical type) as
    ``{"type": "long"}`` instead of ``"long"``; everything else matches the spec.
    """
    return json.dumps(_keep_annotated(json.loads(canonical), parsed), separators=(",", ":"))


def _keep_annotated(canon: Any, source: Any) -> Any:
    # Walk the canonical form and the parsed schema side by side (same shape,
    # same order) and undo the spec's collapsing of annotated primitives.
    if isinstance(source, list):
        return [_keep_annotated(c, s) for c, s in zip(canon, source, strict=True)]
    if not isinstance(source, Mapping):
        return canon  # a primitive name or a reference to a named type
    kind = source["type"]
    if kind in _PRIMITIVES:
        return {"type": kind} if set(source) - _APACHE_RESERVED else canon
    if isinstance(kind, (Mapping, list)):
        return _keep_annotated(canon, kind)  # {"type": {...}} wrapper around a schema
    if kind in ("record", "error") and isinstance(canon, dict):
        for c_field, s_field in zip(canon["fields"], source["fields"], strict=True):
            c_field["type"] = _keep_annotated(c_field["type"], s_field["type"])
    elif kind == "array":
        canon["items"] = _keep_annotated(canon["items"], source["items"])
    elif kind == "map":
        canon["values"] = _keep_annotated(canon["values"], source["values"])
    return canon
