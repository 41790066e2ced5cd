"""Tools served by MCP servers, through the official `mcp` SDK.

`McpServer` declares a server on the `AgentSystem`: a command to run over stdio, or the
URL of a streamable HTTP endpoint. Agents name its tools in `AgentSpec.tools` as
`"<server>:<tool>"`, or `"<server>:*"` for all of them; the model sees the tool's own
name, description and input schema.

`McpConnection` keeps one session per server open for the life of the process. The
SDK's client lives in anyio task groups that must be entered and left by the same
task, so each connection runs in a task of its own; calls from any invocation go
through its session. A server that is gone is reconnected on the next use (at most
once per `retry_after_s`); meanwhile its calls are tool errors the model is told of.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.tools.errors import ToolError
from agents.tools.tool import DEFAULT_TOOL_TIMEOUT_S, Tool, ToolContext

if TYPE_CHECKING:
    # The SDK is imported when a connection opens: it costs most of a second, and
    # `import agents` should not pay that for systems without MCP servers.
    from mcp import Client
    from mcp.types import CallToolResult, RequestParamsMeta

__all__ = ["IDEMPOTENCY_META_KEY", "McpConnection", "McpServer"]

log = logging.getLogger("agents.tools.mcp")

IDEMPOTENCY_META_KEY = "agentbus/idempotency_key"
"""`_meta` entry carrying the idempotency key on calls of side-effecting MCP tools."""

# Server names prefix tool references ("<server>:<tool>"), so no ':' in them.
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


class McpServer(BaseModel):
    """An MCP server whose tools agents may call: exactly one of `command` (stdio) or
    `url` (streamable HTTP)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    command: tuple[str, ...] | None = None
    """Program and arguments of a stdio server, e.g. `("python", "-m", "my_server")`."""
    env: Mapping[str, str] = Field(default_factory=dict)
    """Extra environment of the stdio server process."""
    cwd: str | None = None
    """Working directory of the stdio server process."""
    url: str | None = None
    """Endpoint of a streamable HTTP server, e.g. `http://127.0.0.1:8000/mcp`."""
    side_effects: tuple[str, ...] = ()
    """Tools of this server that change the world ("*" for all): their calls carry the
    idempotency key in `_meta["agentbus/idempotency_key"]` and it is recorded."""
    timeout_s: float = Field(default=DEFAULT_TOOL_TIMEOUT_S, gt=0)
    """Bound of one tool call."""
    connect_timeout_s: float = Field(default=20.0, gt=0)
    """Bound of starting (stdio) and joining the server and listing its tools."""
    retry_after_s: float = Field(default=5.0, ge=0)
    """After a failed connection, how long uses fail fast before the next try."""

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                f"MCP server name {value!r} must be lowercase letters, digits, '_' or '-' "
                "and start with a letter"
            )
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"MCP server {self.name!r}: give exactly one of command or url")
        if self.command is not None and not self.command:
            raise ValueError(f"MCP server {self.name!r}: command is empty")
        return self

    @property
    def transport(self) -> str:
        """ "stdio" or "streamable-http"."""
        return "stdio" if self.command is not None else "streamable-http"

    def has_side_effects(self, tool: str) -> bool:
        """Whether `tool` is declared side-effecting."""
        return "*" in self.side_effects or tool in self.side_effects


