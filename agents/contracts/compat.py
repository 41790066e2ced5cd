"""Structural compatibility of two JSON Schemas: can what one side sends be read by the other?

The rule, applied recursively from the document root (or from the consumer field an edge
names): every document the producer can put on the wire must be accepted by the
consumer. Concretely, at each path

* every field the consumer requires exists in the producer's output and is always
  present there (a field with a default is always present: output is sent as
  `model_dump_json()`); consumer-optional fields the producer lacks are fine;
* fields on both sides are compared recursively; producer fields the consumer does not
  know are fine, unless the consumer forbids extra fields;
* JSON types match, with integer accepted where a number is; pydantic's lax coercions
  (a numeric string read as a float) are deliberately not relied on, so a change of
  wire type is always reported;
* every value a producer Literal/enum allows is one the consumer accepts; a consumer
  Literal needs a producer Literal within it;
* the producer's guarantees are at least the consumer's requirements: numeric bounds,
  string lengths and list lengths within the consumer's, the same `pattern`/`format`;
* a producer union needs every alternative accepted (a nullable field feeding a
  non-nullable one is reported); a consumer union needs one alternative that accepts.

Validators written in Python are invisible to a schema; the example check in
`agents.contracts.check` covers what this cannot see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agents.contracts._schema import (
    Defs,
    JsonSchema,
    branches,
    defs_of,
    describe,
    is_any,
    join,
    json_types,
    literal_values,
    ref_name,
    resolve,
)

__all__ = ["Mismatch", "compare_schemas"]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One way a producer's output fails a consumer's input, at one field path.

    `path` is dotted with `[]` for list items and `.*` for mapping values
    (`analysis.flagged[].amount`), "" for the whole document; `expected` is what the
    consumer accepts there, `found` what the producer sends.
    """

    path: str
    problem: str
    expected: str
    found: str
    source: Literal["schema", "example"] = "schema"


def compare_schemas(
    producer: JsonSchema, consumer: JsonSchema, *, path: str = ""
) -> list[Mismatch]:
    """Mismatches between a producer's wire schema and a consumer's input schema.

    Both are whole JSON Schemas (with their own `$defs`); `path` prefixes every reported
    path, for when `consumer` is one field of a larger input. Empty means compatible.
    """
    return _Comparer(defs_of(producer), defs_of(consumer)).compare(producer, consumer, path)


