"""A worker's Prometheus endpoint: its counters move as it consumes, produces and
dead-letters."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from streams.broker.ports import free_ports
from streams.client import AgentbusClient
from streams.kafka_options import client_options
from streams.supervise import wait_for_gateway
from tests.harness import Stack

pytestmark = pytest.mark.integration


def _samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(url, timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(url: str, name: str, **labels: str) -> float:
    return _samples(url).get((name, frozenset(labels.items())), 0.0)


async def _traffic(stack: Stack, good: int) -> None:
    async with AgentbusClient(stack.runtime) as client:
        for i in range(good):
            await client.submit(f"what is my balance? ({i})", tenant="acme")
        await client.flush()
    producer = AIOKafkaProducer(**client_options(stack.settings))
    await producer.start()
    try:
        await producer.send_and_wait(stack.runtime.topics.intake, b"not avro at all", key=b"bad")
    finally:
        await producer.stop()


def test_worker_metrics_endpoint_counts_what_it_consumes_produces_and_dead_letters(
    stack: Stack,
) -> None:
    (port,) = free_ports(1)
    worker = stack.start(["sink", "router"], name="front", metrics_port=port)
    wait_for_gateway(worker, stack.settings)
    url = f"http://127.0.0.1:{port}/metrics"
    assert _value(url, "agentbus_events_consumed_total", role="router") == 0
    breakers = [k for k in _samples(url) if k[0] == "agentbus_breaker_state"]
    assert breakers, "no breaker series"

    asyncio.run(_traffic(stack, good=6))

    def moved() -> bool:
        return (
            _value(url, "agentbus_events_consumed_total", role="router") >= 7
            and _value(url, "agentbus_events_produced_total", role="router") >= 6
            and _value(url, "agentbus_dead_letters_total", role="router", reason="not_avro") == 1
            # sink: 7 intake + 6 tasks + 1 dead letter
            and _value(url, "agentbus_events_consumed_total", role="sink") >= 14
        )

    stack.wait_until(moved, 60, "the counters to move")
    lag = [v for (name, _), v in _samples(url).items() if name == "agentbus_consumer_lag"]
    assert lag, "no consumer lag series"
    # Nothing is being handled once the counters settled; the gauge exists per role.
    in_flight = {
        labels: v for (name, labels), v in _samples(url).items() if name == "agentbus_in_flight"
    }
    assert len(in_flight) == 2 and all(v >= 0 for v in in_flight.values())
