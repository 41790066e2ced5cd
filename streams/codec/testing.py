"""Test helpers: a sample value for any record schema, exact under an Avro round trip."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Literal

from streams.codec.schemas import RecordSchema

__all__ = ["sample_value"]

_PRIMITIVE_SAMPLES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "int": 7,
    "long": 7_000_000_000,
    "float": 1.5,
    "double": 2.25,
    "bytes": b"\x00\xffraw",
    "string": "text",
}
_LOGICAL_SAMPLES: dict[str, Any] = {
    "uuid": "0b5e9d4c-6f1a-4e2b-9c3d-7a8b9c0d1e2f",
    # Millisecond precision and UTC: what a timestamp-millis field gives back.
    "timestamp-millis": dt.datetime(2024, 5, 17, 9, 30, 15, 123000, tzinfo=dt.UTC),
}


def sample_value(
    schema: RecordSchema, *, optional: Literal["value", "null"] = "value"
) -> dict[str, Any]:
    """A value for every field of ``schema``.

    ``optional="value"`` fills optional (``["null", T]``) fields with a ``T``;
    ``optional="null"`` leaves them ``None``. The value decodes back equal to itself.
    """
    named: Mapping[str, Any] = schema.parsed.get("__named_schemas", {})
    return _record(schema.parsed, named, optional == "null")


def _sample(node: Any, named: Mapping[str, Any], nulls: bool) -> Any:
    if isinstance(node, str):
        if node in _PRIMITIVE_SAMPLES:
            return _PRIMITIVE_SAMPLES[node]
        return _sample(named[node], named, nulls)
    if isinstance(node, list):
        if nulls and "null" in node:
            return None
        return _sample(next(b for b in node if b != "null"), named, nulls)
    if node.get("logicalType") in _LOGICAL_SAMPLES:
        return _LOGICAL_SAMPLES[node["logicalType"]]
    build = _COMPLEX.get(node["type"])
    return build(node, named, nulls) if build else _sample(node["type"], named, nulls)


def _record(node: Any, named: Mapping[str, Any], nulls: bool) -> dict[str, Any]:
    return {f["name"]: _sample(f["type"], named, nulls) for f in node["fields"]}


_Builder = Callable[[Any, Mapping[str, Any], bool], Any]
_COMPLEX: dict[str, _Builder] = {
    "record": _record,
    "error": _record,
    "array": lambda node, named, nulls: [_sample(node["items"], named, nulls)],
    "map": lambda node, named, nulls: {"key": _sample(node["values"], named, nulls)},
    "enum": lambda node, _named, _nulls: node["symbols"][0],
    "fixed": lambda node, _named, _nulls: bytes(node["size"]),
}
