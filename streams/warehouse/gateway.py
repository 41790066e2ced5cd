"""Query an embedded store that another process owns.

chdb opens a data directory from one process at a time. The process that owns
it (the sink) serves :class:`GatewayServer` (loopback unless configured otherwise)
and records its address in ``<data_dir>/clickhouse.gateway.json`` (mode 0600).
The server answers two doors:

- the standard ClickHouse HTTP interface (:mod:`streams.warehouse.http_interface`)
  for ``agentbus sql``, clickhouse-connect's ``http://`` client, curl and BI tools,
  with the user and password recorded in the file (or set by the operator) and
  read-only unless the operator allows writes;
- ``POST /query``, the owner's channel for agentbus's own processes (``trace``,
  tests), with a random token from the file: whoever can read the file owns the
  data directory and could open the store itself once the worker stops.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from aiohttp import web

from streams.settings import Settings
from streams.warehouse.client import QueryResult, Warehouse, WarehouseError
from streams.warehouse.http_interface import ClickHouseHttp, HttpAccess

__all__ = [
    "GatewayClient",
    "GatewayOptions",
    "GatewayServer",
    "HttpEndpoint",
    "find_gateway",
    "gateway_file",
    "result_columns",
]

_TOKEN_HEADER = "X-Agentbus-Token"
# Queries and inserts larger than aiohttp's 1 MiB default body are ordinary here.
_MAX_BODY = 256 * 2**20


@dataclass(frozen=True)
class GatewayOptions:
    """Where the gateway listens and who may use its ClickHouse HTTP interface."""

    host: str = "127.0.0.1"
    """Listen address; loopback by default (the interface then never leaves the host)."""
    port: int = 0
    """0: a free port, recorded in the gateway file; fixed for BI tools' configuration."""
    user: str = "agentbus"
    password: str | None = field(default=None, repr=False)
    """None: a random password per start, recorded in the (0600) gateway file."""
    allow_writes: bool = False
    """Off: every query through the HTTP interface runs with ``readonly=1``."""

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayOptions:
        password = settings.gateway_password
        return cls(
            host=settings.gateway_host,
            port=settings.gateway_port,
            user=settings.gateway_user,
            password=password.get_secret_value() if password else None,
            allow_writes=settings.gateway_allow_writes,
        )


@dataclass(frozen=True)
class HttpEndpoint:
    """The ClickHouse HTTP interface of a live gateway, as its file records it."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


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

    def __init__(
        self,
        warehouse: Warehouse,
        data_dir: Path,
        host: str | None = None,
        *,
        options: GatewayOptions | None = None,
    ) -> None:
        self._options = options or GatewayOptions()
        self._warehouse = warehouse
        self._file = gateway_file(data_dir)
        self._host = host or self._options.host
        self._token = secrets.token_hex(16)
        self._access = HttpAccess(
            self._options.user,
            self._options.password or secrets.token_urlsafe(18),
            self._options.allow_writes,
        )
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_post("/query", self._handle_query)
        app.router.add_get("/health", self._handle_health)
        ClickHouseHttp(self._warehouse.dsn, self._access).add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._options.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # aiohttp exposes no public accessor for an ephemeral port
        self.url = f"http://{self._host}:{port}"
        self._file.parent.mkdir(parents=True, exist_ok=True)
        info = {
            "pid": os.getpid(),
            "url": self.url,
            "token": self._token,
            "dsn": self._warehouse.dsn,
            "http": {
                "host": self._host,
                "port": port,
                "user": self._access.user,
                "password": self._access.password,
                "readonly": not self._access.allow_writes,
            },
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
                _query_with_columns, self._warehouse, str(body["sql"]), body.get("parameters")
            )
        except WarehouseError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"columns": result.columns, "rows": _jsonable(result.rows)})


def result_columns(
    warehouse: Warehouse, sql: str, parameters: dict[str, Any] | None = None
) -> list[str]:
    """Column names of ``sql`` without running it (``DESCRIBE TABLE (<query>)``); [] for a
    statement that has none. chdb names no columns of an empty result; this does."""
    statement = sql.strip().rstrip(";")
    try:
        described = warehouse.query(f"DESCRIBE TABLE ({statement})", parameters)
    except WarehouseError:
        return []
    return [str(row[0]) for row in described.rows]


def _query_with_columns(
    warehouse: Warehouse, sql: str, parameters: dict[str, Any] | None
) -> QueryResult:
    result = warehouse.query(sql, parameters)
    if not result.rows and not result.columns:
        return QueryResult(result_columns(warehouse, sql, parameters), [])
    return result


class GatewayClient:
    """Runs SQL through the owning process's gateway; same ``query`` shape as a Warehouse.

    ``http`` is the gateway's ClickHouse HTTP interface, for clients that speak it.
    """

    def __init__(
        self,
        url: str,
        token: str,
        dsn: str,
        timeout: float = 60.0,
        http: HttpEndpoint | None = None,
    ) -> None:
        self.url = url
        self.dsn = dsn
        self.http = http
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
        http = info.get("http")
        endpoint = (
            HttpEndpoint(
                str(http["host"]), int(http["port"]), str(http["user"]), str(http["password"])
            )
            if http
            else None
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return GatewayClient(str(info["url"]), str(info["token"]), str(info["dsn"]), http=endpoint)
