"""Errors of the OTLP export: whether a retry can help is the class's ``retriable``."""

from __future__ import annotations

from streams.errors import StreamsError

__all__ = ["ExportRejected", "ExportUnavailable", "OtlpError", "UnmappableEvent"]


class OtlpError(StreamsError):
    """Root of the errors of :mod:`streams.otlp`."""


class UnmappableEvent(OtlpError):
    """An event whose ids cannot make an OpenTelemetry span (a trace id that is not 32
    hex digits, a span id that is not 16): skipped, it would be rejected by any receiver."""


class ExportUnavailable(OtlpError):
    """The receiver did not take the batch this time (unreachable, timed out, 5xx, 429):
    the same batch is sent again after a backoff."""

    retriable = True


class ExportRejected(OtlpError):
    """The receiver refused the batch for good (401, 403, 404, 413, other 4xx): sending it
    again cannot help; the endpoint, the headers or the batch size must change."""
