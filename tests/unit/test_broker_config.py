"""The local broker's configuration, layout and error reporting; no broker runs here."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import streams.broker
from agents.reference import fintech_system
from streams.broker import (
    BrokerError,
    BrokerStartError,
    LocalKafka,
    LocalKafkaConfig,
    ToolchainError,
    TopicError,
    TopicSpec,
    _process,
    _properties,
)
from streams.broker._admin import split_bootstrap
from streams.broker.jars import ensure_jars, infra_dir, kafka_version, require_java
from streams.broker.ports import free_ports
from streams.broker.topics import _create_missing
from streams.roles.runtime import build_runtime
from streams.settings import Settings
from streams.stack import StackError, bring_up
from streams.topics import Topics


def _broker(tmp_path: Path, **overrides: object) -> LocalKafka:
    config = LocalKafkaConfig(data_dir=tmp_path, jar_cache_dir=tmp_path / "jars", **overrides)  # type: ignore[arg-type]
    return LocalKafka(config)


# -- config ------------------------------------------------------------------------


def test_controller_port_defaults_to_client_port_plus_1000(tmp_path: Path) -> None:
    config = LocalKafkaConfig(data_dir=tmp_path, port=19092)
    assert config.resolved_controller_port == 20092
    assert config.bootstrap == "127.0.0.1:19092"
    explicit = LocalKafkaConfig(data_dir=tmp_path, controller_port=9999)
    assert explicit.resolved_controller_port == 9999


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"port": 0}, "port must be in"),
        ({"port": 70000}, "port must be in"),
        ({"port": 65000}, "default controller port 66000"),
        ({"controller_port": 9092}, "must differ"),
        ({"heap": "-Xmx1g '"}, "quotation"),
    ],
)
def test_bad_config_is_rejected_at_construction(
    tmp_path: Path, kwargs: dict[str, object], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        LocalKafkaConfig(data_dir=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_rendered_properties_carry_this_instance(tmp_path: Path) -> None:
    broker = _broker(tmp_path, port=19092, controller_port=19093)
    props = _properties.parse(broker.render_properties())
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["log.dirs"] == str(tmp_path / "kafka" / "storage")


def test_ipv6_host_is_bracketed(tmp_path: Path) -> None:
    config = LocalKafkaConfig(data_dir=tmp_path, host="::1", port=19092)
    assert config.bootstrap == "[::1]:19092"
    assert split_bootstrap(config.bootstrap) == ("::1", 19092)


def test_base_properties_are_single_node_kraft_keeping_everything() -> None:
    props = _properties.parse((infra_dir() / "server.properties").read_text())
    expected = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.listener.names": "CONTROLLER",
        "auto.create.topics.enable": "false",
        "log.retention.ms": "-1",
        "num.partitions": "3",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    assert {key: props.get(key) for key in expected} == expected
    # --standalone formatting goes with bootstrap servers, never a static voter list.
    assert "controller.quorum.voters" not in props
    assert "CONTROLLER:" in props["listener.security.protocol.map"]


def test_base_properties_declare_every_instance_key(tmp_path: Path) -> None:
    # Instance keys are replaced in place; none may end up appended as a duplicate.
    base = _properties.parse((infra_dir() / "server.properties").read_text())
    assert set(LocalKafkaConfig(data_dir=tmp_path).instance_properties()) <= set(base)
    assert "Added by" not in _broker(tmp_path).render_properties()


def test_log4j_config_writes_under_the_logs_dir() -> None:
    text = (infra_dir() / "log4j2.properties").read_text()
    assert "${sys:kafka.logs.dir}" in text
    assert "shutdownHook = disable" in text


def test_pom_binds_slf4j_1x_like_kafka_41() -> None:
    # Kafka 4.1 resolves slf4j-api 1.7.x; its binding is log4j-slf4j-impl. The
    # integration test checks the resolved jars themselves.
    pom = (infra_dir() / "pom.xml").read_text()
    assert "<artifactId>log4j-slf4j-impl</artifactId>" in pom
    assert "<artifactId>log4j-slf4j2-impl</artifactId>" not in pom
    assert kafka_version(infra_dir() / "pom.xml").startswith("4.")


# -- properties format ---------------------------------------------------------------


def test_render_keeps_comments_and_replaces_values_in_place() -> None:
    base = "# header\na=1\nb = 2\n! bang\nb: 3\n"
    out = _properties.render(base, {"b": "9"})
    assert out == "# header\na=1\nb=9\n! bang\nb=9\n"


def test_render_appends_missing_keys() -> None:
    out = _properties.render("a=1\n", {"c": "3"})
    assert _properties.parse(out) == {"a": "1", "c": "3"}
    assert out.index("a=1") < out.index("c=3")


def test_render_replaces_a_continued_value_whole() -> None:
    base = "listeners=PLAINTEXT://x:1,\\\n    CONTROLLER://x:2\nafter=1\n"
    assert _properties.parse(base)["listeners"] == "PLAINTEXT://x:1,CONTROLLER://x:2"
    out = _properties.render(base, {"listeners": "PLAINTEXT://y:3"})
    # Escaped like java.util.Properties.store writes it.
    assert out == "listeners=PLAINTEXT\\://y\\:3\nafter=1\n"


def test_values_round_trip_through_java_escaping() -> None:
    out = _properties.render("", {"log.dirs": r"C:\data\kafka", "a": "x\ny"})
    assert _properties.parse(out) == {"log.dirs": r"C:\data\kafka", "a": "x\ny"}


def test_cluster_ids_look_like_kafkas() -> None:
    ids = {_properties.new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_cluster_id_is_generated_once_per_data_dir(tmp_path: Path) -> None:
    first = _broker(tmp_path).cluster_id()
    assert _broker(tmp_path).cluster_id() == first
    assert (tmp_path / "kafka" / "cluster.id").read_text().strip() == first


# -- command line and toolchain ------------------------------------------------------------


def test_java_command_runs_main_with_cached_jars_and_log_config(tmp_path: Path) -> None:
    broker = _broker(tmp_path, heap="-Xms64m -Xmx128m")
    command = broker.java_command("/usr/bin/java", "kafka.Kafka", "server.properties")
    assert command[:3] == ["/usr/bin/java", "-Xms64m", "-Xmx128m"]
    assert command[-2:] == ["kafka.Kafka", "server.properties"]
    assert command[command.index("-cp") + 1] == str(tmp_path / "jars" / "*")
    assert f"-Dkafka.logs.dir={tmp_path / 'kafka' / 'logs'}" in command
    assert f"-Dlog4j2.configurationFile={infra_dir() / 'log4j2.properties'}" in command


def test_default_jar_cache_is_per_kafka_version(tmp_path: Path) -> None:
    broker = LocalKafka(LocalKafkaConfig(data_dir=tmp_path))
    version = kafka_version(infra_dir() / "pom.xml")
    assert broker.jar_cache_dir() == Path.home() / ".cache/agentbus" / f"kafka-{version}/lib"


def test_filled_jar_cache_is_reused_without_maven(tmp_path: Path) -> None:
    pom = infra_dir() / "pom.xml"
    cache = tmp_path / "lib"
    cache.mkdir()
    (cache / "kafka_2.13-4.1.1.jar").write_bytes(b"")
    (cache / ".agentbus-complete").write_text(hashlib.sha256(pom.read_bytes()).hexdigest())
    assert ensure_jars(pom, cache, mvn="no-such-mvn") == [cache / "kafka_2.13-4.1.1.jar"]


def test_missing_maven_says_what_to_install(tmp_path: Path) -> None:
    # A marker for another pom content counts as an empty cache; a pom without its
    # jars.lock (tests/unit/test_jars_lock.py covers the lock) needs Maven.
    pom = tmp_path / "pom.xml"
    pom.write_bytes((infra_dir() / "pom.xml").read_bytes())
    cache = tmp_path / "lib"
    cache.mkdir()
    (cache / ".agentbus-complete").write_text("stale\n")
    with pytest.raises(ToolchainError, match=r"Maven .* is not on PATH"):
        ensure_jars(pom, cache, mvn="no-such-mvn")


def test_missing_java_says_what_to_install() -> None:
    with pytest.raises(ToolchainError, match=r"Java .* is not on PATH; Kafka 4 needs Java 17"):
        require_java("no-such-java")


# -- process bookkeeping --------------------------------------------------------------


def test_nothing_runs_in_a_fresh_data_dir(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    status = broker.status()
    assert (status.running, status.pid) == (False, None)
    assert status.log_file == tmp_path / "kafka" / "logs" / "server.log"
    assert status.bootstrap == broker.bootstrap == "127.0.0.1:9092"
    broker.stop()  # idempotent: nothing to stop is fine


def test_a_pid_file_naming_another_process_is_stale(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    broker.paths.pid_file.parent.mkdir(parents=True)
    broker.paths.pid_file.write_text(f"{os.getpid()}\n")  # alive, but not our broker
    assert broker.status().running is False
    broker.stop()
    assert not broker.paths.pid_file.exists()


def test_start_refuses_a_port_taken_by_another_process(tmp_path: Path) -> None:
    with socket.socket() as taken, socket.socket() as spare:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        spare.bind(("127.0.0.1", 0))  # bound, not listening: just a distinct free port
        port, controller_port = taken.getsockname()[1], spare.getsockname()[1]
        broker = _broker(tmp_path, port=port, controller_port=controller_port)
        with pytest.raises(BrokerStartError, match="already in use") as caught:
            broker.start()
    assert caught.value.bootstrap == f"127.0.0.1:{port}"
    assert not broker.paths.pid_file.exists()


def test_start_from_async_code_is_refused(tmp_path: Path) -> None:
    async def call() -> None:
        _broker(tmp_path).start()

    with pytest.raises(BrokerError, match=r"asyncio\.to_thread"):
        asyncio.run(call())


def test_errors_show_context_and_log_tail(tmp_path: Path) -> None:
    error = BrokerStartError(
        "broker exited",
        bootstrap="127.0.0.1:9092",
        log_file=tmp_path / "server.log",
        log_tail=["ERROR boom", "Exiting"],
    )
    text = str(error)
    assert text.startswith("broker exited [bootstrap 127.0.0.1:9092]")
    assert "last 2 lines of" in text
    assert text.endswith("  | ERROR boom\n  | Exiting")
    assert isinstance(error, BrokerError)
    assert error.retriable is False


# -- topics ---------------------------------------------------------------------------


def test_event_topics_keep_everything_and_changelogs_compact() -> None:
    assert TopicSpec("events", 3).topic_configs() == {"retention.ms": "-1"}
    assert TopicSpec("table-changelog", 3, compacted=True).topic_configs() == {
        "cleanup.policy": "compact"
    }
    spec = TopicSpec("short", 1, config={"retention.ms": "60000", "segment.ms": "1000"})
    assert spec.topic_configs() == {"retention.ms": "60000", "segment.ms": "1000"}


def test_topic_spec_is_immutable_and_hashable() -> None:
    source = {"retention.ms": "1"}
    spec = TopicSpec("t", 1, config=source)
    source["retention.ms"] = "2"
    assert spec.config["retention.ms"] == "1"
    assert {spec, TopicSpec("t", 1)}  # usable as set members


@pytest.mark.parametrize(
    ("name", "partitions", "reason"),
    [
        ("", 1, "illegal"),
        ("bad name", 1, "illegal"),
        ("..", 1, "illegal"),
        ("x" * 250, 1, "illegal"),
        ("ok", 0, "at least one partition"),
    ],
)
def test_topic_spec_rejects_what_kafka_would(name: str, partitions: int, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        TopicSpec(name, partitions)


class _FakeAdmin:
    """Stands in for AIOKafkaAdminClient: answers create_topics with fixed error codes."""

    def __init__(self, codes: dict[str, int]) -> None:
        self.codes = codes
        self.requested: list[tuple[str, int, int, dict[str, str]]] = []

    async def create_topics(self, new_topics: list[Any], timeout_ms: int) -> Any:
        self.requested += [
            (t.name, t.num_partitions, t.replication_factor, t.topic_configs) for t in new_topics
        ]
        errors = [
            {"topic": t.name, "error_code": self.codes.get(t.name, 0), "error_message": None}
            for t in new_topics
        ]
        return SimpleNamespace(to_object=lambda: {"topic_errors": errors})


def test_topic_creation_tolerates_races_and_reports_refusals() -> None:
    admin = _FakeAdmin({"raced": 36, "refused": 37})  # TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS
    specs = [TopicSpec("fresh", 3, compacted=True), TopicSpec("raced", 3)]
    created = asyncio.run(_create_missing(admin, specs, "127.0.0.1:9092", 1000))
    assert created == ["fresh"]
    assert admin.requested[0] == ("fresh", 3, 1, {"cleanup.policy": "compact"})
    with pytest.raises(TopicError, match="'refused': creation failed") as caught:
        asyncio.run(_create_missing(admin, [TopicSpec("refused", 3)], "127.0.0.1:9092", 1000))
    assert caught.value.topic == "refused"
    assert caught.value.retriable is False


def test_public_api_is_pinned() -> None:
    assert sorted(streams.broker.__all__) == [
        "BrokerAuthError",
        "BrokerError",
        "BrokerPaths",
        "BrokerStartError",
        "BrokerStatus",
        "BrokerUnavailableError",
        "LocalKafka",
        "LocalKafkaConfig",
        "SaslSslListener",
        "ScramUser",
        "ToolchainError",
        "TopicError",
        "TopicSpec",
        "ensure_topics",
        "wait_until_ready",
    ]


def test_topics_are_created_with_their_replication_factor() -> None:
    admin = _FakeAdmin({})
    asyncio.run(_create_missing(admin, [TopicSpec("x", 2, replication=3)], "127.0.0.1:9092", 1))
    assert admin.requested == [("x", 2, 3, {"retention.ms": "-1"})]
    with pytest.raises(ValueError, match="replication factor"):
        TopicSpec("y", 1, replication=0)


def test_deployment_topics_take_the_configured_replication_factor() -> None:
    topics = Topics(Settings(replication_factor=3), fintech_system())
    assert {spec.replication for spec in topics.specs()} == {3}


def test_up_does_not_start_a_plaintext_broker_for_a_secured_config(tmp_path: Path) -> None:
    (port,) = free_ports(1)  # nothing listens there
    settings = Settings(
        data_dir=tmp_path,
        kafka_bootstrap=f"127.0.0.1:{port}",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="alice",
    )
    with pytest.raises(StackError, match="starts only PLAINTEXT brokers, not SASL_SSL"):
        bring_up(build_runtime(settings))
    assert not (tmp_path / "kafka").exists()


def test_a_momentarily_empty_cmdline_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Seen on a loaded machine: a starting JVM's /proc/<pid>/cmdline read empty once,
    # and the broker passed for dead while it kept running.
    answers = [[], [], ["java", "kafka.Kafka", "/data/kafka/server.properties"]]

    class _Starting:
        def __init__(self, pid: int) -> None:
            self.pid = pid

        def status(self) -> str:
            return "running"

        def cmdline(self) -> list[str]:
            return answers.pop(0)

    monkeypatch.setattr("streams.broker._process.psutil.Process", _Starting)
    assert _process.is_ours(123, "/data/kafka/server.properties")
    assert answers == []
