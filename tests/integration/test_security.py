"""Every agentbus path through a SASL_SSL (SCRAM-SHA-512) broker, and no secret leaks.

One broker for the module, with only a SASL_SSL client listener, in a data
directory named with non-ASCII characters. The CLI runs as subprocesses with
``AGENTBUS_*`` variables, the way an operator runs it. Planted secrets (the SASL
password, model API keys in the environment) must never show up in CLI output,
worker logs, dead letters or any ClickHouse table.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from streams.kafka_options import client_options
from streams.settings import Settings
from streams.supervise import WorkerProcess, spawn_worker, wait_for_gateway
from streams.warehouse.gateway import GatewayClient, find_gateway
from tests.security_harness import NON_ASCII_DIR, SecureKafka

pytestmark = pytest.mark.integration

PLANTED = {
    "OPENAI_API_KEY": "sk-PLANTED-openai-3b1d8e",
    "ANTHROPIC_API_KEY": "sk-ant-PLANTED-anthropic-9c2f41",
}
WRONG_PASSWORD = "pw-WRONG-PLANTED-51e0aa"


def _secrets(kafka: SecureKafka) -> list[str]:
    return [kafka.password, WRONG_PASSWORD, *PLANTED.values()]


@dataclass
class Deployment:
    """The module's deployment: settings, its worker, and every CLI output seen."""

    kafka: SecureKafka
    settings: Settings
    outputs: list[tuple[list[str], str]] = field(default_factory=list)
    workers: list[WorkerProcess] = field(default_factory=list)
    request_id: str = ""

    def cli(
        self, *args: str, settings: Settings | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``agentbus ARGS`` as a subprocess; its output is kept for the leak scan."""
        env = (settings or self.settings).child_env()
        done = subprocess.run(  # our own CLI
            [sys.executable, "-m", "streams.cli.main", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        self.outputs.append((list(args), done.stdout + done.stderr))
        return done

    def gateway(self) -> GatewayClient:
        gateway = find_gateway(self.settings.data_dir)
        assert gateway is not None, "no worker owns the store"
        return gateway

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.gateway().query(sql, params or None).rows[0][0]


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _settings(kafka: SecureKafka, data_dir: Path, **more: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        kafka_bootstrap=kafka.bootstrap,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username=kafka.user,
        kafka_sasl_password=kafka.password,  # type: ignore[arg-type]  # pydantic wraps it
        kafka_ssl_cafile=kafka.cafile,
        topic_prefix=f"s{uuid.uuid4().hex[:10]}.",
        partitions=3,
        sim_latency_scale=0.0,
        sink_flush_seconds=0.2,
        intake_max_bytes=2048,
        log_level="info",
        **more,
    )


@pytest.fixture(scope="module")
def deployment(
    secure_kafka: SecureKafka, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    # The model keys sit in the environment every child inherits, as in production.
    with pytest.MonkeyPatch.context() as patch:
        for name, value in PLANTED.items():
            patch.setenv(name, value)
        settings = _settings(secure_kafka, tmp_path_factory.mktemp("agentbus") / "data")
        deployed = Deployment(secure_kafka, settings)
        yield deployed
        for worker in deployed.workers:
            worker.stop()


@pytest.fixture(scope="module")
def running(deployment: Deployment) -> Deployment:
    """``agentbus up``, then ``agentbus run`` in the background, then one request through."""
    up = deployment.cli("up")
    assert up.returncode == 0, up.stderr
    worker = spawn_worker(deployment.settings)
    deployment.workers.append(worker)
    wait_for_gateway(worker, deployment.settings)
    submitted = deployment.cli("submit", "--text", "I lost my card, please block it")
    assert submitted.returncode == 0, submitted.stderr
    deployment.request_id = submitted.stdout.split()[0]
    _wait_until(
        lambda: (
            deployment.scalar(
                "SELECT count() FROM agentbus.results FINAL WHERE request_id = {id:String}",
                id=deployment.request_id,
            )
            == 1
        ),
        120,
        "the result of the submitted request",
    )
    return deployment


def test_the_broker_runs_in_a_non_ascii_data_dir(secure_kafka: SecureKafka) -> None:
    storage = secure_kafka.broker.paths.storage  # <tmp>/données-ä漢/data/kafka/storage
    assert storage.parents[2].name == NON_ASCII_DIR
    assert (storage / "meta.properties").is_file()
    assert (storage / "__cluster_metadata-0").is_dir()
    # A UTF-8 file read as Latin-1 sent Kafka to a sibling named "donnÃ©es-Ã¤æ¼¢".
    assert [p.name for p in storage.parents[3].iterdir()] == [NON_ASCII_DIR]


def test_up_creates_every_topic_over_sasl_ssl(running: Deployment) -> None:
    up_output = next(text for args, text in running.outputs if args == ["up"])
    # "topics     13 (13 created)"
    count = up_output.split("topics", 1)[1].split()[0]

    async def topics() -> set[str]:
        admin = AIOKafkaAdminClient(**client_options(running.settings))
        await admin.start()
        try:
            return set(await admin.list_topics())
        finally:
            await admin.close()

    ours = {
        name for name in asyncio.run(topics()) if name.startswith(running.settings.topic_prefix)
    }
    assert len(ours) == int(count) > 0
    assert f"({count} created)" in up_output
    again = running.cli("up")
    assert again.returncode == 0, again.stderr
    assert "(0 created)" in again.stdout


def test_sql_and_trace_read_the_request(running: Deployment) -> None:
    query = "SELECT request_id, status FROM agentbus.results FINAL WHERE request_id = '{}'"
    sql = running.cli("sql", "--format", "tsv", query.format(running.request_id))
    assert sql.returncode == 0, sql.stderr
    assert sql.stdout.splitlines()[1].split("\t")[0] == running.request_id
    trace = running.cli("trace", running.request_id)
    assert trace.returncode == 0, trace.stderr
    assert running.request_id in trace.stdout


def test_status_sees_the_groups_through_sasl_ssl(running: Deployment) -> None:
    status = running.cli("status")
    assert status.returncode == 0, status.stderr
    assert "answering" in status.stdout
    assert "roles" in status.stdout
    assert "Stable" in status.stdout


def test_chaos_policies_reach_the_worker(running: Deployment) -> None:
    agent = running.scalar(
        "SELECT agent FROM agentbus.results FINAL WHERE request_id = {id:String}",
        id=running.request_id,
    )
    done = running.cli("chaos", agent, "--error-rate", "0", "--clear")
    assert done.returncode == 0, done.stderr
    assert agent in done.stdout


def test_too_large_requests_become_dead_letters(running: Deployment) -> None:
    # Over AGENTBUS_INTAKE_MAX_BYTES: the router letters it without decoding it.
    submitted = running.cli("submit", "--text", "x" * 4096)
    assert submitted.returncode == 0, submitted.stderr
    _wait_until(
        lambda: (
            running.scalar(
                "SELECT count() FROM agentbus.dead_letters WHERE error_type = 'too_large'"
            )
            >= 1
        ),
        60,
        "the too_large dead letter",
    )


@pytest.mark.parametrize(
    "args", [["up"], ["status"], ["submit", "--text", "hi"], ["chaos", "*", "--clear"]]
)
def test_a_wrong_password_is_one_error_line(running: Deployment, args: list[str]) -> None:
    wrong = running.settings.model_copy(update={"kafka_sasl_password": WRONG_PASSWORD})
    done = running.cli(*args, settings=wrong)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    if args[0] in ("up", "status"):  # the admin paths probe first and say why
        assert "refused the SASL_SSL credentials" in lines[0]
        assert f"[bootstrap {running.kafka.bootstrap}]" in lines[0]


def test_an_untrusted_certificate_is_one_error_line(running: Deployment) -> None:
    system_cas = running.settings.model_copy(update={"kafka_ssl_cafile": None})
    done = running.cli("up", settings=system_cas)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "TLS handshake failed" in lines[0], done.stderr


def test_demo_runs_through_sasl_ssl(
    running: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Its own data dir: the demo refuses one whose store a worker owns.
    settings = _settings(running.kafka, tmp_path_factory.mktemp("demo") / "data")
    demo = running.cli(
        "demo", "--requests", "20", "--error-rate", "0", "--timeout", "120", settings=settings
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "20/20 results" in demo.stdout
    running.outputs.append((["demo log"], _read_logs(settings.data_dir)))


def _read_logs(data_dir: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted((data_dir / "logs").glob("*.log")))


def _topic_bytes(settings: Settings, topic: str) -> bytes:
    async def read() -> bytes:
        consumer = AIOKafkaConsumer(
            topic, **client_options(settings), group_id=None, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=5000)
            chunks = [
                (record.key or b"") + (record.value or b"") + repr(record.headers).encode()
                for records in batches.values()
                for record in records
            ]
        finally:
            await consumer.stop()
        return b"".join(chunks)

    return asyncio.run(read())


def test_no_secret_leaks_anywhere(running: Deployment) -> None:
    secrets = _secrets(running.kafka)
    settings = running.settings
    places: dict[str, str] = {
        "Settings.as_dict()": repr(settings.as_dict()),
        "repr(settings)": repr(settings),
        "str(settings)": str(settings),
        "worker logs": _read_logs(settings.data_dir),
        "broker logs": _read_logs(running.kafka.broker.paths.root),
        # The broker's own JAAS line holds only its inter-broker user's password.
        "server.properties": running.kafka.broker.paths.properties.read_text("latin-1"),
    }
    assert places["worker logs"], "the worker wrote no log"
    for args, text in running.outputs:
        places[f"agentbus {' '.join(args)[:40]}"] = text
    gateway = running.gateway()
    tables = [
        row[0]
        for row in gateway.query("SELECT name FROM system.tables WHERE database = 'agentbus'").rows
    ]
    assert "dead_letters" in tables and "results" in tables
    for table in tables:
        rows = gateway.query(f"SELECT * FROM agentbus.`{table}`").rows
        places[f"table {table}"] = repr(rows)
    letters = _topic_bytes(settings, settings.topic("deadletter"))
    assert letters, "the dead-letter topic is empty"
    places["dead-letter topic"] = letters.decode("utf-8", errors="replace")
    leaks = [(where, s) for where, text in places.items() for s in secrets if s in text]
    assert leaks == []
    assert settings.as_dict()["kafka_sasl_password"] == "**********"
    assert settings.to_env()["AGENTBUS_KAFKA_SASL_PASSWORD"] == running.kafka.password
    assert os.environ.get("OPENAI_API_KEY") == PLANTED["OPENAI_API_KEY"]
