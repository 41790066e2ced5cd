"""``agentbus trace`` on a request that ran a flow: the workflow as a tree.

The rows are the events the orchestrator itself decides for the fintech reference
system's flows (what the sink writes to ``workflow_events``), so the tree is checked
against real decisions, not hand-made rows.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from rich.console import Console

from agents.contracts.render import render_output
from agents.reference import fintech_system
from streams.cli.commands_query import render_trace
from streams.flows import Decision, Orchestrator
from streams.records import request_record
from streams.warehouse.queries import WORKFLOW_EVENTS_SQL, RequestTrace

SYSTEM = fintech_system()
COLUMNS = [c.strip() for c in WORKFLOW_EVENTS_SQL.split("SELECT")[1].split("FROM")[0].split(",")]


class _Run:
    """Drives one request through the orchestrator and keeps what the sink would store."""

    def __init__(self, target: str, text: str) -> None:
        self.engine = Orchestrator(SYSTEM)
        self.request = request_record(text, producer="test", target_agent=target)
        self.events: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []
        self.pending: dict[str, dict[str, Any]] = {}
        self.clock = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
        self._take(self.engine.start(self.request))

    def _take(self, decision: Decision) -> None:
        # Each decision a little later than the last, as on a real clock.
        self.clock += dt.timedelta(milliseconds=250)
        for event in decision.events:
            shift = self.clock - event["occurred_at"]
            deadline = event["deadline_at"] + shift if event["deadline_at"] else None
            self.events.append({**event, "occurred_at": self.clock, "deadline_at": deadline})
        for task in decision.tasks:
            self.pending[task["metadata"]["agentbus.step"]] = task
        self.results += decision.results

    def reply(self, step: str, status: str = "ok") -> None:
        task = self.pending.pop(step)
        output_model = SYSTEM.get(task["agent"]).output_model
        self._take(
            self.engine.on_reply(
                {
                    "event_id": str(uuid.uuid4()),
                    "request_id": task["request_id"],
                    "task_id": task["task_id"],
                    "agent": task["agent"],
                    "status": status,
                    "output": render_output(output_model, task["input"])
                    if status == "ok"
                    else None,
                    "error": "sim: model unavailable" if status == "failed" else None,
                    "model": "sim-small",
                    "attempts": 1,
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "cost_usd": 0.001,
                }
            )
        )

    def trace(self) -> RequestTrace:
        rows = [{column: event.get(column) for column in COLUMNS} for event in self.events]
        result = self.results[0]
        final = {
            key: result[key]
            for key in ("task_id", "agent", "status", "output", "error", "disclaimer", "model")
        }
        final |= {"attempts": result["attempts"], "latency_ms": result["latency_ms"]}
        final |= {"cost_usd": result["cost_usd"], "answered_by": None, "occurred_at": self.clock}
        invocations = [
            {
                "task_id": event["task_id"],
                "agent": event["agent"],
                "attempt": 1,
                "outcome": "ok",
                "provider": "sim",
                "model": "sim-small",
                "tier": "small",
                "temperature": 0.2,
                "input_tokens": 10,
                "output_tokens": 5,
                "latency_ms": 40.0,
                "cost_usd": 0.001,
                "cache_hit": False,
                "breaker_state": "closed",
                "perturbation": None,
                "decision": None,
                "error": None,
            }
            for event in self.events
            if event["kind"] == "dispatched"
        ]
        return RequestTrace(
            request=None, invocations=invocations, results=[final], workflow_events=rows
        )


def _text(trace: RequestTrace) -> str:
    console = Console(record=True, width=240, color_system=None)
    console.print(render_trace("req-1", trace))
    return console.export_text()


def _line(text: str, *words: str) -> str:
    return next(line for line in text.splitlines() if all(w in line for w in words))


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip("│├└─ "))


def test_a_dag_shows_parallel_branches_as_siblings_the_synthesis_and_the_result() -> None:
    run = _Run("monthly_report", "can i get my monthly report for march please")
    for step in ("fetch_ledger", "categorise", "check_anomalies", "chart", "summarise"):
        run.reply(step)

    text = _text(run.trace())

    assert "workflow monthly_report (hierarchical)" in text
    assert "deadline 90s" in text
    plan = text.index("plan: 5 steps")
    assert (
        plan
        < text.index("fetch_ledger: ")
        < text.index("categoriser after fetch_ledger")
        < text.index("charts after categorise, check_anomalies; compensated by documents")
        < text.index("reports after chart")
    )
    parallel = _line(text, "parallel categorise ∥ check_anomalies")
    categorise = _line(text, "step categorise → categoriser ok")
    anomalies = _line(text, "step check_anomalies → transactions ok")
    chart = _line(text, "step chart → charts ok")
    assert _depth(categorise) == _depth(anomalies) > _depth(parallel) == _depth(chart)
    lines = text.splitlines()
    assert lines.index(categorise) < lines.index(anomalies) < lines.index(chart)
    assert "attempt 1 ok sim/sim-small" in text  # each step's model call sits under it
    synthesis = _line(text, "synthesis")
    assert "merged 5 step results by priority" in synthesis
    assert "kept summarise's over" in synthesis  # how a conflict was settled
    assert "finished ok" in text
    assert "result ok by monthly_report" in text


def test_a_failed_dag_shows_the_compensation_under_the_step_it_undid() -> None:
    run = _Run("monthly_report", "monthly overview please")
    for step in ("fetch_ledger", "categorise", "check_anomalies", "chart"):
        run.reply(step)
    run.reply("summarise", status="failed")
    run.reply("compensate:chart")

    text = _text(run.trace())

    assert "step summarise → reports failed" in text
    assert "step chart → charts ok compensated" in text
    assert "compensated: documents undid chart (ok)" in text
    assert "compensation chart → documents ok" in text
    assert "finished failed" in text and "compensated: chart" in text
    assert "result failed by monthly_report" in text


def test_a_mesh_shows_hops_along_their_path_and_the_cycle_it_refused() -> None:
    run = _Run("fraud_investigation", "new device login, then the balance sent to crypto")
    run.reply("1:fraud_screening@fraud")
    for step in list(run.pending):
        run.reply(step)
    while run.pending:
        run.reply(next(iter(run.pending)))

    text = _text(run.trace())

    assert "mesh fraud_investigation (mesh)" in text
    fraud = _line(text, "hop 0", "→ fraud ok", "path fraud")
    history = _line(text, "hop 1", "→ customer_history ok", "path fraud → customer_history")
    assert _depth(history) > _depth(fraud)  # asked by fraud: under fraud's hop
    cycle = _line(text, "cycle at hop 2")
    assert "cycle fraud → customer_history → fraud" in cycle
    assert _depth(cycle) > _depth(history)
    assert "result ok by fraud_investigation" in text


def test_a_pipeline_shows_its_stages_in_order() -> None:
    run = _Run("transaction_analysis", "03/03 TESCO -42.17, 04/03 AMZN -12.99 twice")
    for step in ("extract", "normalise", "analyse", "summarise"):
        run.reply(step)

    text = _text(run.trace())

    assert "pipeline transaction_analysis (pipeline)" in text
    assert "plan: 4 stages" in text
    assert "stage 3 of 4: analyst, concurrency 4, queue 16, drop_newest" in text
    stages = [_line(text, f"step {name} → ") for name in ("extract", "normalise", "analyse")]
    assert all("ok" in line for line in stages)
    assert "parallel" not in text
    assert "result ok by transaction_analysis" in text


def test_a_dropped_item_shows_its_reason() -> None:
    rows = [
        {c: None for c in COLUMNS}
        | {
            "occurred_at": dt.datetime(2026, 11, 30, 12, 0, 0, ms * 1000, tzinfo=dt.UTC),
            "workflow": "transaction_analysis",
            "topology": "pipeline",
            "depends_on": [],
            "path": [],
            "hop": 0,
            "duration_ms": 0.0,
            "attempts": 0,
            "cost_usd": 0.0,
            "detail": "",
        }
        | fields
        for ms, fields in (
            (0, {"kind": "started"}),
            (1, {"kind": "queued", "step": "analyse", "agent": "analyst", "detail": "4 running"}),
            (
                2,
                {
                    "kind": "dropped",
                    "step": "analyse",
                    "agent": "analyst",
                    "status": "dropped",
                    "detail": "stage analyse queue full: drop_newest dropped this item",
                },
            ),
            (2, {"kind": "finished", "status": "dropped", "detail": "queue full"}),
        )
    ]

    text = _text(RequestTrace(request=None, workflow_events=rows))

    assert "step analyse → analyst dropped" in text
    assert "dropped: stage analyse queue full: drop_newest dropped this item" in text
    assert "finished dropped" in text
    assert json.dumps(text)  # renders without markup errors
