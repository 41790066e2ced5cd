"""`Toolbox`: the tools one process can run, Python and MCP, resolved per agent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from agents.errors import ConfigError
from agents.providers.base import ToolSpec
from agents.tools.errors import ToolError
from agents.tools.mcp import McpConnection, McpServer
from agents.tools.tool import Tool, ToolContext

if TYPE_CHECKING:
    from agents.system import AgentSystem

__all__ = ["AgentTools", "Toolbox", "split_reference"]

log = logging.getLogger("agents.tools")

_EMPTY: Mapping[str, Tool] = MappingProxyType({})


def split_reference(name: str) -> tuple[str | None, str]:
    """`"server:tool"` → `("server", "tool")`; a plain name → `(None, name)`."""
    server, sep, tool = name.partition(":")
    return (server, tool) if sep else (None, name)


@dataclass(frozen=True, slots=True)
class AgentTools:
    """What one agent is offered and can run."""

    offered: tuple[str, ...] = ()
    """Tool names as the model sees them."""
    specs: tuple[ToolSpec, ...] = ()
    """Schemas of the offered tools that have one."""
    runnable: Mapping[str, Tool] = field(default_factory=lambda: _EMPTY)
    """Offered tools that can run; a call of any other name is answered with an error."""


class Toolbox:
    """Python tools and MCP server connections of a process (one per replica).

    `resolve(spec.tools)` gives an agent's tools, opening MCP sessions on first use;
    `aclose()` (or leaving `async with`) closes them. Without MCP servers nothing needs
    opening or closing.
    """

    def __init__(self, tools: Iterable[Tool] = (), mcp_servers: Iterable[McpServer] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ConfigError(f"two tools are named {tool.name!r}")
            self._tools[tool.name] = tool
        self._connections: dict[str, McpConnection] = {}
        for server in mcp_servers:
            if server.name in self._connections:
                raise ConfigError(f"two MCP servers are named {server.name!r}")
            self._connections[server.name] = McpConnection(server)

    @classmethod
    def of(cls, system: AgentSystem) -> Toolbox:
        """The toolbox of `system`'s declared tools and MCP servers."""
        return cls(system.tools, system.mcp_servers)

    @property
    def tools(self) -> Mapping[str, Tool]:
        """The Python tools, by name."""
        return MappingProxyType(self._tools)

    def connection(self, server: str) -> McpConnection:
        """The connection to MCP server `server`."""
        return self._connections[server]

    async def resolve(self, names: Sequence[str], *, agent: str | None = None) -> AgentTools:
        """The tools `names` (an `AgentSpec.tools`) stand for.

        A plain name is a Python tool; one the toolbox lacks is still offered by name
        (so a system may declare tools it implements nowhere yet) and its calls are
        answered with an error. `"<server>:<tool>"` and `"<server>:*"` are MCP tools;
        a server that cannot be reached now offers its named tools as stubs whose calls
        report the outage, and nothing for `*`. Later names never shadow earlier ones.
        """
        servers = {s for s, _ in map(split_reference, names) if s is not None}
        await self._open(servers, agent)
        offered: dict[str, Tool | None] = {}

        def offer(name: str, tool: Tool | None) -> None:
            if name in offered:
                log.warning("agent %s: tool name %r offered twice; keeping the first", agent, name)
                return
            offered[name] = tool

        for name in names:
            server, tool_name = split_reference(name)
            if server is None:
                offer(name, self._tools.get(name))
                continue
            connection = self._connections.get(server)
            if connection is None:
                raise ConfigError(
                    f"tool {name!r} names undeclared MCP server {server!r}", agent=agent
                )
            if tool_name == "*":
                for listed, tool in connection.tools.items():
                    offer(listed, tool)
            elif tool_name in connection.tools:
                offer(tool_name, connection.tools[tool_name])
            else:
                offer(tool_name, _unavailable(connection, tool_name))
        runnable = {name: tool for name, tool in offered.items() if tool is not None}
        return AgentTools(
            offered=tuple(offered),
            specs=tuple(tool.spec for tool in runnable.values()),
            runnable=MappingProxyType(runnable),
        )

    async def _open(self, servers: set[str], agent: str | None) -> None:
        pending = [
            self._connections[s]
            for s in sorted(servers)
            if s in self._connections and not self._connections[s].connected
        ]
        if pending:
            await asyncio.gather(*(connection.start() for connection in pending))

    async def aclose(self) -> None:
        """Close every MCP session; safe to call twice."""
        await asyncio.gather(*(c.aclose() for c in self._connections.values()))

    async def __aenter__(self) -> Toolbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _unavailable(connection: McpConnection, tool: str) -> Tool:
    server = connection.server

    async def call(arguments: Mapping[str, Any], context: ToolContext) -> Any:
        why = connection.last_error or f"it does not offer {tool!r}"
        raise ToolError(f"MCP server {server.name} cannot run {tool}: {why}", tool=tool)

    return Tool.remote(
        tool,
        call,
        side_effects=server.has_side_effects(tool),
        timeout_s=server.timeout_s,
        source=f"mcp:{server.name}",
    )
