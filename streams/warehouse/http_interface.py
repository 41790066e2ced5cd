"""The ClickHouse HTTP interface, answered by the process that owns the embedded store.

chdb opens a data directory from one process at a time, so while a worker owns it no
SQL client, BI tool or ``curl`` can reach it. The gateway therefore speaks the
protocol those tools already know (https://clickhouse.com/docs/interfaces/http):

- ``GET /?query=…``, ``POST /`` with the query as the body, or the start of it in
  ``query`` and the rest in the body; ``GET /`` and ``GET /ping`` answer ``Ok.``;
- the output format of a ``FORMAT`` clause, else ``default_format``, else
  TabSeparated; ``param_<name>`` values for ``{name:Type}`` placeholders; any other
  URL parameter is a ClickHouse setting for that query;
- HTTP basic auth, ``X-ClickHouse-User`` / ``X-ClickHouse-Key`` headers or
  ``user`` / ``password`` parameters, checked against the gateway's credentials;
- ``readonly=1`` for every query unless the operator allowed writes (and for every
  GET, as ClickHouse does): a ``DROP`` or ``INSERT`` fails with ClickHouse's own
  ``READONLY`` error;
- response compression (gzip, deflate) when asked with ``enable_http_compression=1``.

Each query runs on a chdb connection of its own: chdb allows any number of
connections to the engine a process has open, so the sink's writer keeps its own,
and settings (``readonly`` above all) never outlive the query that set them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gzip
import json
import os
import re
import secrets
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from streams.errors import StreamsError

__all__ = ["HttpAccess", "HttpQuery", "QueryFailed", "connection_string", "run_query"]

_DEFAULT_FORMAT = "TabSeparated"

# URL parameters that steer the transport, not the query: ClickHouse's own HTTP
# handler consumes them, so they are never turned into ``SET`` statements.
_TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "quota_key",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "buffer_size",
        "wait_end_of_query",
        "compress",
        "decompress",
        "enable_http_compression",
        "http_zlib_compression_level",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "client_protocol_version",
        "role",
        "cancel_http_readonly_queries_on_client_close",
        "http_native_compression_disable_checksumming_on_decompress",
        "add_http_cors_header",
        "max_query_size_http",
    }
)

_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_ERROR_CODE = re.compile(r"Code:\s*(\d+)")

# ClickHouse's mapping of error codes to HTTP statuses (HTTPHandler.cpp), the part
# clients act on: 401 asks for other credentials, 403 says "not allowed here".
_STATUS_OF_CODE: dict[int, int] = {
    192: 401,  # UNKNOWN_USER
    193: 401,  # WRONG_PASSWORD
    194: 401,  # REQUIRED_PASSWORD
    516: 401,  # AUTHENTICATION_FAILED
    164: 403,  # READONLY
    497: 403,  # ACCESS_DENIED
    62: 400,  # SYNTAX_ERROR
    36: 400,  # BAD_ARGUMENTS
    73: 400,  # UNKNOWN_FORMAT
    115: 400,  # UNKNOWN_SETTING
    456: 400,  # UNKNOWN_QUERY_PARAMETER
    457: 400,  # BAD_QUERY_PARAMETER
    16: 404,  # NO_SUCH_COLUMN_IN_TABLE
    46: 404,  # UNKNOWN_FUNCTION
    47: 404,  # UNKNOWN_IDENTIFIER
    60: 404,  # UNKNOWN_TABLE
    81: 404,  # UNKNOWN_DATABASE
    159: 504,  # TIMEOUT_EXCEEDED
}

_CONTENT_TYPES: tuple[tuple[str, str], ...] = (
    ("TabSeparated", "text/tab-separated-values; charset=UTF-8"),
    ("TSV", "text/tab-separated-values; charset=UTF-8"),
    ("CSV", "text/csv; charset=UTF-8; header=present"),
    ("JSON", "application/json; charset=UTF-8"),
    ("Native", "application/octet-stream"),
    ("RowBinary", "application/octet-stream"),
    ("Parquet", "application/octet-stream"),
    ("Arrow", "application/octet-stream"),
)


class QueryFailed(StreamsError):
    """A query the interface answers with a ClickHouse error: ``code`` as ClickHouse
    numbers it, ``message`` in its ``Code: n. DB::Exception: …`` form. Not retriable:
    the client sent a query this store refuses (bad SQL, a write while read-only)."""

    retriable = False

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def of(cls, code: int, name: str, text: str) -> QueryFailed:
        return cls(code, f"Code: {code}. DB::Exception: {text}. ({name})")

    @property
    def status(self) -> int:
        return _STATUS_OF_CODE.get(self.code, 500)


@dataclass(frozen=True)
class HttpAccess:
    """Who may use the interface and what they may do. ``password`` never reaches a
    repr, a log or an error."""

    user: str
    password: str = field(repr=False)
    allow_writes: bool = False

    def admits(self, user: str | None, password: str | None) -> bool:
        return (user or "default") == self.user and secrets.compare_digest(
            (password or "").encode(), self.password.encode()
        )


@dataclass(frozen=True)
class HttpQuery:
    """One query as the HTTP request states it."""

    sql: str
    default_format: str = _DEFAULT_FORMAT
    database: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, str] = field(default_factory=dict)
    readonly: bool = True

    @property
    def output_format(self) -> str:
        """The format the answer is in: a trailing FORMAT clause wins, as in ClickHouse."""
        found = _TRAILING_FORMAT.search(self.sql)
        return found.group(1) if found else self.default_format


def connection_string(dsn: str) -> str:
    """The chdb connection string of an embedded store's DSN (``chdb:///path``)."""
    location = dsn.removeprefix("chdb://")
    if location in ("", "memory", ":memory:"):
        return ":memory:"
    # chdb compares engine paths literally: spell it as clickhouse-connect opened it.
    return os.path.realpath(location)


