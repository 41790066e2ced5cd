"""An OTLP/HTTP receiver in a thread, for tests: what the ``otlp`` role sent, decoded.

Tempo, Jaeger and Langfuse cannot run on a test machine; this receiver speaks the part
of OTLP/HTTP they share (``POST`` of a protobuf ``ExportTraceServiceRequest``), keeps
every request with its headers, and answers the status codes a test queues up.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = ["OtlpReceiver", "ReceivedExport"]


@dataclass(frozen=True)
class ReceivedExport:
    """One export request as the receiver saw it (headers with lower-case names)."""

    path: str
    headers: dict[str, str]
    request: ExportTraceServiceRequest

    @property
    def spans(self) -> list[Span]:
        return [
            span
            for resource in self.request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


class OtlpReceiver:
    """``start()`` / idempotent ``stop()`` (or ``with``); :attr:`url` is the traces URL.

    ``answer(*codes)`` queues status codes for the next requests (then 200 again); a
    request answered with an error is recorded in :attr:`refused`, not in :attr:`exports`.
    """

    def __init__(self, host: str = "127.0.0.1", path: str = "/v1/traces") -> None:
        self._host = host
        self._path = path
        self._lock = threading.Lock()
        self._answers: deque[int] = deque()
        self._exports: list[ReceivedExport] = []
        self.refused: list[int] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        return f"http://{self._host}:{self._server.server_port}{self._path}"

    @property
    def exports(self) -> list[ReceivedExport]:
        with self._lock:
            return list(self._exports)

    @property
    def spans(self) -> list[Span]:
        return [span for export in self.exports for span in export.spans]

    def answer(self, *codes: int) -> None:
        with self._lock:
            self._answers.extend(codes)

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = ThreadingHTTPServer((self._host, 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="otlp-receiver", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            code = self._answers.popleft() if self._answers else 200
            if code >= 300:
                self.refused.append(code)
                return code
            if path != self._path:
                self.refused.append(404)
                return 404
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            self._exports.append(ReceivedExport(path, headers, request))
            return code

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                code = receiver._receive(self.path, headers, body)
                answer = ExportTraceServiceResponse().SerializeToString() if code < 300 else b"no"
                self.send_response(code)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: tests read what was received, not an access log."""

        return Handler
