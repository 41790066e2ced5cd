"""Posts batches of spans to an OTLP/HTTP receiver (protobuf), retrying what may pass.

Why not the OpenTelemetry SDK's exporter: its tracer makes its own span ids, and the
spans here keep the events' ids so a trace in Tempo or Langfuse is the same tree as in
ClickHouse. Building the ``ExportTraceServiceRequest`` ourselves and posting it is all
the SDK's HTTP exporter does anyway.

A batch the receiver does not take this time (unreachable, timeout, 429, 5xx) is sent
again with exponential backoff for as long as it takes: the caller waits, and so does
its consumer. A refusal that will not pass (another 4xx) raises
:class:`~streams.otlp.errors.ExportRejected`. The headers (credentials, for Langfuse)
never reach a repr, an error or a log.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self
from urllib.parse import unquote

import httpx
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential_jitter,
)

from streams.otlp.errors import ExportRejected, ExportUnavailable, OtlpError
from streams.otlp.spans import export_request
from streams.settings import Settings

__all__ = ["OtlpExporter", "OtlpTarget", "parse_headers"]

log = logging.getLogger("agentbus.otlp")

# The OTLP/HTTP spec's retryable answers; other 5xx are treated the same (a receiver
# behind a proxy answers 500 while restarting), other 4xx are final.
_RETRYABLE_STATUS: Final = frozenset({408, 429})
_PROTOBUF: Final = "application/x-protobuf"


@dataclass(frozen=True)
class OtlpTarget:
    """Where and how spans are exported."""

    endpoint: str
    """The traces URL, e.g. ``http://localhost:4318/v1/traces``."""
    headers: SecretStr | None = field(default=None, repr=False)
    """``key=value`` pairs, comma-separated, values percent-decoded (the format of
    ``OTEL_EXPORTER_OTLP_HEADERS``)."""
    timeout_s: float = 10.0
    retry_initial_s: float = 0.5
    """Wait before the second try of a batch; it doubles (with jitter) from there."""
    retry_max_s: float = 30.0
    """Longest wait between two tries of one batch."""

    @classmethod
    def from_settings(cls, settings: Settings) -> OtlpTarget:
        if not settings.otlp_endpoint:
            raise OtlpError("no OTLP endpoint: set AGENTBUS_OTLP_ENDPOINT")
        return cls(settings.otlp_endpoint, settings.otlp_headers, settings.otlp_timeout_s)


def parse_headers(text: str) -> dict[str, str]:
    """``"Authorization=Basic%20abc=,x-tenant=a"`` → headers (split at the first ``=``,
    so base64 padding survives; values percent-decoded, a literal space kept)."""
    headers: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            # Name the key only: the value may be a credential.
            raise OtlpError(
                f"AGENTBUS_OTLP_HEADERS: {key.strip()[:40]!r} is not key=value "
                "(pairs separated by commas)"
            )
        headers[key.strip()] = unquote(value.strip())
    return headers


class OtlpExporter:
    """An HTTP client for one OTLP receiver: ``start()``, ``export(spans)``, an idempotent
    ``stop()`` (or ``async with``). ``transport`` replaces the network in tests."""

    def __init__(
        self, target: OtlpTarget, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._target = target
        self._transport = transport
        self._headers = {
            **(parse_headers(target.headers.get_secret_value()) if target.headers else {}),
            "Content-Type": _PROTOBUF,
        }
        self._client: httpx.AsyncClient | None = None
        self.exported = 0
        self.rejected_spans = 0

    def __repr__(self) -> str:
        return f"OtlpExporter({self._target.endpoint!r})"

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers=self._headers, timeout=self._target.timeout_s, transport=self._transport
            )

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __del__(self) -> None:
        if self._client is not None:
            warnings.warn(f"{self!r} was never stopped", ResourceWarning, stacklevel=1)

    async def export(self, spans: Sequence[Span]) -> None:
        """Send ``spans`` in one request, again and again while the receiver is away;
        :class:`ExportRejected` when it refuses them for good."""
        if not spans:
            return
        body = export_request(spans).SerializeToString()
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, OtlpError) and exc.retriable),
            wait=wait_exponential_jitter(
                multiplier=self._target.retry_initial_s,
                max=self._target.retry_max_s,
                jitter=self._target.retry_initial_s,
            ),
            before_sleep=self._log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._post(body, len(spans))
        self.exported += len(spans)

    async def _post(self, body: bytes, count: int) -> None:
        if self._client is None:
            raise OtlpError(f"{self!r} is not started")
        endpoint = self._target.endpoint
        try:
            response = await self._client.post(endpoint, content=body)
        except httpx.TransportError as exc:  # refused, reset, timed out: may pass
            raise ExportUnavailable(
                f"{count} spans to {endpoint}: {type(exc).__name__}: {exc}"
            ) from exc
        code = response.status_code
        if code < 300:
            self._check_partial(response)
            return
        detail = " ".join(response.text.split())[:200]
        what = f"{count} spans to {endpoint}: HTTP {code} {detail}".rstrip()
        if code in _RETRYABLE_STATUS or code >= 500:
            raise ExportUnavailable(what)
        hint = {
            401: " (check AGENTBUS_OTLP_HEADERS)",
            403: " (check AGENTBUS_OTLP_HEADERS)",
            404: " (check AGENTBUS_OTLP_ENDPOINT: the traces path, e.g. /v1/traces)",
            413: " (lower AGENTBUS_OTLP_BATCH_SIZE)",
        }.get(code, "")
        raise ExportRejected(what + hint)

    def _check_partial(self, response: httpx.Response) -> None:
        """Spans the receiver took the request with but dropped: said once, never resent
        (the spec: a partial success is not to be retried)."""
        if not response.content or not response.headers.get("content-type", "").startswith(
            _PROTOBUF
        ):
            return
        answer = ExportTraceServiceResponse()
        try:
            answer.ParseFromString(response.content)
        except DecodeError:  # an odd body of a 2xx is still a success
            return
        rejected = answer.partial_success.rejected_spans
        if rejected:
            self.rejected_spans += rejected
            log.warning(
                "OTLP receiver dropped %d spans: %s",
                rejected,
                answer.partial_success.error_message or "no reason given",
            )

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.error("OTLP export failed, retrying in %.1fs: %s", wait, error)
