"""Deterministic, valid structured output for an output model, derived from prose.

The simulated provider writes prose; an agent with a structured output contract needs
JSON. `render_output` turns the one into the other the way a well-behaved model would:
the same model and text always give the same document, the prose ends up in the
fields meant for it, and the document always validates (or the model is reported as
one the sim cannot serve). Contract checks use it to produce example outputs.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import random
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from agents.contracts._schema import (
    Defs,
    JsonSchema,
    accepted_schema,
    branches,
    defs_of,
    json_types,
    literal_values,
    loc_path,
    resolve,
)
from agents.errors import ConfigError

__all__ = ["Fill", "render_output"]

Fill = Literal["seeded", "full", "minimal"]
"""How much of a model to fill: `full` sets every optional field (never null, lists
non-empty), `minimal` only required ones (null where allowed, lists as short as
allowed), `seeded` decides field by field from the seed, as a real model varies."""

_ATTEMPTS = 8  # draws tried before declaring a model unrenderable (cross-field validators)
_MAX_DEPTH = 6  # below this, recursive models are rendered minimally so rendering ends
_FALLBACK_TEXT = "No further details."
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"[a-z]{4,}")
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def render_output(output_model: type[BaseModel], seed_text: str, *, fill: Fill = "seeded") -> str:
    """JSON that `output_model` accepts, derived deterministically from `seed_text`.

    Strings come from the text: the first top-level plain string field (no length
    limit, pattern, format or examples, e.g. `answer`, `summary`) gets all of it, every
    other string the next sentence (cut to its `max_length`); `*_id` fields get an id;
    fields with JSON-schema `examples` (set them via `Field(examples=[...])` on fields
    with a pattern, like currency codes) take one of those. Numbers, booleans, list
    lengths and literal choices are drawn from a generator seeded with the model name,
    `fill` and the text. Raises `ConfigError` if no valid document can be produced.
    """
    schema = _schema_of(output_model)
    name = f"{output_model.__module__}.{output_model.__qualname__}"
    digest = hashlib.blake2b(f"{name}\x1f{fill}\x1f{seed_text}".encode(), digest_size=16)
    base = int.from_bytes(digest.digest(), "big")
    errors: list[ErrorDetails] = []
    for attempt in range(_ATTEMPTS):
        renderer = _Renderer(schema, seed_text, random.Random(base + attempt), fill)
        document = json.dumps(renderer.render(), ensure_ascii=False)
        try:
            output_model.model_validate_json(document)
        except ValidationError as exc:
            errors = exc.errors()
        else:
            return document
    first = errors[0]
    raise ConfigError(
        f"cannot render a valid {output_model.__name__}: {loc_path(first['loc']) or '(root)'}: "
        f"{first['msg']} (give a field with a pattern or custom validation `examples`)"
    )


# The sim renders on every call; generating a JSON schema costs far more than using it.
# Callers never mutate the schema, so sharing one per model is safe.
_schema_of = functools.lru_cache(maxsize=256)(accepted_schema)


class _Renderer:
    def __init__(self, schema: JsonSchema, text: str, rng: random.Random, fill: Fill) -> None:
        self._schema = schema
        self._defs: Defs = defs_of(schema)
        self._rng = rng
        self._fill: Fill = fill
        self._text = text.strip() or _FALLBACK_TEXT
        self._sentences = [s for s in _SENTENCE_END.split(self._text) if s] or [_FALLBACK_TEXT]
        self._sentence = 0
        self._words = list(dict.fromkeys(_WORD.findall(self._text.lower()))) or ["total"]

    def render(self) -> Any:
        return self._value(self._schema, name="", depth=0, prose=False)

    def _value(  # noqa: PLR0911  # one return per kind of schema reads best
        self, schema: JsonSchema, *, name: str, depth: int, prose: bool
    ) -> Any:
        schema = resolve(schema, self._defs)
        fill: Fill = "minimal" if depth > _MAX_DEPTH else self._fill
        examples = schema.get("examples")
        if isinstance(examples, list) and examples:
            return copy.deepcopy(self._rng.choice(examples))
        values = literal_values(schema)
        if values is not None:
            return self._rng.choice(values)
        options = branches(schema)
        if options is not None:
            return self._value(self._pick(options, fill), name=name, depth=depth, prose=prose)
        types = sorted(json_types(schema))
        non_null = [kind for kind in types if kind != "null"]
        if not non_null:
            return None if types else self._next_sentence()
        if "null" in types and fill == "minimal":
            return None
        kind = non_null[0] if len(non_null) == 1 else self._rng.choice(non_null)
        if kind == "object":
            return self._object(schema, depth, fill)
        if kind == "array":
            return self._array(schema, depth, fill)
        if kind == "string":
            return self._string(schema, name=name, prose=prose)
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer")
        return self._rng.random() < 0.5  # boolean

    def _pick(self, options: Sequence[JsonSchema], fill: Fill) -> JsonSchema:
        resolved = [resolve(option, self._defs) for option in options]
        non_null = [o for o in resolved if json_types(o) != {"null"}]
        nullable = len(non_null) < len(resolved)
        if not non_null or (nullable and fill == "minimal"):
            return {"type": "null"}
        if nullable and fill == "seeded" and self._rng.random() < 0.25:
            return {"type": "null"}
        # The first alternative is the declared one (`Decimal` lists number before
        # string, `X | None` lists X first); a random one would write prose into decimals.
        return non_null[0]

    def _object(self, schema: JsonSchema, depth: int, fill: Fill) -> dict[str, Any]:
        properties: dict[str, JsonSchema] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        prose = _prose_field(properties, self._defs) if depth == 0 else None
        document: dict[str, Any] = {}
        for name, sub in properties.items():
            wanted = (
                name in required
                or fill == "full"
                or (fill == "seeded" and self._rng.random() < 0.6)
            )
            if wanted:
                document[name] = self._value(sub, name=name, depth=depth + 1, prose=name == prose)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not properties:
            count = {"full": 2, "minimal": 0}.get(fill, self._rng.randint(0, 3))
            for key in self._rng.sample(self._words, k=min(count, len(self._words))):
                document[key] = self._value(extra, name=key, depth=depth + 1, prose=False)
        return document

    def _array(self, schema: JsonSchema, depth: int, fill: Fill) -> list[Any]:
        if "prefixItems" in schema:
            return [
                self._value(item, name="", depth=depth + 1, prose=False)
                for item in schema["prefixItems"]
            ]
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 3))
        if fill == "minimal":
            count = low
        elif fill == "full":
            count = min(high, max(low, 2))
        else:
            count = self._rng.randint(low, min(high, low + 3))
        items: JsonSchema = schema.get("items", {})
        return [self._value(items, name="", depth=depth + 1, prose=False) for _ in range(count)]

    def _string(self, schema: JsonSchema, *, name: str, prose: bool) -> str:
        fmt = schema.get("format")
        if fmt is not None:
            return self._formatted(str(fmt))
        if name == "id" or name.endswith("_id"):
            value = f"{name.removesuffix('_id') or 'id'}-{self._rng.getrandbits(32):08x}"
        elif prose:
            value = self._text
        else:
            value = self._next_sentence()
        pattern = schema.get("pattern")
        if pattern is not None:
            value = self._matching(str(pattern), value)
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        while len(value) < low:
            value = f"{value} {self._text}".strip()
        if high is not None and len(value) > int(high):
            value = value[: int(high)].rstrip() or value[: int(high)]
        return value

    def _matching(self, pattern: str, preferred: str) -> str:
        number = self._rng.getrandbits(32)
        candidates = (
            preferred,
            self._rng.choice(self._words),
            f"{number:08x}",
            str(number),
            f"{number:08x}".upper(),
        )
        regex = re.compile(pattern)
        return next((c for c in candidates if regex.search(c)), preferred)

    def _formatted(self, fmt: str) -> str:
        rng = self._rng
        moment = _EPOCH + timedelta(seconds=rng.randrange(2 * 365 * 86400))
        word = rng.choice(self._words)
        number = rng.getrandbits(128)
        formatted = {
            "date": moment.date().isoformat(),
            "date-time": moment.isoformat().replace("+00:00", "Z"),
            "time": moment.time().isoformat(),
            "uuid": str(uuid.UUID(int=number, version=4)),
            "email": f"{word}{number % 100}@example.com",
            "uri": f"https://example.com/{word}",
            "url": f"https://example.com/{word}",
            "duration": f"PT{number % 59 + 1}M",
        }
        return formatted.get(fmt) or self._next_sentence()

    def _number(self, schema: JsonSchema, *, integer: bool) -> int | float:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        span = 100 if integer else 1000
        if low is None and high is None:
            low, high = 0, span
        elif low is None:
            low = high - span
        elif high is None:
            high = low + span
        step = schema.get("multipleOf")
        if integer:
            first = math.floor(low) + 1 if "exclusiveMinimum" in schema else math.ceil(low)
            last = math.ceil(high) - 1 if "exclusiveMaximum" in schema else math.floor(high)
            number = self._rng.randint(first, max(first, last))
            if step:
                number = math.ceil(first / step) * int(step)
            return number
        value = round(self._rng.uniform(float(low), float(high)), 2)
        if step:
            value = math.ceil(float(low) / step) * step
        elif not (float(low) < value < float(high)):
            value = (float(low) + float(high)) / 2
        return value

    def _next_sentence(self) -> str:
        sentence = self._sentences[self._sentence % len(self._sentences)]
        self._sentence += 1
        return sentence


def _prose_field(properties: dict[str, JsonSchema], defs: Defs) -> str | None:
    """The first top-level field that is plain, unbounded text: where the prose goes."""
    for name, sub in properties.items():
        schema = resolve(sub, defs)
        plain = not (
            {"maxLength", "pattern", "format", "examples", "enum", "const"} & schema.keys()
        )
        if plain and json_types(schema) == {"string"}:
            return name
    return None
