"""The router's hand-off to the orchestrator, and the orchestrator role's emits, without Faust."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streams.flows import Orchestrator
from streams.records import request_record
from streams.roles.messages import Emit
from streams.roles.orchestrator import OrchestratorRole
from streams.roles.router import Router
from streams.roles.runtime import RoleStats, Runtime, build_runtime
from streams.settings import Settings
from streams.testing import FakeMessage
from tests.flows_system import system


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return build_runtime(Settings(data_dir=tmp_path, topic_prefix="u."), system)


def _request(runtime: Runtime, target: str) -> bytes:
    record = request_record("monthly report", producer="test", target_agent=target)
    return runtime.codec.encode("AgentRequest", record)


def _decoded(runtime: Runtime, emit: Emit) -> dict[str, Any]:
    return runtime.codec.decode_as(emit.record, emit.value)


def test_the_router_hands_a_request_naming_a_flow_to_the_orchestrator_unchanged(
    runtime: Runtime,
) -> None:
    value = _request(runtime, "report")
    [forward] = Router(runtime, RoleStats()).route(FakeMessage(runtime.topics.intake, value))
    assert forward.topic == runtime.topics.flows and forward.value == value
    assert forward.key == _decoded(runtime, forward)["request_id"].encode()


def test_the_orchestrator_emits_events_tasks_and_one_result_keyed_by_request(
    runtime: Runtime,
) -> None:
    role = OrchestratorRole(runtime, RoleStats(), Orchestrator(runtime.system))
    emits = role.on_request(FakeMessage(runtime.topics.flows, _request(runtime, "loop")))
    assert emits is not None
    by_topic = {e.topic for e in emits}
    assert by_topic == {runtime.topics.workflow, runtime.topics.tasks("a")}
    request_id = _decoded(runtime, emits[0])["request_id"]
    assert {e.key for e in emits} == {request_id.encode()}
    [task] = [e for e in emits if e.record == "AgentTask"]
    assert _decoded(runtime, task)["metadata"]["agentbus.reply_to"] == "replies"


def test_bad_input_to_the_orchestrator_ends_as_dead_letters_with_the_reason(
    runtime: Runtime,
) -> None:
    role = OrchestratorRole(runtime, RoleStats(), Orchestrator(runtime.system))
    [garbage] = role.on_request(FakeMessage(runtime.topics.flows, b"not avro")) or []
    [unknown] = role.on_request(FakeMessage(runtime.topics.flows, _request(runtime, "nope"))) or []
    [odd_reply] = role.on_reply(FakeMessage(runtime.topics.replies, b"\x00"))
    assert _decoded(runtime, garbage)["error_type"] == "not_avro"
    letter = _decoded(runtime, unknown)
    assert letter["error_type"] == "unknown_agent" and "'nope'" in letter["reason"]
    assert _decoded(runtime, odd_reply)["error_type"] in {"not_avro", "unknown_schema"}
