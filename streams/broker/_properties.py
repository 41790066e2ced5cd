"""Java ``.properties`` handling for the broker configuration.

The base ``infra/kafka/server.properties`` stays readable, with its comments; the
launcher only swaps the values of a few instance keys (listeners, storage path) and
writes the result next to the data.

Java reads ``.properties`` files as ISO-8859-1, so the values are written the way
``java.util.Properties.store`` writes them (through ``javaproperties``): every
non-ASCII character becomes ``\\uXXXX``. A data directory such as ``/tmp/données``
then reaches Kafka unchanged instead of as ``/tmp/donnÃ©es``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping

import javaproperties

__all__ = ["ENCODING", "line", "new_cluster_id", "parse", "render"]

ENCODING = "latin-1"
"""How Java decodes the file; what :func:`render` produces is pure ASCII anyway."""


def parse(text: str) -> dict[str, str]:
    """Return the key/value pairs of ``text`` as Java reads them (last assignment wins)."""
    return dict(javaproperties.loads(text))


def line(key: str, value: str) -> str:
    """One ``key=value`` line, escaped like ``Properties.store`` (ASCII only)."""
    return javaproperties.join_key_value(key, value, ensure_ascii=True)


def render(base: str, overrides: Mapping[str, str]) -> str:
    """Return ``base`` with the values of ``overrides`` replaced in place.

    Comments and order are kept; a key that appears several times is replaced at
    each place (a continued value is replaced whole); keys ``base`` lacks are
    appended at the end.
    """
    out: list[str] = []
    seen: set[str] = set()
    for element in javaproperties.parse(base):
        if isinstance(element, javaproperties.KeyValue) and element.key in overrides:
            out.append(line(element.key, overrides[element.key]) + "\n")
            seen.add(element.key)
        else:
            source = element.source
            out.append(source if source.endswith("\n") else source + "\n")
    missing = [key for key in overrides if key not in seen]
    if missing:
        out.append("\n# Added by streams.broker.local for this instance.\n")
        out.extend(line(key, overrides[key]) + "\n" for key in missing)
    return "".join(out)


def new_cluster_id() -> str:
    """Return a random cluster id in Kafka's format (22-char URL-safe base64 UUID).

    Kafka's own ``Uuid.randomUuid`` also rejects ids starting with ``-`` because
    command-line parsers would take them for options.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):
            return text