def _literal(value: str) -> str:
    """A setting value for ``SET``: numbers as they are, anything else quoted."""
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _failure(exc: Exception) -> QueryFailed:
    text = str(exc).strip()
    found = _ERROR_CODE.search(text)
    return QueryFailed(int(found.group(1)) if found else 1001, text)


def run_query(conn_str: str, query: HttpQuery) -> bytes:
    """Run ``query`` on a connection of its own to the engine; blocking.

    Raises :class:`QueryFailed` with ClickHouse's message when the engine refuses.
    """
    # Imported here: only the process that owns the store (the sink) runs queries, and
    # chdb maps ~500 MiB of library into any process that imports it.
    import chdb  # noqa: PLC0415

    try:
        conn = chdb.connect(conn_str)  # type: ignore[no-untyped-call]  # chdb ships no annotations
    except RuntimeError as exc:
        raise _failure(exc) from exc
    try:
        return _run_on(conn, query)
    finally:
        conn.close()


def _run_on(conn: Any, query: HttpQuery) -> bytes:
    import chdb  # noqa: PLC0415  # loaded by run_query already; see there

    fmt = query.output_format
    try:
        if query.database:
            conn.query(f"USE `{query.database.replace('`', '``')}`", "TabSeparated")
        for name, value in query.settings.items():
            if name == "readonly" and query.readonly:
                continue  # the interface decides; a client may not lift it
            conn.query(f"SET {name} = {_literal(value)}", "TabSeparated")
        if query.readonly:
            conn.query("SET readonly = 1", "TabSeparated")
        body = conn.query(query.sql, query.default_format, params=dict(query.params)).bytes()
    except (chdb.ChdbError, RuntimeError) as exc:
        raise _failure(exc) from exc
    body = body or b""
    if not body and fmt == "Native":
        # chdb writes nothing for an empty Native result; a server sends the header
        # block (names and types, no rows), which clients need for the column names.
        return _empty_native_block(conn, query)
    return bytes(body)