class _Comparer:
    def __init__(self, producer_defs: Defs, consumer_defs: Defs) -> None:
        self._pdefs = producer_defs
        self._cdefs = consumer_defs
        # Pairs of definitions under comparison: a recursive model meeting itself again
        # is assumed compatible, the rest of the walk decides.
        self._active: set[tuple[str, str]] = set()

    def compare(self, p: JsonSchema, c: JsonSchema, path: str) -> list[Mismatch]:
        key = (ref_name(p) or "", ref_name(c) or "")
        if all(key):
            if key in self._active:
                return []
            self._active.add(key)
            try:
                return self._compare(p, c, path)
            finally:
                self._active.discard(key)
        return self._compare(p, c, path)

    def _compare(  # noqa: PLR0911  # each rule of the module docstring returns on its own
        self, p_ref: JsonSchema, c_ref: JsonSchema, path: str
    ) -> list[Mismatch]:
        p, c = resolve(p_ref, self._pdefs), resolve(c_ref, self._cdefs)
        if is_any(c):
            return []
        if is_any(p):
            return [self._mismatch(path, "type not guaranteed", c_ref, p_ref)]
        p_options = branches(p)
        if p_options is not None:
            return self._producer_union(p_ref, p_options, c_ref, path)
        c_options = branches(c)
        if c_options is not None:
            return self._consumer_union(p_ref, c_options, path)
        values = literal_values(p)
        if values is not None:
            rejected = [v for v in values if not self._accepts(c, v)]
            c_types = _widened(json_types(c))
            if (
                c_types
                and literal_values(c) is None
                and all(_json_type(v) not in c_types for v in values)
            ):
                return [self._mismatch(path, "type changed", c_ref, p_ref)]
            expected = self._name(c_ref, consumer=True)
            return [Mismatch(path, "value not accepted", expected, _dump(v)) for v in rejected]
        if literal_values(c) is not None:
            return [self._mismatch(path, "values not restricted", c_ref, p_ref)]
        p_types, c_types = json_types(p), _widened(json_types(c))
        if not p_types <= c_types:
            return [self._mismatch(path, "type changed", c_ref, p_ref)]
        found: list[Mismatch] = []
        if "string" in p_types:
            found += _strings(p, c, path)
        if p_types & {"integer", "number"}:
            found += _numbers(p, c, path)
        if "array" in p_types:
            found += self._arrays(p, c, path)
        if "object" in p_types:
            found += self._objects(p, c, path)
        return found

    def _producer_union(
        self, p_ref: JsonSchema, options: Any, c_ref: JsonSchema, path: str
    ) -> list[Mismatch]:
        found: dict[Mismatch, None] = {}
        for option in options:
            if json_types(resolve(option, self._pdefs)) == {"null"}:
                if not self._accepts(resolve(c_ref, self._cdefs), None):
                    found[self._mismatch(path, "may be null", c_ref, p_ref)] = None
                continue
            found.update(dict.fromkeys(self.compare(option, c_ref, path)))
        return list(found)

    def _consumer_union(self, p_ref: JsonSchema, options: Any, path: str) -> list[Mismatch]:
        p_types = json_types(resolve(p_ref, self._pdefs))
        candidates: list[list[Mismatch]] = []
        for option in options:
            mismatches = self.compare(p_ref, option, path)
            if not mismatches:
                return []
            if p_types & _widened(json_types(resolve(option, self._cdefs))):
                candidates.append(mismatches)
        if not candidates:
            return [
                Mismatch(
                    path,
                    "type changed",
                    " | ".join(self._name(o, consumer=True) for o in options),
                    self._name(p_ref, consumer=False),
                )
            ]
        return min(candidates, key=len)

    def _arrays(self, p: JsonSchema, c: JsonSchema, path: str) -> list[Mismatch]:
        found = _bounds(p, c, path, "minItems", "maxItems", "items")
        c_prefix: list[JsonSchema] = c.get("prefixItems", [])
        p_prefix: list[JsonSchema] = p.get("prefixItems", [])
        p_items: JsonSchema = p.get("items", {})
        c_items: JsonSchema = c.get("items", {})
        for index, c_item in enumerate(c_prefix):
            p_item = p_prefix[index] if index < len(p_prefix) else p_items
            found += self.compare(p_item, c_item, f"{path}[{index}]")
        for index, p_item in enumerate(p_prefix[len(c_prefix) :], start=len(c_prefix)):
            found += self.compare(p_item, c_items, f"{path}[{index}]")
        if "items" in p and not c_prefix:
            found += self.compare(p_items, c_items, f"{path}[]")
        return found

    def _objects(self, p: JsonSchema, c: JsonSchema, path: str) -> list[Mismatch]:
        p_props: Mapping[str, JsonSchema] = p.get("properties", {})
        c_props: Mapping[str, JsonSchema] = c.get("properties", {})
        p_required = set(p.get("required", ()))
        c_required = set(c.get("required", ()))
        c_extra = c.get("additionalProperties", True)
        found: list[Mismatch] = []
        for name, c_sub in c_props.items():
            where = join(path, name)
            if name not in p_props:
                if name in c_required:
                    found.append(self._missing(where, name, c_sub, p_props, c_props))
                continue
            if name in c_required and name not in p_required:
                found.append(
                    Mismatch(
                        where,
                        "optional in producer",
                        f"{self._name(c_sub, consumer=True)} (required)",
                        f"{self._name(p_props[name], consumer=False)} (may be absent)",
                    )
                )
            found += self.compare(p_props[name], c_sub, where)
        for name, p_sub in p_props.items():
            if name in c_props:
                continue
            if c_extra is False:
                found.append(
                    Mismatch(
                        join(path, name),
                        "unexpected field",
                        "absent (extra fields forbidden)",
                        self._name(p_sub, consumer=False),
                    )
                )
            elif isinstance(c_extra, Mapping):
                found += self.compare(p_sub, c_extra, join(path, name))
        p_extra = p.get("additionalProperties")
        if isinstance(p_extra, Mapping):
            if c_extra is False:
                found.append(
                    Mismatch(join(path, "*"), "unexpected field", "no other fields", "any key")
                )
            elif isinstance(c_extra, Mapping):
                found += self.compare(p_extra, c_extra, join(path, "*"))
        return found

    def _missing(
        self,
        where: str,
        name: str,
        c_sub: JsonSchema,
        p_props: Mapping[str, JsonSchema],
        c_props: Mapping[str, JsonSchema],
    ) -> Mismatch:
        expected = f"{name}: {self._name(c_sub, consumer=True)}"
        # A producer field the consumer does not know, with a type it would accept, is
        # most likely the missing one under a new name.
        renamed = [
            other
            for other, p_sub in p_props.items()
            if other not in c_props and not self.compare(p_sub, c_sub, where)
        ]
        found = "no such field"
        if renamed:
            found += (
                f" (producer has {renamed[0]}: {self._name(p_props[renamed[0]], consumer=False)}"
            )
            found += " — renamed?)"
        return Mismatch(where, "missing field", expected, found)

    def _accepts(self, c: JsonSchema, value: Any) -> bool:  # noqa: PLR0911  # one return per kind
        """Whether `c` accepts the literal `value` (enough of JSON Schema for literals)."""
        c = resolve(c, self._cdefs)
        if is_any(c):
            return True
        options = branches(c)
        if options is not None:
            return any(self._accepts(option, value) for option in options)
        values = literal_values(c)
        if values is not None:
            return value in values and type(value) in {type(v) for v in values}
        types = _widened(json_types(c))
        if _json_type(value) not in types:
            return False
        if isinstance(value, str):
            pattern = c.get("pattern")
            return c.get("minLength", 0) <= len(value) <= c.get("maxLength", len(value)) and (
                pattern is None or re.search(pattern, value) is not None
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _within(value, c)
        return True

    def _name(self, schema: JsonSchema, *, consumer: bool) -> str:
        return describe(schema, self._cdefs if consumer else self._pdefs)

    def _mismatch(self, path: str, problem: str, c: JsonSchema, p: JsonSchema) -> Mismatch:
        return Mismatch(path, problem, self._name(c, consumer=True), self._name(p, consumer=False))


def _strings(p: JsonSchema, c: JsonSchema, path: str) -> list[Mismatch]:
    found = _bounds(p, c, path, "minLength", "maxLength", "characters")
    for key, label in (("pattern", "string matching"), ("format", "string in format")):
        if key in c and p.get(key) != c[key]:
            actual = f"{label} {p[key]}" if key in p else f"any string (no {key})"
            found.append(Mismatch(path, f"{key} not guaranteed", f"{label} {c[key]}", actual))
    return found


def _numbers(p: JsonSchema, c: JsonSchema, path: str) -> list[Mismatch]:
    found: list[Mismatch] = []
    for side, inclusive, exclusive in (
        ("low", "minimum", "exclusiveMinimum"),
        ("high", "maximum", "exclusiveMaximum"),
    ):
        c_bound = _bound(c, inclusive, exclusive)
        if c_bound is None:
            continue
        p_bound = _bound(p, inclusive, exclusive)
        if p_bound is None or not _tighter(p_bound, c_bound, low=side == "low"):
            found.append(
                Mismatch(path, "range wider than accepted", _range_text(c), _range_text(p))
            )
            break  # the message shows both ends of both ranges
    step = c.get("multipleOf")
    if step is not None:
        p_step = p.get("multipleOf")
        if p_step is None or (p_step / step) % 1 != 0:
            found.append(
                Mismatch(path, "multipleOf not guaranteed", f"multiple of {step}", f"{p_step}")
            )
    return found


def _bounds(
    p: JsonSchema, c: JsonSchema, path: str, low: str, high: str, unit: str
) -> list[Mismatch]:
    found: list[Mismatch] = []
    c_low, p_low = c.get(low, 0), p.get(low, 0)
    if p_low < c_low:
        found.append(
            Mismatch(
                path,
                f"{low} not guaranteed",
                f"at least {c_low} {unit}",
                f"at least {p_low} {unit}",
            )
        )
    if high in c and p.get(high, float("inf")) > c[high]:
        actual = f"at most {p[high]} {unit}" if high in p else "no limit"
        found.append(Mismatch(path, f"{high} not guaranteed", f"at most {c[high]} {unit}", actual))
    return found


def _bound(schema: JsonSchema, inclusive: str, exclusive: str) -> tuple[float, bool] | None:
    if exclusive in schema:
        return float(schema[exclusive]), True
    if inclusive in schema:
        return float(schema[inclusive]), False
    return None


def _tighter(p: tuple[float, bool], c: tuple[float, bool], *, low: bool) -> bool:
    """Whether the producer's bound `p` keeps values within the consumer's bound `c`."""
    (p_value, p_exclusive), (c_value, c_exclusive) = p, c
    if p_value == c_value:
        return p_exclusive or not c_exclusive
    return p_value > c_value if low else p_value < c_value


def _within(value: float, c: JsonSchema) -> bool:
    return (
        value >= c.get("minimum", value)
        and value <= c.get("maximum", value)
        and ("exclusiveMinimum" not in c or value > c["exclusiveMinimum"])
        and ("exclusiveMaximum" not in c or value < c["exclusiveMaximum"])
    )


def _range_text(schema: JsonSchema) -> str:
    low = _bound(schema, "minimum", "exclusiveMinimum")
    high = _bound(schema, "maximum", "exclusiveMaximum")
    if low is None and high is None:
        return "any number"
    left = "(-∞" if low is None else f"{'(' if low[1] else '['}{low[0]:g}"
    right = "∞)" if high is None else f"{high[0]:g}{')' if high[1] else ']'}"
    return f"{left}, {right}"


def _widened(types: frozenset[str]) -> frozenset[str]:
    return types | {"integer"} if "number" in types else types


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
