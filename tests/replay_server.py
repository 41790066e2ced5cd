"""A local model server that replays recorded OpenAI and Anthropic responses.

Integration tests and benchmarks point an example system's endpoints at it (no external
API is reachable here). A recording is chosen per call by what the request carries:
tool results (→ the model's final answer after a tool round), tools on offer (→ a
tool call), or neither (→ a plain answer); per API, from ``<dir>/<api>_<kind>.json``.
Every request is kept (path, headers, body) so a test can assert on what was sent.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["ReplayServer", "SeenRequest"]


@dataclass(frozen=True)
class SeenRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    kind: str


@dataclass
class ReplayServer:
    """``with ReplayServer(folder) as server: server.url``."""

    folder: Path
    delay_s: float = 0.0
    """How long each answer takes, like a model's latency."""
    seen: list[SeenRequest] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def kinds(self, api: str) -> list[str]:
        with self._lock:
            return [s.kind for s in self.seen if s.path.endswith(_PATHS[api])]

    def __enter__(self) -> ReplayServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                api = "anthropic" if self.path.endswith(_PATHS["anthropic"]) else "openai"
                kind = _kind(api, body)
                with server._lock:
                    server.seen.append(SeenRequest(self.path, dict(self.headers), body, kind))
                recording = json.loads((server.folder / f"{api}_{kind}.json").read_text())
                if server.delay_s:
                    time.sleep(server.delay_s)  # one thread per request: others go on
                payload = json.dumps(recording["body"]).encode()
                self.send_response(int(recording.get("status", 200)))
                for name, value in recording.get("headers", {}).items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: the test asserts on `seen`

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


_PATHS = {"openai": "/chat/completions", "anthropic": "/v1/messages"}


def _kind(api: str, body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    if api == "openai":
        has_results = any(m.get("role") == "tool" for m in messages)
    else:
        has_results = any(
            isinstance(m.get("content"), list)
            and any(block.get("type") == "tool_result" for block in m["content"])
            for m in messages
        )
    if has_results:
        return "final"
    return "tool_call" if body.get("tools") else "answer"


def main() -> None:
    """``python -m tests.replay_server DIR``: serve DIR until killed; prints the URL."""
    import sys  # noqa: PLC0415

    with ReplayServer(Path(sys.argv[1])) as server:
        print(server.url, flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
