"""JSON Schema plumbing shared by rendering and checking: which schema, refs, names."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

JsonSchema = Mapping[str, Any]
Defs = Mapping[str, JsonSchema]

# Keys that make a schema say something; a schema with none of them accepts anything.
_CONSTRAINING = frozenset(
    {"type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const", "properties", "items"}
    | {"prefixItems", "additionalProperties", "pattern", "format"}
)


class _WireSchema(GenerateJsonSchema):
    """Serialization schema in which a field with a default counts as always present.

    Output leaves an agent as `model_dump_json()`, which writes every field, defaults
    included; pydantic's own serialization schema would call those fields optional and
    make every consumer that requires one look broken.
    """

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization" and field["type"] != "typed-dict-field":
            return field.get("serialization_exclude_if") is None
        return super().field_is_required(field, total)


def wire_schema(model: type[BaseModel]) -> dict[str, Any]:
    """What `model`'s validated output looks like on the wire (producer side)."""
    return model.model_json_schema(mode="serialization", schema_generator=_WireSchema)


def accepted_schema(model: type[BaseModel]) -> dict[str, Any]:
    """What `model` accepts as input (consumer side, and what a model reply must be)."""
    return model.model_json_schema(mode="validation")


def defs_of(schema: JsonSchema) -> Defs:
    defs: Defs = schema.get("$defs", {})
    return defs


def resolve(schema: JsonSchema, defs: Defs) -> JsonSchema:
    """`schema` with `$ref`s followed; keys beside a `$ref` (defaults, docs) are kept."""
    while "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        extra = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**defs[name], **extra}
    return schema


def ref_name(schema: JsonSchema) -> str | None:
    ref = schema.get("$ref")
    return str(ref).rsplit("/", 1)[-1] if ref is not None else None


def is_any(schema: JsonSchema) -> bool:
    return not (_CONSTRAINING & schema.keys())


def branches(schema: JsonSchema) -> Sequence[JsonSchema] | None:
    """The alternatives of a union schema, or None if it is not one."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            found: Sequence[JsonSchema] = schema[key]
            return found
    all_of: Sequence[JsonSchema] | None = schema.get("allOf")
    if all_of is not None and len(all_of) == 1:
        return all_of
    return None


def json_types(schema: JsonSchema) -> frozenset[str]:
    """The JSON types `schema` allows; empty when it does not say."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(str(kind) for kind in declared)
    if "properties" in schema or "additionalProperties" in schema:
        return frozenset({"object"})
    if "items" in schema or "prefixItems" in schema:
        return frozenset({"array"})
    return frozenset()


def literal_values(schema: JsonSchema) -> list[Any] | None:
    """The only values `schema` allows (`const`/`enum`, i.e. a Literal), or None."""
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def describe(schema: JsonSchema, defs: Defs) -> str:  # noqa: PLR0911  # one return per kind
    """A short, Python-flavoured name for what `schema` allows: `list[FlaggedTransaction]`."""
    name = ref_name(schema)
    if name is not None:
        return name
    options = branches(schema)
    if options is not None:
        return " | ".join(describe(option, defs) for option in options)
    values = literal_values(schema)
    if values is not None:
        return " | ".join(json.dumps(value, ensure_ascii=False) for value in values)
    types = json_types(schema)
    if not types:
        return "any"
    if types == {"array"}:
        if "prefixItems" in schema:
            inner = ", ".join(describe(item, defs) for item in schema["prefixItems"])
            return f"tuple[{inner}]"
        return f"list[{describe(schema.get('items', {}), defs)}]"
    if types == {"object"}:
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and "properties" not in schema:
            return f"dict[str, {describe(extra, defs)}]"
        return str(schema.get("title", "object"))
    if types == {"string"} and "format" in schema:
        return f"string ({schema['format']})"
    return " | ".join(sorted(types))


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def loc_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a path: `("flagged", 0, "amount")` → `flagged[0].amount`."""
    path = ""
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else join(path, str(part))
    return path
