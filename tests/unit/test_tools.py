"""Tools: declared as typed callables, run by the invocation path, recorded per call.

The model is the seeded sim told to call a tool whenever one is offered
(`tool_call_rate=1.0`), or a scripted provider where a test needs exact calls.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from agents import AgentLimits, AgentSpec, AgentSystem, ConfigError, InvocationContext, invoke
from agents.invocation import InvocationDeps, InvocationOutcome
from agents.providers import ModelProvider, ModelRequest, ModelResponse, SimConfig, SimProvider
from agents.providers.base import ToolCall
from agents.tools import (
    InMemoryLedger,
    McpServer,
    SqliteLedger,
    Tool,
    Toolbox,
    ToolContext,
    ToolError,
    idempotency_key,
    once,
    tool,
)
from tests.unit.invocation_doubles import Counting, FakeClock, no_sleep

CONTEXT = InvocationContext(request_id="req-1", task_id="task-1", tenant="acme-bank")


def always_calls() -> SimProvider:
    return SimProvider(SimConfig(latency_scale=0.0, tool_call_rate=1.0))


def agent(*tools: str, **changes: Any) -> AgentSpec:
    fields: dict[str, Any] = {
        "name": "support",
        "description": "Account help.",
        "model": "sim-small",
        "prompt": "You help customers of $tenant.",
        "tier": "small",
        "tools": tools,
    }
    fields.update(changes)
    return AgentSpec(**fields)


def run(
    spec: AgentSpec,
    provider: ModelProvider,
    tools: Sequence[Tool],
    text: str = "Why is account 4417 locked?",
    context: InvocationContext = CONTEXT,
    **deps: Any,
) -> InvocationOutcome:
    toolbox = Toolbox(tools)
    deps_ = InvocationDeps(tools=toolbox, clock=FakeClock(), sleep=no_sleep, **deps)
    return asyncio.run(invoke(spec, provider, text, context=context, deps=deps_))


@tool
def lookup_account(account_id: str) -> dict[str, Any]:
    """The status of one account."""
    return {"account_id": account_id, "status": "locked", "reason": "three wrong PINs"}


# Declaring tools.


def test_the_decorator_builds_the_schema_from_the_signature() -> None:
    @tool(timeout_s=2.0)
    async def transfer(
        ctx: ToolContext, source: str, target: str, amount: float, memo: str = ""
    ) -> str:
        """Move money between two of the customer's accounts."""
        return ctx.idempotency_key

    assert isinstance(transfer, Tool)
    assert (transfer.name, transfer.timeout_s, transfer.side_effects) == ("transfer", 2.0, False)
    assert transfer.description == "Move money between two of the customer's accounts."
    assert transfer.parameters["required"] == ["source", "target", "amount"]
    assert set(transfer.parameters["properties"]) == {"source", "target", "amount", "memo"}
    assert transfer.parameters["properties"]["amount"]["type"] == "number"
    assert transfer.spec.parameters == transfer.parameters


