"""Tool runs on the record: the `Invocation` event, its ClickHouse row, `agentbus trace`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from agents import AgentSpec, InvocationContext, invoke
from agents.invocation import InvocationDeps
from agents.providers import SimConfig, SimProvider
from agents.tools import Toolbox, ToolContext, tool
from streams.codec import AvroCodec, SchemaSet, default_avro_dir
from streams.events import envelope, new_trace_id
from streams.records import invocation_record

ROOT = Path(__file__).parents[2]


@tool(side_effects=True)
def reset_pin(ctx: ToolContext, account_id: str) -> dict[str, str]:
    """Send a PIN reset letter."""
    return {"letter": f"sent to {account_id}"}


def task_event(request_id: str) -> dict[str, Any]:
    return {
        **envelope(producer="router", trace_id=new_trace_id(), parent_span_id=None),
        "request_id": request_id,
        "task_id": "task-1",
        "tenant": "acme",
        "agent": "support",
        "input": "Reset the PIN of account 4417",
        "routing_reason": "keyword pin",
        "routing_confidence": 0.9,
        "metadata": {},
    }


def attempts() -> Any:
    spec = AgentSpec(
        name="support",
        description="Account help.",
        model="sim-small",
        prompt="You help.",
        tier="small",
        tools=("reset_pin",),
    )
    provider = SimProvider(SimConfig(latency_scale=0.0, tool_call_rate=1.0))
    deps = InvocationDeps(tools=Toolbox([reset_pin]))
    context = InvocationContext(request_id="req-1", task_id="task-1", tenant="acme")
    outcome = asyncio.run(
        invoke(spec, provider, "Reset the PIN of account 4417", context=context, deps=deps)
    )
    return outcome.attempts


def test_the_invocation_event_carries_every_tool_run() -> None:
    [attempt] = attempts()
    record = invocation_record(task_event("req-1"), attempt, "specialist:support")
    codec = AvroCodec(SchemaSet.load(default_avro_dir()))
    decoded = codec.decode_as("Invocation", codec.encode("Invocation", record))

    [run] = decoded["tool_runs"]
    assert run == {
        "name": "reset_pin",
        "arguments": '{"account_id":"4417"}',
        "result": '{"letter":"sent to 4417"}',
        "error": None,
        "latency_ms": attempt.tool_runs[0].latency_ms,
        "idempotency_key": attempt.tool_runs[0].idempotency_key,
        "call_id": attempt.tool_runs[0].call_id,
        "round": 1,
    }
    assert run["idempotency_key"].startswith("reset_pin:")
    assert json.loads(decoded["tool_calls"][0])["name"] == "reset_pin"


# chdb opens one store per process and the warehouse tests hold theirs: this check runs
# in a process of its own.
_WAREHOUSE_SCRIPT = """
import datetime as dt, json, sys
from rich.console import Console
from streams.cli.commands_query import render_trace
from streams.codec import default_avro_dir
from streams.warehouse import open_warehouse
from streams.warehouse.queries import load_trace
from streams.warehouse.writer import EventWriter, record_columns

events = json.loads(sys.stdin.read())
for _, value in events:
    value["occurred_at"] = dt.datetime.fromisoformat(value["occurred_at"])
store = open_warehouse(f"chdb://{sys.argv[1]}")
store.apply_schema()
EventWriter(store, record_columns(default_avro_dir())).write(events)
rows = store.query(
    "SELECT run.name, run.error, run.idempotency_key FROM agentbus.invocations "
    "ARRAY JOIN tool_runs AS run WHERE request_id = 'req-1'"
).rows
print(json.dumps(rows))
console = Console(record=True, width=200, color_system=None)
console.print(render_trace("req-1", load_trace(store, "req-1")))
store.close()
"""


def test_tool_runs_reach_clickhouse_and_the_trace(tmp_path: Path) -> None:
    [attempt] = attempts()
    task = task_event("req-1")
    invocation = invocation_record(task, attempt, "specialist:support")
    events = [("AgentTask", task), ("Invocation", invocation)]

    def encode(value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.datetime) else str(value)

    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_WAREHOUSE_SCRIPT), str(tmp_path / "chdb")],
        input=json.dumps(events, default=encode),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first, *trace = done.stdout.splitlines()
    key = attempt.tool_runs[0].idempotency_key
    assert json.loads(first) == [["reset_pin", None, key]]
    [line] = [line for line in trace if "tool reset_pin" in line]
    assert '{"account_id":"4417"}' in line
    assert '{"letter":"sent to 4417"}' in line
    assert f"key={key}" in line
    assert "round=1" in line
