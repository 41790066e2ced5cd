"""Pipelines, DAG workflows and meshes decided without Kafka (streams.flows)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from agents.flows import Mesh, MeshMember, Pipeline, Stage, Step, TaskPlan, Workflow
from agents.spec import AgentSpec
from agents.system import AgentSystem
from streams.flows import Decision, Orchestrator
from streams.records import request_record


class Ledger(BaseModel):
    account: str
    total: float


def _agent(name: str, **extra: Any) -> AgentSpec:
    return AgentSpec(
        name=name, description=name, model="sim-small", tier="small", prompt=name, **extra
    )


DIAMOND = Workflow(
    name="report",
    steps=(
        Step(name="fetch", agent="fetch", compensation="undo"),
        Step(name="categorise", agent="categorise", depends_on=("fetch",), compensation="undo"),
        Step(name="anomalies", agent="anomalies", depends_on=("fetch",)),
        Step(name="summary", agent="summary", depends_on=("categorise", "anomalies")),
    ),
    priority=("anomalies",),
    deadline_s=60,
)


def _system(**flows: Any) -> AgentSystem:
    names = ["fetch", "categorise", "anomalies", "summary", "undo", "a", "b", "c", "general"]
    agents = [_agent(n) for n in names] + [
        _agent("typed", input_model=Ledger),
        _agent("planner", output_model=TaskPlan),
    ]
    return AgentSystem(name="t", agents=tuple(agents), default_agent="general", **flows)


def _request(target: str, text: str = "report for March") -> dict[str, Any]:
    return request_record(text, producer="test", target_agent=target)


def _reply(task: dict[str, Any], output: Any = None, status: str = "ok") -> dict[str, Any]:
    text = output if isinstance(output, str) or output is None else json.dumps(output)
    return {
        "event_id": str(uuid.uuid4()),
        "trace_id": task["trace_id"],
        "span_id": "s",
        "request_id": task["request_id"],
        "task_id": task["task_id"],
        "agent": task["agent"],
        "status": status,
        "output": text if status != "failed" else None,
        "error": "model unavailable" if status == "failed" else None,
        "model": "sim-small",
        "attempts": 1,
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_usd": 0.001,
    }


def _kinds(decision: Decision) -> list[str]:
    return [f"{e['kind']}:{e['step']}" if e["step"] else e["kind"] for e in decision.events]


def test_a_diamond_runs_its_branches_in_parallel_and_merges_by_the_declared_rule() -> None:
    engine = Orchestrator(_system(workflows=(DIAMOND,)))
    started = engine.start(_request("report"))
    assert [t["agent"] for t in started.tasks] == ["fetch"]
    assert started.tasks[0]["metadata"]["agentbus.reply_to"] == "replies"
    after_fetch = engine.on_reply(_reply(started.tasks[0], {"rows": 12}))
    assert sorted(t["agent"] for t in after_fetch.tasks) == ["anomalies", "categorise"]
    cat, anom = sorted(after_fetch.tasks, key=lambda t: t["agent"], reverse=True)
    assert engine.on_reply(_reply(cat, {"risk": 0.2, "groups": 3})).tasks == []
    last = engine.on_reply(_reply(anom, {"risk": 0.9}))
    assert [t["agent"] for t in last.tasks] == ["summary"]
    assert "[categorise]" in last.tasks[0]["input"] and "[anomalies]" in last.tasks[0]["input"]
    done = engine.on_reply(_reply(last.tasks[0], "all fine"))
    assert _kinds(done)[-2:] == ["synthesized", "finished"]
    synthesized = done.events[-2]
    assert "risk: kept anomalies's over categorise's (priority)" in synthesized["detail"]
    (result,) = done.results
    assert result["status"] == "ok" and result["agent"] == "report"
    assert json.loads(result["output"])["result"]["risk"] == 0.9
    assert result["attempts"] == 4 and result["cost_usd"] == pytest.approx(0.004)
    assert engine.open == {}


def test_a_redelivered_step_result_changes_nothing() -> None:
    engine = Orchestrator(_system(workflows=(DIAMOND,)))
    task = engine.start(_request("report")).tasks[0]
    reply = _reply(task, {"rows": 1})
    assert len(engine.on_reply(reply).tasks) == 2
    again = engine.on_reply(reply)
    assert again.tasks == [] and again.events == []


def test_a_restarted_orchestrator_resumes_from_the_log_without_repeating_a_step() -> None:
    system = _system(workflows=(DIAMOND,))
    first = Orchestrator(system)
    log: list[dict[str, Any]] = []
    started = first.start(_request("report"))
    log += started.events
    fetched = first.on_reply(_reply(started.tasks[0], {"rows": 1}))
    log += fetched.events
    cat, anom = fetched.tasks
    log += first.on_reply(_reply(cat, {"a": 1})).events

    second = Orchestrator(system)
    for event in log:
        second.restore(event)
    assert second.on_reply(_reply(cat, {"a": 1})).tasks == []  # redelivered: done already
    resumed = second.on_reply(_reply(anom, {"b": 2}))
    assert [t["agent"] for t in resumed.tasks] == ["summary"]


def test_a_failure_runs_compensations_in_reverse_order_then_fails() -> None:
    engine = Orchestrator(_system(workflows=(DIAMOND,)))
    fetch = engine.start(_request("report")).tasks[0]
    cat, anom = engine.on_reply(_reply(fetch, {"rows": 1})).tasks
    assert engine.on_reply(_reply(cat, {"groups": 2})).tasks == []
    failing = engine.on_reply(_reply(anom, status="failed"))
    (undo_cat,) = failing.tasks  # categorise completed last: undone first
    assert undo_cat["agent"] == "undo" and json.loads(undo_cat["input"])["undo"] == "categorise"
    (undo_fetch,) = engine.on_reply(_reply(undo_cat, "undone")).tasks
    assert json.loads(undo_fetch["input"])["undo"] == "fetch"
    end = engine.on_reply(_reply(undo_fetch, "undone"))
    assert [e["step"] for e in end.events if e["kind"] == "compensated"] == ["fetch"]
    (result,) = end.results
    assert result["status"] == "failed"
    assert "step anomalies failed: model unavailable" in result["error"]
    assert result["error"].endswith("compensated: categorise, fetch")


def test_the_deadline_answers_partial_with_what_completed() -> None:
    engine = Orchestrator(_system(workflows=(DIAMOND,)))
    started = engine.start(_request("report"))
    engine.on_reply(_reply(started.tasks[0], {"rows": 7}))
    state = next(iter(engine.open.values()))
    assert state.deadline_ms is not None
    assert engine.tick(state.deadline_ms - 1).results == []
    ended = engine.tick(state.deadline_ms + 1)
    (result,) = ended.results
    assert result["status"] == "partial" and "1 of 4 steps" in result["disclaimer"]
    assert json.loads(result["output"])["result"] == {"rows": 7}


def test_drop_oldest_gives_every_dropped_request_a_dropped_result() -> None:
    pipe = Pipeline(
        name="flow",
        stages=(Stage(agent="a", concurrency=1, queue=2, overflow="drop_oldest"), Stage(agent="b")),
    )
    engine = Orchestrator(_system(pipelines=(pipe,)))
    decisions = [engine.start(_request("flow", f"item {i}")) for i in range(6)]
    dispatched = [t for d in decisions for t in d.tasks]
    dropped = [r for d in decisions for r in d.results]
    assert len(dispatched) == 1  # one runs, two wait, three were dropped oldest-first
    assert [r["status"] for r in dropped] == ["dropped"] * 3
    assert all("drop_oldest" in r["error"] for r in dropped)
    waiting = {s.request_id for s in engine.open.values() if s.steps["a"].status == "queued"}
    assert len(waiting) == 2
    # The running item finishes stage a: the longest-waiting item takes the slot.
    freed = engine.on_reply(_reply(dispatched[0], "extracted"))
    assert sorted(t["agent"] for t in freed.tasks) == ["a", "b"]


def test_block_admits_no_more_than_the_pipeline_holds() -> None:
    pipe = Pipeline(name="flow", stages=(Stage(agent="a", concurrency=1, queue=1),))
    engine = Orchestrator(_system(pipelines=(pipe,)))
    assert not engine.start(_request("flow")).blocked
    assert not engine.start(_request("flow")).blocked
    assert engine.start(_request("flow")).blocked


def test_a_stage_output_that_does_not_fit_the_next_input_is_a_dead_letter_naming_both() -> None:
    pipe = Pipeline(name="flow", stages=(Stage(agent="a"), Stage(agent="typed")))
    engine = Orchestrator(_system(pipelines=(pipe,)))
    task = engine.start(_request("flow")).tasks[0]
    end = engine.on_reply(_reply(task, {"account": "x"}))
    ((_, error_type, reason),) = end.letters
    assert error_type == "contract_violation"
    assert "stage a" in reason and "typed" in reason and "total" in reason
    assert end.results[0]["status"] == "failed"


def test_a_mesh_records_a_cycle_and_answers_with_every_hop() -> None:
    mesh = Mesh(
        name="inv",
        entry="x",
        members=(
            MeshMember(agent="a", capabilities=("x",), asks=("y",)),
            MeshMember(agent="b", capabilities=("y",), asks=("z",)),
            MeshMember(agent="c", capabilities=("z",), asks=("x",)),
        ),
    )
    engine = Orchestrator(_system(meshes=(mesh,)))
    (hop_a,) = engine.start(_request("inv")).tasks
    (hop_b,) = engine.on_reply(_reply(hop_a, "a says")).tasks
    (hop_c,) = engine.on_reply(_reply(hop_b, "b says")).tasks
    end = engine.on_reply(_reply(hop_c, "c says"))
    cycle = next(e for e in end.events if e["kind"] == "cycle")
    assert cycle["detail"].startswith("cycle a → b → c → a") and cycle["hop"] == 3
    assert cycle["path"] == ["a", "b", "c"]
    (result,) = end.results
    assert [a["agent"] for a in json.loads(result["output"])["answers"]] == ["a", "b", "c"]


def test_a_mesh_stops_at_the_hop_cap() -> None:
    members = tuple(
        MeshMember(agent=n, capabilities=(f"cap-{n}",), asks=(f"cap-{nxt}",))
        for n, nxt in (
            ("a", "b"),
            ("b", "c"),
            ("c", "fetch"),
            ("fetch", "undo"),
            ("undo", "summary"),
            ("summary", "general"),
            ("general", "a"),
        )
    )
    mesh = Mesh(name="deep", entry="cap-a", members=members, max_hops=3)
    engine = Orchestrator(_system(meshes=(mesh,)))
    tasks = engine.start(_request("deep")).tasks
    kinds: list[str] = []
    while tasks:
        decision = engine.on_reply(_reply(tasks[0], "answer"))
        kinds += [e["kind"] for e in decision.events]
        tasks = decision.tasks
    assert "hop_cap" in kinds and kinds.count("dispatched") == 3  # hops 1..3 after entry


def test_a_mesh_consults_a_capability_once_per_request_and_answers_partial_at_its_deadline() -> (
    None
):
    mesh = Mesh(
        name="inv",
        entry="x",
        deadline_s=30,
        members=(
            MeshMember(agent="a", capabilities=("x",), asks=("y", "z")),
            MeshMember(agent="b", capabilities=("y",), asks=("w",)),
            MeshMember(agent="c", capabilities=("z",), asks=("w",)),
            MeshMember(agent="fetch", capabilities=("w",)),
        ),
    )
    engine = Orchestrator(_system(meshes=(mesh,)))
    (hop_a,) = engine.start(_request("inv")).tasks
    hop_b, hop_c = engine.on_reply(_reply(hop_a, "a says")).tasks
    (hop_w,) = engine.on_reply(_reply(hop_b, "b says")).tasks
    second_ask = engine.on_reply(_reply(hop_c, "c says"))
    assert second_ask.tasks == []
    (duplicate,) = [e for e in second_ask.events if e["kind"] == "duplicate"]
    assert duplicate["agent"] == "fetch" and duplicate["path"] == ["a", "c"]
    state = next(iter(engine.open.values()))
    assert state.deadline_ms is not None
    (result,) = engine.tick(state.deadline_ms + 1).results  # fetch never answered
    assert result["status"] == "partial"
    assert [a["agent"] for a in json.loads(result["output"])["answers"]] == ["a", "b", "c"]
    assert engine.on_reply(_reply(hop_w, "late")).results == []  # finished: ignored


PLANNED = DIAMOND.model_copy(update={"planner": "planner"})


def test_a_planner_s_dag_runs_when_it_passes_the_checks() -> None:
    engine = Orchestrator(_system(workflows=(PLANNED,)))
    (plan_task,) = engine.start(_request("report")).tasks
    assert plan_task["agent"] == "planner" and "- anomalies:" in plan_task["input"]
    plan = {
        "tasks": [
            {"name": "fetch", "agent": "fetch"},
            {
                "name": "quick",
                "agent": "summary",
                "depends_on": ["fetch"],
                "instruction": "Be brief.",
            },
        ],
        "rationale": "a small account",
    }
    planned = engine.on_reply(_reply(plan_task, plan))
    assert [e["step"] for e in planned.events if e["kind"] == "planned"] == ["fetch", "quick"]
    assert "planned by planner (a small account)" in planned.events[1]["detail"]
    (fetch,) = planned.tasks
    (quick,) = engine.on_reply(_reply(fetch, {"rows": 3})).tasks
    assert quick["input"].startswith("Be brief.")
    (result,) = engine.on_reply(_reply(quick, "done")).results
    assert result["status"] == "ok" and result["attempts"] == 3


@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        ({"tasks": []}, "the plan has no tasks"),
        ({"tasks": [{"name": "x", "agent": "general"}]}, "uses agent 'general'"),
        ({"tasks": [{"name": "x", "agent": "fetch", "depends_on": ["x"]}]}, "cycle"),
    ],
)
def test_a_plan_that_fails_the_checks_is_recorded_and_the_declared_steps_run(
    plan: dict[str, Any], reason: str
) -> None:
    engine = Orchestrator(_system(workflows=(PLANNED,)))
    (plan_task,) = engine.start(_request("report")).tasks
    decided = engine.on_reply(_reply(plan_task, plan))
    (rejected,) = [e for e in decided.events if e["kind"] == "plan_rejected"]
    assert reason in rejected["detail"] and "running the declared steps" in rejected["detail"]
    assert [t["agent"] for t in decided.tasks] == ["fetch"]
