"""Bring the parts up: the broker (local unless one is configured), topics, ClickHouse schema."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from streams.broker._admin import cluster_answers
from streams.broker.local import LocalKafka, LocalKafkaConfig
from streams.broker.topics import ensure_topics
from streams.errors import StreamsError
from streams.kafka_options import client_options
from streams.roles.runtime import Runtime
from streams.settings import Settings
from streams.warehouse import WarehouseLocked, open_warehouse
from streams.warehouse.client import SchemaOptions
from streams.warehouse.gateway import find_gateway

__all__ = ["StackError", "UpReport", "bring_up", "broker_answers", "broker_for", "is_loopback"]

log = logging.getLogger("agentbus")

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


class StackError(StreamsError):
    """A part could not be brought up; the message says which and what to do."""


@dataclass(frozen=True)
class UpReport:
    """What ``bring_up`` found or did, for the CLI to print."""

    bootstrap: str
    started_local_broker: bool
    topics_created: list[str]
    clickhouse: str


def is_loopback(bootstrap: str) -> bool:
    hosts = [part.rsplit(":", 1)[0] for part in bootstrap.split(",")]
    return all(host in _LOOPBACK for host in hosts)


def broker_for(settings: Settings) -> LocalKafka:
    """The local broker that serves ``settings.kafka_bootstrap`` (single loopback address)."""
    _, _, port = settings.kafka_bootstrap.split(",")[0].rpartition(":")
    return LocalKafka(
        LocalKafkaConfig(data_dir=settings.data_dir.resolve(), port=int(port or 9092))
    )


def broker_answers(settings: Settings, timeout: float) -> bool:
    """Whether the configured cluster answers a metadata request within ``timeout`` s,
    with the configured security. Raises ``BrokerAuthError`` when it refuses us."""
    return asyncio.run(
        cluster_answers(settings.kafka_bootstrap, timeout, options=client_options(settings))
    )


def bring_up(runtime: Runtime, *, start_broker: bool = True, apply_schema: bool = True) -> UpReport:
    """Make the stack usable; idempotent. A configured remote cluster is used as is."""
    settings = runtime.settings
    bootstrap = settings.kafka_bootstrap
    started = False
    if not broker_answers(settings, 3.0):
        if not (start_broker and is_loopback(bootstrap)):
            raise StackError(
                f"no Kafka broker answers at {bootstrap}; check AGENTBUS_KAFKA_BOOTSTRAP "
                "(a loopback address gets a local broker from `agentbus up`)"
            )
        if settings.kafka_security_protocol != "PLAINTEXT":
            # The local broker agentbus starts is PLAINTEXT: starting one would only
            # trade this message for TLS errors.
            raise StackError(
                f"no Kafka broker answers at {bootstrap} and `agentbus up` starts only "
                f"PLAINTEXT brokers, not {settings.kafka_security_protocol}; start the "
                "secured broker first, or unset AGENTBUS_KAFKA_SECURITY_PROTOCOL"
            )
        broker = broker_for(settings)
        log.info(
            "starting local Kafka broker on %s (data in %s)", broker.bootstrap, settings.data_dir
        )
        broker.start()
        started = True
    created = asyncio.run(
        ensure_topics(bootstrap, runtime.topics.specs(), options=client_options(settings))
    )
    clickhouse = _apply_schema(settings) if apply_schema else settings.clickhouse_dsn
    return UpReport(bootstrap, started, created, clickhouse)


def _apply_schema(settings: Settings) -> str:
    dsn = settings.clickhouse_dsn
    if settings.uses_embedded_clickhouse and find_gateway(settings.data_dir) is not None:
        return f"{dsn} (owned by a running sink; schema applied there)"
    try:
        warehouse = open_warehouse(dsn)
    except WarehouseLocked as exc:
        raise StackError(str(exc)) from exc
    try:
        warehouse.apply_schema(SchemaOptions.of(settings))
    finally:
        warehouse.close()
    return dsn
