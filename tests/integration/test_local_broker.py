"""A real Kafka 4 broker, started from the project's jars on free ports in a tmp dir.

Covers what a user of ``agentbus up`` relies on: the broker answers clients, keeps
its data across a stop and start, creates topics with the right configs, and a
failed start says why.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.broker import (
    BrokerError,
    BrokerStartError,
    LocalKafka,
    LocalKafkaConfig,
    TopicSpec,
    ensure_topics,
    wait_until_ready,
)
from streams.broker._admin import open_admin
from streams.broker.ports import free_ports

pytestmark = pytest.mark.integration


def _config(data_dir: Path) -> LocalKafkaConfig:
    port, controller_port = free_ports(2)
    return LocalKafkaConfig(
        data_dir=data_dir, port=port, controller_port=controller_port, heap="-Xms128m -Xmx512m"
    )


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    local = LocalKafka(_config(tmp_path_factory.mktemp("broker")))
    local.start()
    try:
        yield local
    finally:
        local.stop()


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _consume_all(bootstrap: str, topic: str, expect: int) -> list[bytes]:
    """Read ``topic`` from the start with a fresh group until ``expect`` values or 20 s."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=_unique("group"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + 20.0
        while len(values) < expect and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            values.extend(record.value for records in batches.values() for record in records)
    finally:
        await consumer.stop()
    return values


def test_start_is_idempotent(broker: LocalKafka) -> None:
    before = broker.status()
    started = time.monotonic()
    broker.start()
    assert time.monotonic() - started < 5.0
    after = broker.status()
    assert after.running and after.pid == before.pid


def test_resolved_jars_bind_slf4j_to_log4j(broker: LocalKafka) -> None:
    names = [jar.name for jar in broker.ensure_jars()]
    api = next(name for name in names if name.startswith("slf4j-api-"))
    binding = "log4j-slf4j-impl-" if api.startswith("slf4j-api-1.") else "log4j-slf4j2-impl-"
    assert any(name.startswith(binding) for name in names), names
    # A wrong binding makes SLF4J complain on the JVM's console.
    assert "SLF4J" not in broker.paths.console_log.read_text()
    assert "Kafka Server started" in broker.paths.log_file.read_text()


def test_topics_are_created_once_with_their_configs(broker: LocalKafka) -> None:
    events, changelog = _unique("events"), _unique("changelog")
    specs = [TopicSpec(events, 3), TopicSpec(changelog, 2, compacted=True)]

    async def scenario() -> tuple[list[str], list[str], dict[str, dict[str, str]], list[str]]:
        first = await ensure_topics(broker.bootstrap, specs)
        again = await ensure_topics(broker.bootstrap, specs)
        async with open_admin(broker.bootstrap, 10.0) as admin:
            responses = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name) for name in (events, changelog)]
            )
            topics = await admin.list_topics()
        configs = {
            resource[3]: {entry[0]: entry[1] for entry in resource[4]}
            for response in responses
            for resource in response.resources
        }
        return first, again, configs, topics

    first, again, configs, topics = asyncio.run(scenario())
    assert sorted(first) == sorted([events, changelog])
    assert again == []
    assert {events, changelog} <= set(topics)
    assert configs[events]["retention.ms"] == "-1"
    assert configs[events]["cleanup.policy"] == "delete"
    assert configs[changelog]["cleanup.policy"] == "compact"


def test_a_second_config_on_the_same_data_dir_is_refused(broker: LocalKafka) -> None:
    other = LocalKafka(_config(broker.config.data_dir))
    with pytest.raises(BrokerError, match="other settings"):
        other.start(timeout=10.0)
    assert broker.status().running


def test_messages_survive_a_restart(tmp_path: Path) -> None:
    local = LocalKafka(_config(tmp_path))
    topic = _unique("durable")
    try:
        local.start()
        asyncio.run(ensure_topics(local.bootstrap, [TopicSpec(topic, 1)]))
        asyncio.run(_produce(local.bootstrap, topic, b"k", b"kept across restarts"))
        assert asyncio.run(_consume_all(local.bootstrap, topic, 1)) == [b"kept across restarts"]

        first_pid = local.status().pid
        local.stop()
        local.stop()  # idempotent
        assert local.status().running is False
        assert not local.paths.pid_file.exists()

        local.start()
        assert local.status().pid != first_pid
        asyncio.run(wait_until_ready(local.bootstrap, 10.0))
        assert asyncio.run(_consume_all(local.bootstrap, topic, 1)) == [b"kept across restarts"]
    finally:
        local.stop()


def test_a_broker_that_dies_at_start_reports_its_log(tmp_path: Path) -> None:
    local = LocalKafka(_config(tmp_path))
    local.format_storage()
    # Storage formatted for another node id: Kafka refuses to start and says so.
    meta = local.paths.storage / "meta.properties"
    meta.write_text(meta.read_text().replace("node.id=1", "node.id=2"))
    with pytest.raises(BrokerStartError, match="exited during start-up") as caught:
        local.start(timeout=60.0)
    assert caught.value.log_tail, "the error carries the end of the broker log"
    assert "node" in "\n".join(caught.value.log_tail).lower()
    assert local.status().running is False
    assert not local.paths.pid_file.exists()
