"""Tools agents call: typed Python callables and tools of MCP servers.

Declare a tool with `@tool` (arguments from the signature, sync or async), list it in
`AgentSystem.tools` and name it in `AgentSpec.tools`; MCP servers go in
`AgentSystem.mcp_servers` and their tools are named `"<server>:<tool>"`. During an
invocation the model's tool calls run (bounded rounds, a timeout per call), their
results go back to the model, and each call is recorded as a `ToolRun` on the
`Invocation` event. Side-effecting tools get an idempotency key that a redelivered
task reproduces (`ToolContext`, `once`).
"""

from agents.providers.base import ToolCall, ToolResult, ToolSpec
from agents.tools.errors import ToolError
from agents.tools.ledger import IdempotencyLedger, InMemoryLedger, SqliteLedger, once
from agents.tools.mcp import IDEMPOTENCY_META_KEY, McpConnection, McpServer
from agents.tools.run import CallScope, ToolRun, idempotency_key, run_calls
from agents.tools.tool import DEFAULT_TOOL_TIMEOUT_S, Tool, ToolContext, tool
from agents.tools.toolbox import AgentTools, Toolbox, split_reference

__all__ = [
    "DEFAULT_TOOL_TIMEOUT_S",
    "IDEMPOTENCY_META_KEY",
    "AgentTools",
    "CallScope",
    "IdempotencyLedger",
    "InMemoryLedger",
    "McpConnection",
    "McpServer",
    "SqliteLedger",
    "Tool",
    "ToolCall",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "ToolRun",
    "ToolSpec",
    "Toolbox",
    "idempotency_key",
    "once",
    "run_calls",
    "split_reference",
    "tool",
]
