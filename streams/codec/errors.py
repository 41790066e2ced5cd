"""Errors of the Avro codec: one root, each error says what went wrong in one line.

``retriable`` tells a caller whether trying the same call again can help: a bad
payload stays bad (dead-letter it), an unreachable schema registry may recover.
"""

from __future__ import annotations

from typing import Any, Literal

from streams.errors import StreamsError

__all__ = [
    "CodecError",
    "DecodeError",
    "DecodeErrorType",
    "EncodeError",
    "RegistryError",
    "SchemaLoadError",
]

DecodeErrorType = Literal["not_avro", "unknown_schema", "corrupt_body", "wrong_record"]
"""Machine-readable class of a decode failure; also the ``error_type`` of its dead letter."""


def _one_line(text: str) -> str:
    # Reasons end up in log lines and DeadLetter.reason: keep them on one line.
    return " ".join(text.split())


class CodecError(StreamsError):
    """Root of every error raised by ``streams.codec``."""

    retriable: bool = False


class SchemaLoadError(CodecError):
    """The schema files are missing, unreadable or inconsistent (a deployment problem)."""


class EncodeError(CodecError):
    """A value does not fit the schema of the record it is written as.

    ``field`` names the offending field when it could be found, else ``None``.
    """

    def __init__(self, record: str, detail: str, field: str | None = None) -> None:
        self.record = record
        self.field = field
        self.detail = _one_line(detail)
        where = f"{record}.{field}" if field else record
        super().__init__(f"cannot encode {where}: {self.detail}")

    def __reduce__(self) -> tuple[type[EncodeError], tuple[str, str, str | None]]:
        # Rebuild from the constructor's arguments (pickling, e.g. across processes).
        return type(self), (self.record, self.detail, self.field)


class DecodeError(CodecError):
    """Bytes that cannot be read as one of our events; the event belongs in a dead letter.

    ``str(error)`` is ``reason``: one line an operator can act on.
    """

    def __init__(self, reason: str, error_type: DecodeErrorType) -> None:
        self.reason = _one_line(reason)
        self.error_type: DecodeErrorType = error_type
        super().__init__(self.reason)

    def __reduce__(self) -> tuple[type[DecodeError], tuple[str, DecodeErrorType]]:
        return type(self), (self.reason, self.error_type)


class RegistryError(CodecError):
    """A schema-registry call failed.

    ``url`` never contains credentials. ``status`` is the HTTP status, or
    ``None`` when no response arrived (connection refused, timeout).
    """

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        self.message = message
        self.url = url
        self.status = status
        # No response, throttling and server errors can pass; a 4xx will not.
        self.retriable = status is None or status == 429 or status >= 500
        shown = f"HTTP {status}" if status is not None else "no response"
        super().__init__(_one_line(f"schema registry {url}: {message} ({shown})"))

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild_registry_error, (self.message, self.url, self.status)


def _rebuild_registry_error(message: str, url: str, status: int | None) -> RegistryError:
    return RegistryError(message, url=url, status=status)
