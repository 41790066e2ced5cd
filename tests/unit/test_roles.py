"""The roles' decisions, without Faust or Kafka: each consumed message ends as its
outputs or its dead letter, with the reason a user can read."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import SimConfig, SimProvider
from agents.invocation import InvocationDeps
from agents.providers.base import ModelProvider, ModelRequest, ModelResponse
from agents.system import AgentSystem
from streams.records import request_record, task_record
from streams.roles.errors import EventFailed
from streams.roles.messages import Emit
from streams.roles.router import Router
from streams.roles.runtime import RoleStats, Runtime, build_runtime
from streams.roles.sink import Sink
from streams.roles.specialist import Specialist
from streams.settings import Settings
from streams.testing import FakeMessage


def _runtime(tmp_path: Path, system: AgentSystem | None = None, **overrides: Any) -> Runtime:
    settings = Settings(data_dir=tmp_path, topic_prefix="u.", **overrides)
    return build_runtime(settings, system)


def _request(runtime: Runtime, text: str, **fields: Any) -> bytes:
    return runtime.codec.encode("AgentRequest", request_record(text, producer="test", **fields))


def _decoded(runtime: Runtime, emit: Emit) -> dict[str, Any]:
    return runtime.codec.decode_as(emit.record, emit.value)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    return _runtime(tmp_path_factory.mktemp("roles"))


def test_a_request_over_the_intake_limit_is_a_too_large_dead_letter_and_the_next_is_routed(
    tmp_path: Path,
) -> None:
    """Finding 1: a ~1 MB request crashed the router and took the next request with it."""
    runtime = _runtime(tmp_path, intake_max_bytes=256 * 1024)
    router = Router(runtime, RoleStats())
    big = FakeMessage(runtime.topics.intake, _request(runtime, "x" * 1_000_000), offset=0)
    normal = FakeMessage(runtime.topics.intake, _request(runtime, "reset my PIN"), offset=1)

    [dead] = router.route(big)
    [task] = router.route(normal)

    assert dead.topic == runtime.topics.deadletter
    letter = _decoded(runtime, dead)
    assert letter["error_type"] == "too_large"
    assert "over the intake limit of 262144 bytes" in letter["reason"]
    assert len(dead.value) < 100 * 1024, "the dead letter itself must fit the broker"
    assert task.record == "AgentTask"
    assert task.topic == runtime.topics.tasks("support")


def test_undecodable_empty_and_unknown_agent_requests_each_get_their_reason(
    runtime: Runtime,
) -> None:
    router = Router(runtime, RoleStats())
    intake = runtime.topics.intake
    cases = {
        "not_avro": FakeMessage(intake, b"garbage"),
        "unknown_agent": FakeMessage(intake, _request(runtime, "hi", target_agent="nobody")),
    }
    for error_type, message in cases.items():
        [emit] = router.route(message)
        assert _decoded(runtime, emit)["error_type"] == error_type
    [emit] = router.route(FakeMessage(intake, None))
    assert _decoded(runtime, emit)["reason"] == "empty value (tombstone) on intake"


odd_text = st.text(alphabet=st.characters(codec="utf-8", categories=None), min_size=0, max_size=300)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=odd_text,
    tenant=odd_text,
    target=st.one_of(st.none(), odd_text, st.sampled_from(["support", "reports", "general"])),
    request_id=st.one_of(st.uuids().map(str), odd_text),
    metadata=st.dictionaries(odd_text, odd_text, max_size=4),
)
def test_any_decodable_request_ends_as_exactly_one_task_or_dead_letter(
    runtime: Runtime,
    text: str,
    tenant: str,
    target: str | None,
    request_id: str,
    metadata: dict[str, str],
) -> None:
    router = Router(runtime, RoleStats())
    value = request_record(
        text, producer="fuzz", tenant=tenant, target_agent=target, metadata=metadata,
        request_id=request_id,
    )  # fmt: skip
    message = FakeMessage(runtime.topics.intake, runtime.codec.encode("AgentRequest", value))
    try:
        emits = router.route(message)
    except EventFailed as exc:  # the window makes this a handler_error dead letter
        pytest.fail(f"router raised on a decodable request: {exc}")
    assert len(emits) == 1
    [emit] = emits
    decoded = _decoded(runtime, emit)
    if emit.record == "AgentTask":
        assert decoded["request_id"] == value["request_id"]
        assert decoded["input"] == text
    else:
        assert emit.record == "DeadLetter"
        assert decoded["reason"]
        assert decoded["request_id"] == value["request_id"]


class _OffContractModel:
    """A model that answers support questions without the fields support promises."""

    name = "sim"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if request.metadata.get("agent") == "support":
            text = '{"answer": "Reset it in the app."}'  # no category, no escalate
        else:
            text = "The general assistant answers."
        return ModelResponse(
            text=text, input_tokens=10, output_tokens=8, latency_ms=1.0, model=request.model
        )


def _task_message(runtime: Runtime, text: str, agent: str, offset: int = 0) -> FakeMessage:
    router = Router(runtime, RoleStats())
    request = request_record(text, producer="test", target_agent=agent)
    decision = router._classifier.decide(text, agent)
    task = task_record(request, decision, "router")
    return FakeMessage(
        runtime.topics.tasks(agent), runtime.codec.encode("AgentTask", task), offset=offset
    )


def _specialist(runtime: Runtime, agent: str, provider: ModelProvider | None = None) -> Specialist:
    provider = provider or SimProvider(SimConfig(latency_scale=0.0))
    deps = InvocationDeps(fallbacks=runtime.system.get, sleep=_no_sleep)
    return Specialist(runtime, agent, provider, deps, RoleStats())


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def test_a_contract_violation_becomes_a_contract_violation_dead_letter(tmp_path: Path) -> None:
    """Finding 3: the specialist matched a message prefix that the invocation path rewraps,
    so no contract_violation dead letter was ever produced."""
    runtime = _runtime(tmp_path)
    specialist = _specialist(runtime, "support", _OffContractModel())
    message = _task_message(runtime, "How do I reset my PIN?", "support")

    emits = asyncio.run(specialist.handle(message))

    letters = [_decoded(runtime, e) for e in emits if e.record == "DeadLetter"]
    assert letters, "every attempt that broke the contract is a dead letter"
    assert {x["error_type"] for x in letters} == {"contract_violation"}
    assert all("category" in x["reason"] for x in letters), letters[0]["reason"]
    assert all(x["raw"] for x in letters), "the offending output travels with it"
    [result] = [_decoded(runtime, e) for e in emits if e.record == "AgentResult"]
    assert result["status"] == "degraded"
    assert result["answered_by"] == "general"


def test_a_result_served_from_the_cache_reports_no_model_calls(tmp_path: Path) -> None:
    """Finding 4: a cache hit reported attempts = 1."""
    runtime = _runtime(tmp_path)
    specialist = _specialist(runtime, "support")
    text = "How do I change the address on my account?"

    first = asyncio.run(specialist.handle(_task_message(runtime, text, "support", 0)))
    second = asyncio.run(specialist.handle(_task_message(runtime, text, "support", 1)))

    [miss] = [_decoded(runtime, e) for e in first if e.record == "AgentResult"]
    [hit] = [_decoded(runtime, e) for e in second if e.record == "AgentResult"]
    [hit_attempt] = [_decoded(runtime, e) for e in second if e.record == "Invocation"]
    assert miss["attempts"] == 1
    assert hit_attempt["cache_hit"] is True
    assert hit["attempts"] == 0
    assert hit["cost_usd"] == 0


def test_a_task_for_another_agent_is_dead_lettered_as_misrouted(runtime: Runtime) -> None:
    specialist = _specialist(runtime, "reports")
    message = _task_message(runtime, "How do I reset my PIN?", "support")
    message = FakeMessage(runtime.topics.tasks("reports"), message.value)

    [emit] = asyncio.run(specialist.handle(message))

    letter = _decoded(runtime, emit)
    assert letter["error_type"] == "misrouted"
    assert uuid.UUID(letter["request_id"])


def test_the_sink_dead_letters_unreadable_events_except_on_intake(runtime: Runtime) -> None:
    sink = Sink(runtime, RoleStats())
    good = FakeMessage(runtime.topics.intake, _request(runtime, "hello"))
    bad_intake = FakeMessage(runtime.topics.intake, b"garbage")
    bad_result = FakeMessage(runtime.topics.results, b"garbage")

    rows, letters = sink.rows([good, bad_intake, bad_result])

    assert [table for table, _ in rows] == ["AgentRequest"]
    assert len(letters) == 1, "the router already dead-letters bad intake"
    assert _decoded(runtime, letters[0])["source_topic"] == runtime.topics.results
