"""Edges that run, without Faust or Kafka: when support escalates, transactions answers.

`next_hop` decides; the specialist emits the producer's step result on `replies` and the
consumer's task, whose result on `results` carries the chain.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from agents.contracts.edge import Edge
from agents.contracts.fintech import SupportAnswer, TransactionQuery
from agents.invocation import InvocationDeps, InvocationOutcome
from agents.providers.base import ModelRequest, ModelResponse
from agents.reference import fintech_system
from agents.routing import RoutingDecision
from agents.system import AgentSystem
from streams.cli.commands_query import render_trace
from streams.records import CHAIN, request_record, task_record
from streams.roles.edges import MAX_CHAIN, EdgeFailed, next_hop
from streams.roles.messages import Emit
from streams.roles.runtime import RoleStats, Runtime, build_runtime
from streams.roles.specialist import Specialist
from streams.settings import Settings
from streams.testing import FakeMessage
from streams.topics import REPLY_TO
from streams.warehouse.queries import RequestTrace

FRAUD = "There is a 310.00 EUR payment to ACME I never made, I think it is fraud."
FEES = "What is the overdraft fee on a basic account?"


def answer(escalate: bool) -> str:
    category = "fraud" if escalate else "fees"
    fields = {"answer": "We are on it.", "category": category, "escalate": escalate}
    return SupportAnswer.model_validate(fields).model_dump_json()


def outcome(output: str | None, *, agent: str = "support", status: str = "ok") -> InvocationOutcome:
    return InvocationOutcome(
        status=status,  # type: ignore[arg-type]  # the literal is the point of the test
        agent=agent,
        output=output,
        error=None,
        disclaimer=None,
        attempts=(),
        model="sim-small",
        tier="small",
        decision=None,
        input_tokens=10,
        output_tokens=10,
        cost_usd=0.001,
        latency_ms=1.0,
    )


def task(text: str = FRAUD, agent: str = "support", **metadata: str) -> dict[str, Any]:
    request = request_record(text, producer="test", target_agent=agent, metadata=metadata)
    return task_record(request, RoutingDecision(agent, 1.0, "explicit target", {}, "explicit"), "r")


SYSTEM = fintech_system()


def test_an_escalating_answer_goes_on_to_transactions_with_the_case_and_the_text() -> None:
    hop = next_hop(SYSTEM, task(), outcome(answer(escalate=True)))

    assert hop is not None
    assert (hop.edge.label, hop.chain) == ("support → transactions", ("support",))
    assert hop.reason == "edge support → transactions: escalate is true"
    query = TransactionQuery.model_validate_json(hop.input)
    assert query.text == FRAUD
    assert query.escalation is not None
    assert (query.escalation.category, query.escalation.escalate) == ("fraud", True)


@pytest.mark.parametrize(
    ("case", "the_task", "the_outcome"),
    [
        ("not escalated", task(), outcome(answer(escalate=False))),
        ("a fallback answered", task(), outcome("Try later.", agent="general", status="degraded")),
        ("failed", task(), outcome(None, status="failed")),
        ("off contract", task(), outcome('{"answer": "no category"}')),
        ("workflow step", task(**{REPLY_TO: "replies"}), outcome(answer(escalate=True))),
        ("consumer in chain", task(**{CHAIN: "transactions"}), outcome(answer(escalate=True))),
        (
            "chain at its cap",
            task(**{CHAIN: ",".join(f"a{i}" for i in range(MAX_CHAIN))}),
            outcome(answer(escalate=True)),
        ),
    ],
)
def test_nothing_is_handed_on(
    case: str, the_task: dict[str, Any], the_outcome: InvocationOutcome
) -> None:
    assert next_hop(SYSTEM, the_task, the_outcome) is None, case


def test_edges_without_when_never_run() -> None:
    transactions = task("Why was I charged twice?", agent="transactions")
    analysis = '{"summary": "Two charges.", "flagged": [], "risk_score": 0.2}'

    assert next_hop(SYSTEM, transactions, outcome(analysis, agent="transactions")) is None


def _with_edges(*edges: Edge) -> AgentSystem:
    fields = {name: getattr(SYSTEM, name) for name in AgentSystem.model_fields}
    return AgentSystem(**{**fields, "edges": edges})


def test_a_second_hop_keeps_the_request_text_and_the_chain() -> None:
    system = _with_edges(
        *SYSTEM.edges[:1],
        Edge(producer="transactions", consumer="reports", into="analysis", when=lambda a: True),
    )
    first = next_hop(system, task(), outcome(answer(escalate=True)))
    assert first is not None
    second_task = task(first.input, agent="transactions", **{CHAIN: ",".join(first.chain)})
    analysis = '{"summary": "One payment.", "flagged": [], "risk_score": 0.9}'

    second = next_hop(system, second_task, outcome(analysis, agent="transactions"))

    assert second is not None
    assert second.chain == ("support", "transactions")
    assert json.loads(second.input)["text"] == FRAUD


def test_a_condition_that_raises_names_the_edge() -> None:
    def broken(answer: SupportAnswer) -> bool:
        raise KeyError("risk")

    system = _with_edges(SYSTEM.edges[0].model_copy(update={"when": broken}))

    with pytest.raises(EdgeFailed, match=r"edge support → transactions: its condition .* raised"):
        next_hop(system, task(), outcome(answer(escalate=True)))


# --- the specialist ---------------------------------------------------------------------


class _Scripted:
    """Support escalates whatever mentions fraud; transactions analyses what it gets."""

    name = "sim"

    def __init__(self) -> None:
        self.inputs: list[str] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.inputs.append(request.input_text)
        if request.metadata.get("agent") == "support":
            text = answer(escalate="fraud" in request.input_text)
        else:
            text = '{"summary": "One unknown payment.", "flagged": [], "risk_score": 0.8}'
        return ModelResponse(
            text=text, input_tokens=10, output_tokens=8, latency_ms=1.0, model=request.model
        )


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def _runtime(tmp_path: Path, system: AgentSystem = SYSTEM) -> Runtime:
    return build_runtime(Settings(data_dir=tmp_path, topic_prefix="u."), system)


def _specialist(runtime: Runtime, agent: str, provider: _Scripted) -> Specialist:
    deps = InvocationDeps(fallbacks=runtime.system.get, sleep=_no_sleep)
    return Specialist(runtime, agent, provider, deps, RoleStats())


def _message(runtime: Runtime, record: dict[str, Any], offset: int = 0) -> FakeMessage:
    topic = runtime.topics.tasks(record["agent"])
    return FakeMessage(topic, runtime.codec.encode("AgentTask", record), offset=offset)


def _decoded(runtime: Runtime, emits: list[Emit], record: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e.topic, runtime.codec.decode_as(e.record, e.value)) for e in emits if e.record == record
    ]


def test_support_escalates_and_transactions_answers_with_the_chain(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    topics = runtime.topics
    provider = _Scripted()
    support_task = task()

    emits = asyncio.run(
        _specialist(runtime, "support", provider).handle(_message(runtime, support_task))
    )

    [(topic, step)] = _decoded(runtime, emits, "AgentResult")
    assert (topic, step["agent"], step["chain"]) == (topics.replies, "support", [])
    assert step["cost_usd"] > 0, "the producer's cost stays in its step result"
    [(topic, handed)] = _decoded(runtime, emits, "AgentTask")
    assert topic == topics.tasks("transactions")
    assert handed["routing_reason"] == "edge support → transactions: escalate is true"
    assert handed["metadata"][CHAIN] == "support"
    assert (handed["request_id"], handed["trace_id"]) == (
        support_task["request_id"],
        support_task["trace_id"],
    )
    assert handed["parent_span_id"] == support_task["span_id"]

    final = asyncio.run(
        _specialist(runtime, "transactions", provider).handle(_message(runtime, handed))
    )

    [(topic, result)] = _decoded(runtime, final, "AgentResult")
    assert (topic, result["agent"], result["chain"]) == (
        topics.results,
        "transactions",
        ["support"],
    )
    assert _decoded(runtime, final, "AgentTask") == [], "transactions → reports has no when"
    assert TransactionQuery.model_validate_json(provider.inputs[-1]).text == FRAUD


def test_a_redelivered_task_hands_on_the_same_task(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    support_task = task()
    specialist = _specialist(runtime, "support", _Scripted())

    first = asyncio.run(specialist.handle(_message(runtime, support_task, 0)))
    again = asyncio.run(specialist.handle(_message(runtime, support_task, 0)))

    [(_, one)] = _decoded(runtime, first, "AgentTask")
    [(_, two)] = _decoded(runtime, again, "AgentTask")
    assert (one["event_id"], one["task_id"]) == (two["event_id"], two["task_id"])
    assert one["task_id"] != support_task["task_id"]


def test_an_answer_that_does_not_escalate_is_the_result(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)

    emits = asyncio.run(
        _specialist(runtime, "support", _Scripted()).handle(_message(runtime, task(FEES)))
    )

    [(topic, result)] = _decoded(runtime, emits, "AgentResult")
    assert (topic, result["agent"], result["chain"]) == (runtime.topics.results, "support", [])
    assert _decoded(runtime, emits, "AgentTask") == []


def test_a_broken_edge_is_a_dead_letter_and_the_answer_stands(tmp_path: Path) -> None:
    def broken(answer: SupportAnswer) -> bool:
        raise ValueError("no risk model")

    runtime = _runtime(tmp_path, _with_edges(SYSTEM.edges[0].model_copy(update={"when": broken})))

    emits = asyncio.run(
        _specialist(runtime, "support", _Scripted()).handle(_message(runtime, task()))
    )

    [(_, letter)] = _decoded(runtime, emits, "DeadLetter")
    assert letter["error_type"] == "edge_failed"
    assert "raised ValueError: no risk model" in letter["reason"]
    [(topic, result)] = _decoded(runtime, emits, "AgentResult")
    assert (topic, result["agent"]) == (runtime.topics.results, "support")
    assert _decoded(runtime, emits, "AgentTask") == []


def test_trace_shows_the_edge_and_the_step_result() -> None:
    base = {"occurred_at": "t", "routing_confidence": 1.0, "routing_model_version": None}
    row: dict[str, Any] = {"occurred_at": "t", "output": "{}", "error": None, "disclaimer": None}
    row |= {"model": "sim-small", "attempts": 1, "latency_ms": 5.0, "cost_usd": 0.001}
    trace = RequestTrace(
        request=None,
        tasks=[
            {**base, "task_id": "t1", "agent": "support", "producer": "router"}
            | {"routing_reason": "keywords", "chain": ""},
            {**base, "task_id": "t2", "agent": "transactions", "producer": "specialist:support"}
            | {"routing_reason": "edge support → transactions: escalate is true"}
            | {"chain": "support"},
        ],
        results=[{**row, "task_id": "t2", "agent": "transactions", "status": "ok"}],
        step_results=[{**row, "task_id": "t1", "agent": "support", "status": "ok"}],
    )
    for res in (*trace.results, *trace.step_results):
        res["answered_by"] = None
    console = Console(record=True, width=200, color_system=None)

    console.print(render_trace("req-1", trace))

    text = console.export_text()
    assert "edge support → transactions (escalate is true)" in text
    assert "step result ok by support" in text
    assert "result ok by transactions" in text