class McpConnection:
    """One open session with an MCP server; `start()`, idempotent `aclose()`."""

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self._client: Client | None = None
        self._tools: dict[str, Tool] = {}
        self._holder: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._failed_at: float | None = None
        self._last_error = ""

    @property
    def connected(self) -> bool:
        return self._client is not None and self._holder is not None and not self._holder.done()

    @property
    def tools(self) -> Mapping[str, Tool]:
        """The server's tools as listed when the session opened."""
        return self._tools

    @property
    def last_error(self) -> str:
        """Why the last connection failed or ended ("" if none did)."""
        return self._last_error

    async def start(self) -> bool:
        """Open the session unless it is open; False (and `last_error`) if the server
        cannot be reached now. Never raises for an unreachable server."""
        async with self._lock:
            if self.connected:
                return True
            now = time.monotonic()
            if self._failed_at is not None and now - self._failed_at < self.server.retry_after_s:
                return False
            await self._stop_holder()
            self._stop = asyncio.Event()
            ready: asyncio.Future[dict[str, Tool]] = asyncio.get_running_loop().create_future()
            self._holder = asyncio.create_task(self._hold(ready), name=f"mcp-{self.server.name}")
            try:
                async with asyncio.timeout(self.server.connect_timeout_s):
                    self._tools = await asyncio.shield(ready)
            except (TimeoutError, ToolError) as exc:
                self._failed_at = time.monotonic()
                self._last_error = (
                    str(exc)
                    if isinstance(exc, ToolError)
                    else f"no session within {self.server.connect_timeout_s:g}s"
                )
                log.warning("MCP server %s unreachable: %s", self.server.name, self._last_error)
                await self._stop_holder()
                return False
            self._failed_at = None
            return True

    async def aclose(self) -> None:
        """Close the session (and stop a stdio server); safe to call twice."""
        async with self._lock:
            await self._stop_holder()

    async def __aenter__(self) -> McpConnection:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _stop_holder(self) -> None:
        holder, self._holder = self._holder, None
        if holder is None:
            return
        self._stop.set()
        try:
            async with asyncio.timeout(self.server.connect_timeout_s):
                await holder
        except TimeoutError:
            holder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await holder

    async def _hold(self, ready: asyncio.Future[dict[str, Tool]]) -> None:
        """Own the client for its whole life, in this one task (anyio's rule)."""
        try:
            async with self._client_for() as client:
                tools = await self._list(client)
                self._client = client
                if not ready.done():
                    ready.set_result(tools)
                await self._stop.wait()
        except Exception as exc:  # noqa: BLE001  # any failure of the SDK or the server: reported as unreachable
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._last_error = why
            if not ready.done():
                ready.set_exception(ToolError(f"MCP server {self.server.name}: {why}"))
            else:
                log.warning("MCP server %s disconnected: %s", self.server.name, why)
        finally:
            self._client = None

    def _client_for(self) -> Client:
        from mcp import Client, StdioServerParameters  # noqa: PLC0415  # see TYPE_CHECKING
        from mcp.client.stdio import stdio_client  # noqa: PLC0415

        server = self.server
        if server.url is not None:
            return Client(server.url, read_timeout_seconds=server.timeout_s)
        command = server.command or ()
        params = StdioServerParameters(
            command=command[0], args=list(command[1:]), env=dict(server.env) or None, cwd=server.cwd
        )
        # The server's stderr goes to ours (its logs), never into the protocol stream.
        errlog = sys.__stderr__ if sys.__stderr__ is not None else sys.stderr
        return Client(stdio_client(params, errlog=errlog), read_timeout_seconds=server.timeout_s)

    async def _list(self, client: Client) -> dict[str, Tool]:
        tools: dict[str, Tool] = {}
        cursor: str | None = None
        while True:
            listing = await client.list_tools(cursor=cursor)
            for listed in listing.tools:
                tools[listed.name] = Tool.remote(
                    listed.name,
                    self._caller(listed.name),
                    description=listed.description or "",
                    parameters=listed.input_schema,
                    side_effects=self.server.has_side_effects(listed.name),
                    timeout_s=self.server.timeout_s,
                    source=f"mcp:{self.server.name}",
                )
            cursor = listing.next_cursor
            if not cursor:
                return tools

    def _caller(self, name: str) -> Any:
        async def call(arguments: Mapping[str, Any], context: ToolContext) -> Any:
            client = self._client
            if client is None:
                raise ToolError(
                    f"MCP server {self.server.name} is not connected ({self._last_error})",
                    tool=name,
                    retriable=True,
                )
            meta: RequestParamsMeta | None = None
            if self.server.has_side_effects(name):
                meta = {}
                meta[IDEMPOTENCY_META_KEY] = context.idempotency_key  # type: ignore[literal-required]  # an open map (extra_items=Any) mypy cannot see
            result = await client.call_tool(
                name, dict(arguments), read_timeout_seconds=self.server.timeout_s, meta=meta
            )
            return _value_of(name, result)

        return call


def _value_of(name: str, result: CallToolResult) -> Any:
    """A tool result as a JSON value: the structured content if any, else the text."""
    from mcp.types import TextContent  # noqa: PLC0415  # see TYPE_CHECKING

    texts = [
        block.text if isinstance(block, TextContent) else f"[{block.type}]"
        for block in result.content
    ]
    if result.is_error:
        raise ToolError("\n".join(texts) or f"{name} reported an error", tool=name)
    if result.structured_content is not None:
        return result.structured_content
    return "\n".join(texts)
