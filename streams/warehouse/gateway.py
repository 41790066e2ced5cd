"""Query an embedded store that another process owns.

chdb opens a data directory from one process at a time. The process that owns
it (the sink) serves :class:`GatewayServer` on loopback and records its address
in ``<data_dir>/clickhouse.gateway.json`` (mode 0600, with a random token);
``agentbus sql`` and ``agentbus trace`` find it there and send their SQL over
HTTP instead of opening the store themselves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from aiohttp import web

from streams.warehouse.client import QueryResult, Warehouse, WarehouseError

__all__ = ["GatewayClient", "GatewayServer", "find_gateway", "gateway_file"]

_TOKEN_HEADER = "X-Agentbus-Token"


def gateway_file(data_dir: Path) -> Path:
    return data_dir / "clickhouse.gateway.json"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class GatewayServer:
    """Serves ``POST /query`` for the warehouse this process owns; loopback only."""

    def __init__(self, warehouse: Warehouse, data_dir: Path, host: str = "127.0.0.1") -> None:
        self._warehouse = warehouse
        self._file = gateway_file(data_dir)
        self._host = host
        self._token = secrets.token_hex(16)
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/query", self._handle_query)
        app.router.add_get("/health", self._handle_health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # aiohttp exposes no public accessor for an ephemeral port
        self.url = f"http://{self._host}:{port}"
        self._file.parent.mkdir(parents=True, exist_ok=True)
        info = {
            "pid": os.getpid(),
            "url": self.url,
            "token": self._token,
            "dsn": self._warehouse.dsn,
        }
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.chmod(0o600)
        tmp.replace(self._file)

    async def stop(self) -> None:
        """Idempotent: removes the gateway file (if still ours) and closes the server."""
        if self._runner is None:
            return
        try:
            if json.loads(self._file.read_text()).get("pid") == os.getpid():
                self._file.unlink()
        except (OSError, ValueError):
            pass
        await self._runner.cleanup()
        self._runner = None

    async def _handle_health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True, "dsn": self._warehouse.dsn})

    async def _handle_query(self, request: web.Request) -> web.Response:
        if request.headers.get(_TOKEN_HEADER) != self._token:
            return web.json_response({"error": "bad token"}, status=403)
        body = await request.json()
        try:
            result = await asyncio.to_thread(
                self._warehouse.query, str(body["sql"]), body.get("parameters")
            )
        except WarehouseError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"columns": result.columns, "rows": _jsonable(result.rows)})


class GatewayClient:
    """Runs SQL through the owning process's gateway; same ``query`` shape as a Warehouse."""

    def __init__(self, url: str, token: str, dsn: str, timeout: float = 60.0) -> None:
        self.url = url
        self.dsn = dsn
        self._token = token
        self._timeout = timeout

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        try:
            response = httpx.post(
                f"{self.url}/query",
                json={"sql": sql, "parameters": parameters},
                headers={_TOKEN_HEADER: self._token},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise WarehouseError(f"gateway {self.url} did not answer: {exc}") from exc
        payload = response.json()
        if response.status_code != 200:
            raise WarehouseError(str(payload.get("error", response.text)))
        return QueryResult(payload["columns"], payload["rows"])

    def close(self) -> None:
        """Nothing to release; present so callers treat both kinds alike."""


def find_gateway(data_dir: Path) -> GatewayClient | None:
    """The gateway of a live owner of the store under ``data_dir``, if there is one."""
    path = gateway_file(data_dir)
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return GatewayClient(str(info["url"]), str(info["token"]), str(info["dsn"]))
