"""Java ``.properties`` handling for the broker configuration.

The base ``infra/kafka/server.properties`` stays readable, with its comments; the
launcher only swaps the values of a few instance keys (ports, storage path) and
writes the result next to the data. Only the subset of the format Kafka configs use
is supported: ``key=value`` or ``key: value`` lines, ``#``/``!`` comments and
backslash line continuations.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator, Mapping

_SEPARATOR = re.compile(r"\s*[=:]\s*|\s+")


def _logical_lines(text: str) -> Iterator[list[str]]:
    """Yield each logical line as the physical lines it spans."""
    pending: list[str] = []
    for line in text.splitlines():
        pending.append(line)
        stripped = line.rstrip()
        trailing = len(stripped) - len(stripped.rstrip("\\"))
        # An odd number of trailing backslashes continues the line; an even number
        # is escaped backslashes.
        if trailing % 2 == 1 and not _is_comment(pending[0]):
            continue
        yield pending
        pending = []
    if pending:
        yield pending


def _is_comment(line: str) -> bool:
    stripped = line.lstrip()
    return not stripped or stripped[0] in "#!"


def parse(text: str) -> dict[str, str]:
    """Return the key/value pairs of ``text`` (last assignment wins, like Java)."""
    result: dict[str, str] = {}
    for logical in _logical_lines(text):
        if _is_comment(logical[0]):
            continue
        key, value = _key_value(logical)
        result[key] = value
    return result


def _key_value(logical: list[str]) -> tuple[str, str]:
    parts = [logical[0].strip()] + [line.strip() for line in logical[1:]]
    joined = "".join(part[:-1] if i < len(parts) - 1 else part for i, part in enumerate(parts))
    pieces = _SEPARATOR.split(joined, maxsplit=1)
    key = pieces[0]
    value = pieces[1] if len(pieces) > 1 else ""
    return key, value.replace("\\\\", "\\")


def escape(value: str) -> str:
    """Escape ``value`` so Java reads it back unchanged."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"property values must be single-line, got {value!r}")
    return value.replace("\\", "\\\\")


def render(base: str, overrides: Mapping[str, str]) -> str:
    """Return ``base`` with the values of ``overrides`` replaced in place.

    Comments and order are kept; a key that appears several times is replaced at
    each place; keys ``base`` lacks are appended at the end.
    """
    out: list[str] = []
    seen: set[str] = set()
    for logical in _logical_lines(base):
        if _is_comment(logical[0]):
            out.extend(logical)
            continue
        key, _ = _key_value(logical)
        if key in overrides:
            out.append(f"{key}={escape(overrides[key])}")
            seen.add(key)
        else:
            out.extend(logical)
    missing = [key for key in overrides if key not in seen]
    if missing:
        out.append("")
        out.append("# Added by streams.broker.local for this instance.")
        out.extend(f"{key}={escape(overrides[key])}" for key in missing)
    return "\n".join(out) + "\n"


def new_cluster_id() -> str:
    """Return a random cluster id in Kafka's format (22-char URL-safe base64 UUID).

    Kafka's own ``Uuid.randomUuid`` also rejects ids starting with ``-`` because
    command-line parsers would take them for options.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):
            return text
