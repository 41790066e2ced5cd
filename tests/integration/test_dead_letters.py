"""Bad input on the intake topic becomes dead letters with the reason; the stream goes on."""

from __future__ import annotations

import asyncio
import struct

import pytest

from streams.client import AgentbusClient
from streams.events import envelope, new_trace_id
from tests.harness import Stack
from tests.integration.test_spine import submit_and_collect

pytestmark = pytest.mark.integration


async def send_bad_input(stack: Stack) -> None:
    codec = stack.runtime.codec
    async with AgentbusClient(stack.runtime) as client:
        await client.send_raw(b"this is not avro at all", key=b"garbage")
        # A well-framed single-object event whose schema nobody knows.
        await client.send_raw(
            b"\xc3\x01" + struct.pack("<Q", 0xDEADBEEF) + b"\x02\x04ab", key=b"unknown"
        )
        # A valid event of the wrong record type for intake.
        letter = {
            **envelope(producer="test", trace_id=new_trace_id(), parent_span_id=None),
            "request_id": "x",
            "reason": "r",
            "error_type": "t",
            "source_topic": "s",
            "source_partition": 0,
            "source_offset": 0,
            "raw": b"",
        }
        await client.send_raw(codec.encode("DeadLetter", letter), key=b"wrong")
        # A valid request for an agent that does not exist.
        await client.submit("hello", request_id="req-unknown-agent", target_agent="astrology")
        await client.flush()


def test_bad_input_is_dead_lettered_and_later_requests_are_served(stack: Stack) -> None:
    worker = stack.start_all()
    asyncio.run(send_bad_input(stack))

    results = asyncio.run(
        submit_and_collect(stack, [{"input": "card refund please", "tenant": "acme"}], timeout=60)
    )

    assert [r["status"] for r in results.values()] == ["ok"]
    stack.wait_until(
        lambda: stack.scalar("SELECT count() FROM agentbus.dead_letters FINAL") >= 4,
        30,
        "4 dead letters",
    )
    rows = (
        stack.gateway()
        .query(
            "SELECT error_type, reason, source_topic, length(raw), request_id "
            "FROM agentbus.dead_letters FINAL ORDER BY error_type"
        )
        .rows
    )
    assert [r[0] for r in rows] == ["not_avro", "unknown_agent", "unknown_schema", "wrong_record"]
    assert all(r[2] == stack.runtime.topics.intake for r in rows)
    assert all(r[3] > 0 for r in rows), "the raw bytes travel with the dead letter"
    assert "astrology" in rows[1][1] and rows[1][4] == "req-unknown-agent"
    assert "fingerprint" in rows[2][1].lower()
    # One clear error line per bad event in the worker's log.
    log = worker.log_file.read_text()
    assert log.count("dead letter (") == 4
    # Nothing lost: every intake event is a request row or a dead letter.
    stack.wait_until(
        lambda: stack.scalar("SELECT count() FROM agentbus.requests FINAL") == 2, 30, "2 requests"
    )


async def _submit_big_then_normal(stack: Stack, big_input: str) -> tuple[str, str]:
    async with AgentbusClient(stack.runtime) as client:
        # Same key, so both land on one partition: the normal request must not be lost
        # behind the big one (finding 1: the router crashed and both vanished).
        big = await client.submit(big_input, request_id="req-big", session_id="s")
        await client.flush()
        normal = await client.submit("card refund please", request_id="req-big")
        await client.flush()
    return big.request_id, normal.request_id


def test_a_request_too_large_to_forward_is_a_too_large_dead_letter_and_the_next_is_served(
    stack: Stack,
) -> None:
    worker = stack.start_all(intake_max_bytes=200_000)
    asyncio.run(_submit_big_then_normal(stack, "x" * 900_000))

    stack.wait_until(
        lambda: (
            stack.scalar(
                "SELECT count() FROM agentbus.dead_letters FINAL WHERE error_type = 'too_large'"
            )
            == 1
        ),
        60,
        "the too_large dead letter",
    )
    stack.wait_until(
        lambda: stack.scalar("SELECT count() FROM agentbus.results FINAL") == 1,
        60,
        "the result of the normal request",
    )
    reason, request_id, raw = (
        stack.gateway()
        .query(
            "SELECT reason, request_id, length(raw) FROM agentbus.dead_letters FINAL "
            "WHERE error_type = 'too_large'"
        )
        .rows[0]
    )
    assert "over the intake limit of 200000 bytes" in reason
    assert 0 < raw <= 64 * 1024, "the raw head travels, cut to fit the broker"
    assert request_id == "req-big"  # not decoded: found by the message key
    assert worker.alive()
    assert "Agent Crashed" not in worker.log_file.read_text()
