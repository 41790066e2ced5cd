"""A small MCP server (official SDK) for `test_mcp_tools.py`.

`python mcp_tools_server.py` serves stdio; `python mcp_tools_server.py http PORT` serves
streamable HTTP on 127.0.0.1:PORT. `send_letter` is a side effect done at most once per
idempotency key: the keys it honoured are lines of the file named by `$LETTERS_FILE`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

app = MCPServer("bank-tools")


@app.tool()
def account_status(account_id: str) -> dict[str, Any]:
    """The status of one account."""
    return {"account_id": account_id, "status": "locked", "reason": "three wrong PINs"}


@app.tool()
def send_letter(account_id: str, ctx: Context) -> str:
    """Post a PIN reset letter to the account holder."""
    meta: Any = ctx.request_context.meta or {}
    key = str(meta.get("agentbus/idempotency_key", ""))
    letters = Path(os.environ["LETTERS_FILE"])
    sent = letters.read_text().split() if letters.exists() else []
    if key and key in sent:
        return f"letter for {account_id} already sent"
    with letters.open("a") as out:
        out.write(f"{key or 'no-key'}\n")
    return f"letter for {account_id} sent"


@app.tool()
async def slow_report(seconds: float) -> str:
    """A report that takes `seconds` to build."""
    await anyio.sleep(seconds)
    return "report"


@app.tool()
def close_account(account_id: str) -> str:
    """Close an account (always refused here)."""
    raise ToolError(f"account {account_id} has a pending dispute")


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        app.run()