def _empty_native_block(conn: Any, query: HttpQuery) -> bytes:
    import chdb  # noqa: PLC0415  # loaded by run_query already; see there

    statement = _TRAILING_FORMAT.sub("", query.sql).strip().rstrip(";")
    try:
        described = conn.query(
            f"DESCRIBE TABLE ({statement})", "JSONCompact", params=dict(query.params)
        ).bytes()
    except (chdb.ChdbError, RuntimeError):  # not a query with columns (SET, DDL)
        return b""
    columns = [(row[0], row[1]) for row in json.loads(described)["data"]]
    out = bytearray(_varint(len(columns)) + _varint(0))
    for name, type_name in columns:
        for text in (name, type_name):
            raw = text.encode()
            out += _varint(len(raw)) + raw
    return bytes(out)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class ClickHouseHttp:
    """Routes of the ClickHouse HTTP interface for the store at ``dsn``.

    Queries run in worker threads, at most ``max_concurrent`` at a time; more wait.
    """

    def __init__(self, dsn: str, access: HttpAccess, *, max_concurrent: int = 4) -> None:
        self._conn_str = connection_string(dsn)
        self._access = access
        self._slots = asyncio.Semaphore(max_concurrent)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("GET", "/", self._handle)
        app.router.add_route("POST", "/", self._handle)
        app.router.add_get("/ping", self._ok)
        app.router.add_get("/replicas_status", self._ok)

    async def _ok(self, _: web.Request) -> web.Response:
        return web.Response(text="Ok.\n")

    async def _handle(self, request: web.Request) -> web.Response:
        if request.method == "GET" and "query" not in request.query:
            return await self._ok(request)
        try:
            self._authenticate(request)
            query = await self._parse(request)
            async with self._slots:
                body = await asyncio.to_thread(run_query, self._conn_str, query)
        except QueryFailed as exc:
            return web.Response(
                status=exc.status,
                text=exc.message.rstrip("\n") + "\n",
                headers={"X-ClickHouse-Exception-Code": str(exc.code)},
            )
        return self._answer(request, query, body)

    def _authenticate(self, request: web.Request) -> None:
        user = request.headers.get("X-ClickHouse-User") or request.query.get("user")
        password = request.headers.get("X-ClickHouse-Key") or request.query.get("password")
        basic = request.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = None
        if not self._access.admits(user, password):
            raise QueryFailed.of(
                516,
                "AUTHENTICATION_FAILED",
                f"{user or 'default'}: Authentication failed: password is incorrect, "
                "or there is no user with such name",
            )

    async def _parse(self, request: web.Request) -> HttpQuery:
        args = request.query
        if args.get("compress") == "1" or args.get("decompress") == "1":
            raise QueryFailed.of(
                48,
                "NOT_IMPLEMENTED",
                "ClickHouse block compression (compress/decompress=1) is not supported "
                "here; use enable_http_compression=1 with Accept-Encoding",
            )
        body = await request.read() if request.method == "POST" else b""
        encoding = request.headers.get("Content-Encoding", "").lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding not in ("", "identity"):
                raise QueryFailed.of(
                    48, "NOT_IMPLEMENTED", f"Unsupported Content-Encoding {encoding!r}"
                )
            text = body.decode()
        except (OSError, zlib.error, UnicodeDecodeError) as exc:
            raise QueryFailed.of(27, "CANNOT_PARSE_INPUT", f"Cannot read the body: {exc}") from exc
        sql = "\n".join(part for part in (args.get("query", ""), text) if part)
        if not sql.strip():
            raise QueryFailed.of(62, "SYNTAX_ERROR", "Empty query")
        params = {k.removeprefix("param_"): v for k, v in args.items() if k.startswith("param_")}
        settings = {
            k: v
            for k, v in args.items()
            if k not in _TRANSPORT_PARAMS and not k.startswith("param_")
        }
        return HttpQuery(
            sql=sql,
            default_format=args.get("default_format") or _DEFAULT_FORMAT,
            database=args.get("database") or None,
            params=params,
            settings=settings,
            readonly=request.method == "GET" or not self._access.allow_writes,
        )

    def _answer(self, request: web.Request, query: HttpQuery, body: bytes) -> web.Response:
        fmt = query.output_format
        content_type = next(
            (kind for prefix, kind in _CONTENT_TYPES if fmt.startswith(prefix)),
            "text/plain; charset=UTF-8",
        )
        headers = {
            "Content-Type": content_type,
            "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Query-Id": request.query.get("query_id") or str(uuid.uuid4()),
        }
        if request.query.get("enable_http_compression") == "1":
            accepted = request.headers.get("Accept-Encoding", "").lower()
            if "gzip" in accepted:
                body = gzip.compress(body, compresslevel=3)
                headers["Content-Encoding"] = "gzip"
            elif "deflate" in accepted:
                body = zlib.compress(body, 3)
                headers["Content-Encoding"] = "deflate"
        return web.Response(body=body, headers=headers)
