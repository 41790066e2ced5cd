"""AGENTBUS_PROCESSING_GUARANTEE=exactly_once: across SIGKILLs of the router and the
specialists, a read_committed consumer of the results topic sees each result once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka_options import client_options
from streams.shared.topic_view import partitions_of
from streams.supervise import wait_for_gateway
from tests.chaos.test_kill_specialist import SPECIALISTS, submit
from tests.harness import Stack

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

DETAILS: dict[str, list[object]] = {}
EOS = {"processing_guarantee": "exactly_once"}
# 200 ms per model call, 5 calls in flight per specialist: the kills land mid-run.
SLOW = {"sim_latency_ms": 200.0, "sim_latency_scale": 1.0, "specialist_concurrency": 5}


async def committed_results(stack: Stack) -> Counter[str]:
    """Result events per request id, as a read_committed consumer sees the whole topic."""
    topic = stack.runtime.topics.results
    consumer = AIOKafkaConsumer(
        **client_options(stack.settings),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(consumer, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)  # the last stable offsets
        seen: Counter[str] = Counter()
        while any([await consumer.position(tp) < end[tp] for tp in partitions]):
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    result = stack.runtime.codec.decode_as("AgentResult", record.value)
                    seen[str(result["request_id"])] += 1
                    DETAILS.setdefault(str(result["request_id"]), []).append(
                        (result["producer"], record.partition, record.offset, result["event_id"])
                    )
        return seen
    finally:
        await consumer.stop()


def test_no_duplicate_result_reaches_a_read_committed_consumer_across_kills(stack: Stack) -> None:
    sink = stack.start(["sink"], name="sink", **EOS)
    wait_for_gateway(sink, stack.settings)
    router = stack.start(["router"], name="router-1", **EOS)
    specialists = stack.start(SPECIALISTS, name="specialists-1", **EOS, **SLOW)
    ids = asyncio.run(submit(stack, 300))

    results = "SELECT count() FROM agentbus.results FINAL"
    stack.wait_until(lambda: stack.scalar(results) >= 50, 120, "the first results")
    specialists.kill()
    router.kill()
    assert stack.scalar(results) < 300, "the kills must land mid-run"
    stack.start(["router"], name="router-2", **EOS)
    specialists = stack.start(SPECIALISTS, name="specialists-2", **EOS, **SLOW)
    stack.wait_until(lambda: stack.scalar(results) >= 100, 120, "results after the restart")
    specialists.kill()  # a second kill, after the restarted workers took over
    stack.start(SPECIALISTS, name="specialists-3", **EOS, **SLOW)
    stack.wait_until(lambda: stack.scalar(results) >= 300, 240, "all 300 results")

    seen = asyncio.run(committed_results(stack))

    assert set(seen) == set(ids), "every request has its result"
    duplicated = {rid: n for rid, n in seen.items() if n > 1}
    assert duplicated == {}, [DETAILS[r] for r in duplicated]
