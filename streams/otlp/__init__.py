"""Export agentbus events as OpenTelemetry spans over OTLP/HTTP (the ``otlp`` role).

:func:`span_of` maps one event to its span (the ``otel_traces`` view's shape),
:class:`OtlpExporter` posts batches of them, retrying while the receiver is away.
Needs the ``otlp`` extra (``opentelemetry-proto``).
"""

from __future__ import annotations

from streams.otlp.errors import ExportRejected, ExportUnavailable, OtlpError, UnmappableEvent
from streams.otlp.exporter import OtlpExporter, OtlpTarget, parse_headers
from streams.otlp.spans import SERVICE_NAME, SPAN_RECORDS, export_request, span_of

__all__ = [
    "SERVICE_NAME",
    "SPAN_RECORDS",
    "ExportRejected",
    "ExportUnavailable",
    "OtlpError",
    "OtlpExporter",
    "OtlpTarget",
    "UnmappableEvent",
    "export_request",
    "parse_headers",
    "span_of",
]
