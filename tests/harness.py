"""Integration harness (fixtures registered in tests/conftest.py).

One real Kafka broker for the whole session; per test a fresh topic prefix, data
dir (so its own embedded ClickHouse store) and consumer groups.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka.partitioner import murmur2

from streams.broker import LocalKafka, LocalKafkaConfig, ensure_topics
from streams.broker.groups import describe_group
from streams.broker.ports import free_ports
from streams.roles.registry import group_id
from streams.roles.runtime import Runtime, build_runtime
from streams.settings import Settings
from streams.supervise import WorkerProcess, spawn_worker, wait_for_gateway
from streams.warehouse.gateway import GatewayClient, find_gateway
from tests.security_harness import NON_ASCII_DIR, secure_listener


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A real Apache Kafka 4 broker (KRaft), started once per test session: PLAINTEXT
    for most tests, and a SASL_SSL listener for the security tests; its data dir has
    non-ASCII characters on purpose. The chaos suite restarts it mid-run."""
    root = tmp_path_factory.mktemp("kafka") / NON_ASCII_DIR
    port, controller = free_ports(2)
    broker = LocalKafka(
        LocalKafkaConfig(
            data_dir=root / "data",
            port=port,
            controller_port=controller,
            sasl_ssl=secure_listener(root),
        )
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: LocalKafka) -> str:
    """The session broker's PLAINTEXT bootstrap address."""
    return kafka_broker.bootstrap


@dataclass
class Stack:
    """One test's deployment: unique topics and groups, its own data dir and store."""

    settings: Settings
    runtime: Runtime
    workers: list[WorkerProcess] = field(default_factory=list)

    def start(
        self, roles: Sequence[str] = (), name: str = "run", **overrides: Any
    ) -> WorkerProcess:
        """Start ``agentbus run`` (no roles) or ``agentbus worker <roles>`` as a child process."""
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        worker = spawn_worker(settings, roles, log_name=name)
        self.workers.append(worker)
        return worker

    def start_all(self, **overrides: Any) -> WorkerProcess:
        """All roles in one process; returns once the sink serves its query gateway."""
        worker = self.start(**overrides)
        wait_for_gateway(worker, self.settings)
        return worker

    def wait_for_members(self, role: str, members: int, timeout: float = 120.0) -> None:
        """Block until ``role``'s consumer group is Stable with ``members`` live members."""
        group = group_id(self.runtime, role)

        def ready() -> bool:
            info = asyncio.run(describe_group(self.settings.kafka_bootstrap, group))
            return info.state == "Stable" and info.members == members

        self.wait_until(ready, timeout, f"{members} members in group {group}")

    def start_front(self) -> WorkerProcess:
        """The sink and the router in one process, specialists left to the test."""
        worker = self.start(["sink", "router"], name="front")
        wait_for_gateway(worker, self.settings)
        return worker

    def gateway(self) -> GatewayClient:
        gateway = find_gateway(self.settings.data_dir)
        assert gateway is not None, "no worker owns this test's ClickHouse store"
        return gateway

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.gateway().query(sql, params or None).rows[0][0]

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``condition``; fail with every worker's log if it never holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        logs = "\n".join(f"--- {w.roles} ---\n{w.log_tail(15)}" for w in self.workers)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def ids_cycling_partitions(count: int, partitions: int) -> list[str]:
    """Request ids whose tasks land on partitions 0, 1, …, 0, 1, … (the router keys a task by
    its request id and partitions as Kafka's default partitioner does), so every replica of a
    role gets its share and a test never hangs on where random ids happen to fall."""
    ids: list[str] = []
    while len(ids) < count:
        candidate = str(uuid.uuid4())
        if (murmur2(candidate.encode()) & 0x7FFFFFFF) % partitions == len(ids) % partitions:
            ids.append(candidate)
    return ids


def deploy(kafka_bootstrap: str, data_dir: Path, **overrides: Any) -> Stack:
    """A fresh deployment on the session broker: unique topic prefix (topics created),
    its own data dir and store; ``overrides`` are settings (e.g. ``system=…``)."""
    settings = Settings(
        data_dir=data_dir,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        partitions=3,
        sim_latency_scale=0.0,
        sink_flush_seconds=0.2,
        log_level="info",
        **overrides,
    )
    runtime = build_runtime(settings)
    asyncio.run(ensure_topics(kafka_bootstrap, runtime.topics.specs()))
    return Stack(settings, runtime)


@pytest.fixture
def stack(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Stack]:
    deployed = deploy(kafka_bootstrap, tmp_path / "agentbus")
    yield deployed
    for worker in deployed.workers:
        worker.stop()
