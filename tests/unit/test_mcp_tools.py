"""Tools of a real MCP server (the official SDK, `mcp_tools_server.py`), called by an
agent over stdio and over streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents import AgentSpec, AgentSystem, InvocationContext, McpServer, Toolbox, invoke
from agents.invocation import InvocationDeps, InvocationOutcome
from agents.providers import ModelRequest, ModelResponse, SimConfig, SimProvider
from agents.providers.base import ToolCall

SERVER = Path(__file__).with_name("mcp_tools_server.py")
CONTEXT = InvocationContext(request_id="req-1", task_id="task-1", tenant="acme")


class Scripted:
    """Asks for the given calls once, then answers."""

    name = "scripted"

    def __init__(self, *calls: ToolCall) -> None:
        self.calls = calls
        self.requests: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        calls = () if request.transcript else self.calls
        return ModelResponse(
            text="" if calls else "Done.",
            input_tokens=10,
            output_tokens=5,
            latency_ms=1.0,
            model=request.model,
            calls=calls,
        )


def spec(*tools: str) -> AgentSpec:
    return AgentSpec(
        name="support",
        description="Account help.",
        model="sim-small",
        prompt="You help.",
        tier="small",
        tools=tools,
    )


def system(server: McpServer, *tools: str) -> AgentSystem:
    return AgentSystem(
        name="bank", agents=(spec(*tools),), default_agent="support", mcp_servers=(server,)
    )


async def ask(
    toolbox: Toolbox, bank: AgentSystem, provider: Any, context: InvocationContext = CONTEXT
) -> InvocationOutcome:
    deps = InvocationDeps(tools=toolbox)
    text = "Why is account 4417 locked?"
    return await invoke(bank.get("support"), provider, text, context=context, deps=deps)


def exercise(server: McpServer, letters: Path) -> None:
    """What both transports must do: schemas reach the model, results and errors come
    back, and a side effect happens once per idempotency key."""
    bank = system(server, "bank:*")

    async def scenario() -> str | None:
        async with Toolbox.of(bank) as toolbox:
            # The sim writes arguments from the server's own schema.
            sim = SimProvider(SimConfig(latency_scale=0.0, tool_call_rate=1.0))
            only_status = system(server, "bank:account_status")
            outcome = await ask(toolbox, only_status, sim)
            assert outcome.status == "ok"
            [run] = outcome.attempts[0].tool_runs
            assert (run.name, run.error, run.arguments) == (
                "account_status",
                None,
                '{"account_id":"4417"}',
            )
            assert json.loads(run.result or "") == {
                "account_id": "4417",
                "status": "locked",
                "reason": "three wrong PINs",
            }

            model = Scripted(
                ToolCall("c1", "send_letter", {"account_id": "4417"}),
                ToolCall("c2", "close_account", {"account_id": "4417"}),
            )
            outcome = await ask(toolbox, bank, model)
            offered = {s.name: s for s in model.requests[0].tool_specs}
            assert set(offered) == {"account_status", "send_letter", "slow_report", "close_account"}
            assert offered["send_letter"].description.startswith("Post a PIN reset letter")
            assert offered["send_letter"].parameters["required"] == ["account_id"]
            sent, refused = outcome.attempts[0].tool_runs
            assert sent.result == '{"result":"letter for 4417 sent"}'  # the SDK wraps scalars
            assert sent.idempotency_key is not None
            assert refused.idempotency_key is None  # not declared side-effecting
            assert refused.error is not None
            assert "account 4417 has a pending dispute" in refused.error

            # The task is redelivered: same task id, same call, same key; the server
            # honours the key and posts nothing.
            again = await ask(toolbox, bank, Scripted(model.calls[0]))
            [resent] = again.attempts[0].tool_runs
            assert resent.idempotency_key == sent.idempotency_key
            assert resent.result == '{"result":"letter for 4417 already sent"}'

            # A call over its timeout is cut off; the session stays usable.
            model = Scripted(
                ToolCall("c1", "slow_report", {"seconds": 30}),
                ToolCall("c2", "account_status", {"account_id": "7"}),
            )
            outcome = await ask(toolbox, bank, model)
            late, fine = outcome.attempts[0].tool_runs
            assert late.error == f"slow_report did not finish within {server.timeout_s:g}s"
            assert fine.error is None
            assert json.loads(fine.result or "")["account_id"] == "7"
            return sent.idempotency_key

    key = asyncio.run(asyncio.wait_for(scenario(), timeout=60))
    assert letters.read_text().split() == [key]  # one letter, under the runtime's key


def test_tools_of_a_stdio_mcp_server(tmp_path: Path) -> None:
    letters = tmp_path / "letters"
    server = McpServer(
        name="bank",
        command=(sys.executable, str(SERVER)),
        env={"LETTERS_FILE": str(letters)},
        side_effects=("send_letter",),
        timeout_s=3.0,
    )
    exercise(server, letters)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    letters = tmp_path / "letters"
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "http", str(port)],
        env={"LETTERS_FILE": str(letters), "PATH": "/usr/bin:/bin"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "server.log").read_text()) from None
                time.sleep(0.05)  # polling for the port, bounded by the deadline
        yield f"http://127.0.0.1:{port}/mcp", letters
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_tools_of_a_streamable_http_mcp_server(http_server: tuple[str, Path]) -> None:
    url, letters = http_server
    server = McpServer(name="bank", url=url, side_effects=("send_letter",), timeout_s=3.0)
    exercise(server, letters)


def test_an_unreachable_server_is_a_tool_error_not_a_failed_invocation() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    server = McpServer(name="bank", url=f"http://127.0.0.1:{port}/mcp", connect_timeout_s=5)
    bank = system(server, "bank:account_status")

    async def scenario() -> InvocationOutcome:
        async with Toolbox.of(bank) as toolbox:
            model = Scripted(ToolCall("c1", "account_status", {"account_id": "1"}))
            return await ask(toolbox, bank, model)

    outcome = asyncio.run(scenario())
    assert outcome.status == "ok"
    [run] = outcome.attempts[0].tool_runs
    assert run.error is not None
    assert run.error.startswith("MCP server bank cannot run account_status: ")