def test_an_explicit_args_model_is_passed_whole() -> None:
    class Dispute(BaseModel):
        transaction_id: str = Field(description="The charge being disputed.")
        reason: str

    @tool(args=Dispute, side_effects=True)
    def open_dispute(dispute: Dispute) -> str:
        return f"{dispute.transaction_id}: {dispute.reason}"

    assert open_dispute.parameters == Dispute.model_json_schema()
    assert open_dispute.side_effects
    bound = open_dispute.bind({"transaction_id": "tx-9", "reason": "twice"})
    assert bound.arguments == {"transaction_id": "tx-9", "reason": "twice"}
    assert open_dispute(Dispute(transaction_id="a", reason="b")) == "a: b"  # still callable


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Tool(lambda *a: a, name="spread"), "*args and **kwargs"),
        (lambda: Tool(lambda: 1, name="has space"), "must be 1-64 letters"),
        (lambda: Tool(lambda: 1, name="t", timeout_s=0), "timeout_s must be positive"),
    ],
)
def test_tools_that_cannot_be_offered_are_refused(build: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        build()


# The tool loop.


def test_a_tool_call_runs_and_the_model_answers_with_its_result() -> None:
    provider = Counting(always_calls())
    outcome = run(agent("lookup_account"), provider, [lookup_account])

    assert outcome.status == "ok"
    first, second = provider.requests
    assert first.tool_specs == (lookup_account.spec,)
    assert first.transcript == ()
    [exchange] = second.transcript
    [call] = exchange.calls
    assert call.name == "lookup_account"
    assert call.arguments == {"account_id": "4417"}  # typed from the schema by the sim
    [result] = exchange.results
    assert json.loads(result.content)["status"] == "locked"
    assert outcome.output is not None
    assert outcome.output.startswith("I checked with lookup_account.")

    [attempt] = outcome.attempts
    [run_] = attempt.tool_runs
    assert (run_.name, run_.error, run_.round, run_.call_id) == (
        "lookup_account",
        None,
        1,
        call.id,
    )
    assert json.loads(run_.result or "")["reason"] == "three wrong PINs"
    assert run_.latency_ms >= 0
    assert json.loads(attempt.tool_calls[0]) == {
        "name": "lookup_account",
        "arguments": {"account_id": "4417"},
    }
    # Both model calls are paid for on the one attempt.
    plans = [provider.inner.plan(request) for request in (first, second)]
    assert attempt.input_tokens == sum(p.input_tokens for p in plans)
    assert attempt.output_tokens == sum(p.output_tokens for p in plans)
    assert plans[1].input_tokens > plans[0].input_tokens  # the transcript is sent too
    assert outcome.attempt_count == 1


def test_the_same_request_runs_the_same_way_every_time() -> None:
    one = run(agent("lookup_account"), always_calls(), [lookup_account])
    two = run(agent("lookup_account"), always_calls(), [lookup_account])
    assert one.output == two.output
    strip = [(r.name, r.arguments, r.result, r.idempotency_key) for r in one.attempts[0].tool_runs]
    assert strip == [
        (r.name, r.arguments, r.result, r.idempotency_key) for r in two.attempts[0].tool_runs
    ]


class Scripted:
    """A model that asks for the scripted tool calls, one list per round, then answers."""

    name = "scripted"

    def __init__(self, *rounds: list[ToolCall], answer: str = "Done.", said: str = "") -> None:
        self.rounds = list(rounds)
        self.answer = answer
        self.said = said
        self.requests: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        index = len(request.transcript)
        calls = tuple(self.rounds[index]) if index < len(self.rounds) else ()
        return ModelResponse(
            text=self.said if calls else self.answer,
            input_tokens=10,
            output_tokens=5,
            latency_ms=1.0,
            model=request.model,
            calls=calls,
        )


def call(name: str, call_id: str = "c1", **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments)


def test_every_failure_of_a_call_is_recorded_and_told_to_the_model() -> None:
    @tool(timeout_s=0.05)
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "late"

    @tool
    def crashes(x: int) -> int:
        return 1 // x

    @tool
    def refuses(account_id: str) -> str:
        raise ToolError(f"account {account_id} is closed")

    model = Scripted(
        [
            call("nope", "c1"),
            call("lookup_account", "c2", account="4417"),
            call("slow", "c3", seconds=1.0),
            call("crashes", "c4", x=0),
            call("refuses", "c5", account_id="9"),
        ]
    )
    outcome = run(
        agent("lookup_account", "slow", "crashes", "refuses"),
        model,
        [lookup_account, slow, crashes, refuses],
    )

    assert outcome.status == "ok"
    assert outcome.output == "Done."
    errors = [r.error for r in outcome.attempts[0].tool_runs]
    assert errors[0] == (
        "unknown tool 'nope' (tools available: crashes, lookup_account, refuses, slow)"
    )
    assert errors[1] is not None
    assert errors[1].startswith("invalid arguments for lookup_account: account_id: Field required")
    assert errors[2] == "slow did not finish within 0.05s"
    assert errors[3] == "crashes failed: ZeroDivisionError: integer division or modulo by zero"
    assert errors[4] == "account 9 is closed"
    [exchange] = model.requests[1].transcript
    assert [r.is_error for r in exchange.results] == [True] * 5
    assert [r.call_id for r in exchange.results] == ["c1", "c2", "c3", "c4", "c5"]


def test_calls_of_one_round_run_concurrently() -> None:
    @tool
    async def wait(ms: int) -> int:
        await asyncio.sleep(ms / 1000)
        return ms

    model = Scripted([call("wait", f"c{i}", ms=200) for i in range(5)])
    started = time.perf_counter()
    outcome = run(agent("wait"), model, [wait])
    assert time.perf_counter() - started < 0.8  # five sequential waits would take 1 s
    assert [r.result for r in outcome.attempts[0].tool_runs] == ["200"] * 5


def test_sync_tools_run_off_the_event_loop() -> None:
    @tool
    def blocking() -> str:
        time.sleep(0.2)
        return "ok"

    model = Scripted([call("blocking", f"c{i}") for i in range(4)])
    started = time.perf_counter()
    run(agent("blocking"), model, [blocking])
    assert time.perf_counter() - started < 0.7


def test_tool_rounds_are_bounded() -> None:
    model = Scripted(*[[call("lookup_account", f"c{i}", account_id="1")] for i in range(10)])
    spec = agent("lookup_account", limits=AgentLimits(max_tool_rounds=2, max_attempts=1))
    outcome = run(spec, model, [lookup_account])

    assert outcome.status == "failed"
    [attempt] = outcome.attempts
    assert attempt.outcome == "malformed"
    assert attempt.error == (
        "MalformedOutput: sim-small still asked for tools after 2 tool rounds "
        "[agent=support model=sim-small]"
    )
    assert [r.round for r in attempt.tool_runs] == [1, 2]
    assert len(model.requests) == 3


def test_with_no_tool_rounds_calls_are_recorded_not_run() -> None:
    ran: list[str] = []

    @tool
    def track(x: str) -> str:
        ran.append(x)
        return x

    model = Scripted([call("track", x="a")], answer="unused", said="Let me check.")
    outcome = run(agent("track", limits=AgentLimits(max_tool_rounds=0)), model, [track])
    assert ran == []
    assert outcome.attempts[0].tool_calls == ('{"arguments":{"x":"a"},"name":"track"}',)
    assert outcome.attempts[0].tool_runs == ()
    assert len(model.requests) == 1
    assert outcome.output == "Let me check."


def test_tools_named_but_implemented_nowhere_keep_the_first_answer() -> None:
    # Systems written before tools could run name tools they do not implement.
    provider = Counting(always_calls())
    outcome = run(agent("search_transactions"), provider, [])
    assert len(provider.requests) == 1
    assert provider.requests[0].tools == ("search_transactions",)
    assert outcome.attempts[0].tool_calls
    assert outcome.attempts[0].tool_runs == ()
    assert outcome.status == "ok"


def test_the_budget_pays_for_every_tool_round() -> None:
    provider = Counting(always_calls())
    spec = agent("lookup_account", budget_tokens=20_000)
    outcome = run(spec, provider, [lookup_account])
    assert outcome.status == "ok"
    assert outcome.attempts[0].budget_used == outcome.input_tokens + outcome.output_tokens


# Side effects and redelivery.


LEDGER = InMemoryLedger()
EFFECTS: list[str] = []


@tool(side_effects=True)
async def reset_pin(ctx: ToolContext, account_id: str) -> str:
    """Send the customer a PIN reset letter."""

    async def send() -> str:
        EFFECTS.append(account_id)
        return f"letter {len(EFFECTS)} sent for {account_id}"

    return await once(LEDGER, ctx, send, str)


def test_a_redelivered_task_does_not_repeat_a_side_effect() -> None:
    EFFECTS.clear()
    LEDGER.entries.clear()
    spec = agent("reset_pin")

    first = run(spec, always_calls(), [reset_pin])
    # The worker died before committing: the same task (same task_id) runs again, on
    # another replica with fresh deps.
    again = run(spec, always_calls(), [reset_pin])

    assert EFFECTS == ["4417"]
    [one], [two] = first.attempts[0].tool_runs, again.attempts[0].tool_runs
    assert one.idempotency_key is not None
    assert one.idempotency_key == two.idempotency_key
    assert one.idempotency_key == idempotency_key("task-1", "reset_pin", '{"account_id":"4417"}')
    assert one.result == two.result == '"letter 1 sent for 4417"'

    other_task = InvocationContext(request_id="req-2", task_id="task-2", tenant="acme-bank")
    third = run(spec, always_calls(), [reset_pin], context=other_task)
    assert third.attempts[0].tool_runs[0].idempotency_key != one.idempotency_key
    assert EFFECTS == ["4417", "4417"]  # a new request is a new effect


def test_identical_calls_in_one_attempt_get_distinct_keys_that_a_retry_reproduces() -> None:
    keys: list[str] = []

    @tool(side_effects=True)
    def charge(ctx: ToolContext, amount: int) -> str:
        keys.append(ctx.idempotency_key)
        return "ok"

    twice = [call("charge", "a", amount=5), call("charge", "b", amount=5)]
    run(agent("charge"), Scripted(twice), [charge])
    run(agent("charge"), Scripted(twice), [charge])
    assert len(set(keys[:2])) == 2
    assert keys[:2] == keys[2:]


def test_tools_without_side_effects_record_no_key() -> None:
    outcome = run(agent("lookup_account"), always_calls(), [lookup_account])
    assert outcome.attempts[0].tool_runs[0].idempotency_key is None


def test_an_answer_that_had_side_effects_is_not_served_from_the_cache() -> None:
    EFFECTS.clear()
    LEDGER.entries.clear()
    provider = Counting(always_calls())
    spec = agent("reset_pin", cache_ttl_s=600)
    toolbox = Toolbox([reset_pin])
    deps = InvocationDeps(tools=toolbox, clock=FakeClock(), sleep=no_sleep)
    text = "Please reset the PIN of account 4417"

    async def twice() -> list[InvocationOutcome]:
        first = await invoke(spec, provider, text, context=CONTEXT, deps=deps)
        other = InvocationContext(request_id="req-2", task_id="task-2", tenant="acme-bank")
        return [first, await invoke(spec, provider, text, context=other, deps=deps)]

    _, second = asyncio.run(twice())
    assert not second.cache_hit
    assert EFFECTS == ["4417", "4417"]


def test_the_sqlite_ledger_survives_its_process(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    context = ToolContext("t", "r", "x", "a", "reset_pin", "c", "reset_pin:abc")
    calls: list[int] = []

    async def effect() -> dict[str, int]:
        calls.append(1)
        return {"letter": len(calls)}

    first = asyncio.run(once(SqliteLedger(path), context, effect, dict[str, int]))
    second = asyncio.run(once(SqliteLedger(path), context, effect, dict[str, int]))
    assert first == second == {"letter": 1}
    assert calls == [1]


# Declaring tools on the system.


def test_the_system_checks_every_tool_an_agent_names() -> None:
    spec = agent("lookup_account", "reset_pin")
    system = AgentSystem(
        name="bank", agents=(spec,), default_agent="support", tools=(lookup_account, reset_pin)
    )
    assert system.tools == (lookup_account, reset_pin)

    with pytest.raises(ConfigError, match="uses tool 'reset_pin', which the system does not"):
        AgentSystem(name="bank", agents=(spec,), default_agent="support", tools=(lookup_account,))
    with pytest.raises(ConfigError, match="declares tool 'lookup_account' twice"):
        AgentSystem(
            name="bank",
            agents=(agent("lookup_account"),),
            default_agent="support",
            tools=(lookup_account, lookup_account),
        )
    with pytest.raises(ConfigError, match="of MCP server 'files', which the system does not"):
        AgentSystem(name="bank", agents=(agent("files:*"),), default_agent="support")
    mcp = McpServer(name="files", command=("python", "server.py"))
    system = AgentSystem(
        name="bank", agents=(agent("files:*"),), default_agent="support", mcp_servers=(mcp,)
    )
    assert system.mcp_servers == (mcp,)


def test_tool_references_are_checked_on_the_spec() -> None:
    with pytest.raises(ValueError, match="must be a tool name"):
        agent("files:*:x")
    assert agent("files:read_file", "files:*", "lookup").tools == (
        "files:read_file",
        "files:*",
        "lookup",
    )


def test_an_mcp_server_has_exactly_one_transport() -> None:
    with pytest.raises(ValueError, match="exactly one of command or url"):
        McpServer(name="x")
    with pytest.raises(ValueError, match="exactly one of command or url"):
        McpServer(name="x", command=("a",), url="http://127.0.0.1:1/mcp")
    assert McpServer(name="x", url="http://127.0.0.1:1/mcp").transport == "streamable-http"
