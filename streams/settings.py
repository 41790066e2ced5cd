"""The one place agentbus reads its configuration from the environment.

Every other module receives a frozen :class:`Settings`; nothing else touches
``os.environ``. CLI flags override environment variables through
:func:`load_settings`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ENV_PREFIX", "Settings", "env_var", "load_settings", "secret_from_env"]

ENV_PREFIX = "AGENTBUS_"


class Settings(BaseSettings):
    """Runtime configuration, frozen once built."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    system: str | None = Field(
        default=None,
        description="The AgentSystem to run, as module:attribute (an AgentSystem or a "
        "function returning one). Default: the fintech reference system.",
    )
    data_dir: Path = Field(
        default=Path(".agentbus"),
        description="Local broker data, the embedded ClickHouse store, logs and pid files.",
    )
    kafka_bootstrap: str = Field(
        default="localhost:9092",
        description="Kafka bootstrap servers. A loopback address with nothing listening "
        "gets a local broker from `agentbus up`; anything else must already run.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="Kafka security protocol."
    )
    kafka_sasl_mechanism: str | None = Field(
        default=None, description="SASL mechanism, e.g. PLAIN."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="CA bundle (PEM) that signed the brokers' certificates."
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="Client certificate (PEM) for mutual TLS."
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None, description="Private key (PEM) of the client certificate."
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None, description="Password of the client key, if it is encrypted."
    )
    replication_factor: int = Field(
        default=1,
        ge=1,
        description="Replication factor of the topics `up` creates (managed Kafka wants 3).",
    )
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        default="at_least_once",
        description="at_least_once (duplicates collapse in ClickHouse) or exactly_once "
        "(Kafka transactions: read_committed consumers see each result once).",
    )
    intake_max_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        description="Largest request (encoded bytes) the router forwards; larger ones "
        "become `too_large` dead letters. Keep it below the broker's message.max.bytes.",
    )
    kafka_session_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Consumer session timeout: how soon a crashed worker's partitions move.",
    )
    clickhouse_url: str | None = Field(
        default=None,
        description="clickhouse-connect DSN: chdb:///path (embedded) or "
        "http(s)://user:pass@host:8123. Default chdb:///<data dir>/clickhouse.",
    )
    clickhouse_ttl_days: int = Field(
        default=0,
        ge=0,
        description="Retention of the event tables in ClickHouse: rows older than this "
        "many days (by occurred_at) are dropped in merges; 0 keeps them forever (the Kafka "
        "log stays the source of truth either way). Applied when the sink or `up` applies "
        "the schema.",
    )
    clickhouse_cluster: str | None = Field(
        default=None,
        description="Lay the schema out ON CLUSTER this ClickHouse cluster: replicated "
        "<table>_local tables and Distributed tables under the usual names. Unset: one "
        "server or the embedded store.",
    )
    topic_prefix: str = Field(default="agentbus.", description="Prefix of every topic name.")
    partitions: int = Field(
        default=6, ge=1, description="Partitions of each event topic created by `up`."
    )
    schema_registry_url: str | None = Field(
        default=None,
        description="Confluent schema registry; when set, events use Confluent framing.",
    )
    sim_latency_scale: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Scales simulated model latency (0 = instant)."
    )
    sim_latency_ms: float | None = Field(
        default=None, ge=0.0, description="Fixed simulated model latency (ms) instead of per-tier."
    )
    sim_error_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of simulated calls failing with a 5xx."
    )
    sim_timeout_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of simulated calls that hang to timeout."
    )
    sim_malformed_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of simulated answers that are malformed."
    )
    sim_seed: int = Field(default=7, description="Seed of the simulated model provider.")
    specialist_concurrency: int = Field(
        default=1000, ge=1, description="Model calls in flight per specialist role and process."
    )
    breaker_cooldown_s: float | None = Field(
        default=None,
        gt=0,
        description="Override every agent's circuit-breaker cooldown (seconds).",
    )
    cache_ttl_s: float | None = Field(
        default=None,
        gt=0,
        description="Override the result-cache TTL (seconds) of every agent that caches.",
    )
    cache_max_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=0,
        description="Most bytes of cached answers each worker process keeps in memory "
        "(least recently stored dropped first; a dropped answer is a cache miss).",
    )
    sink_batch_size: int = Field(default=2000, ge=1, description="Rows per ClickHouse insert.")
    sink_flush_seconds: float = Field(
        default=0.5, gt=0, description="Longest wait before a partial batch is written."
    )
    gateway_host: str = Field(
        default="127.0.0.1",
        description="Address the embedded store's query gateway (ClickHouse HTTP "
        "interface) listens on; loopback keeps it on this host.",
    )
    gateway_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of the query gateway; 0 picks a free one (recorded in "
        "<data dir>/clickhouse.gateway.json). Fix it (e.g. 8123) for BI tools.",
    )
    gateway_user: str = Field(
        default="agentbus", description="User name the gateway's ClickHouse HTTP interface accepts."
    )
    gateway_password: SecretStr | None = Field(
        default=None,
        description="Password of the gateway's ClickHouse HTTP interface; default a random "
        "one per start, recorded in the gateway file (mode 0600).",
    )
    gateway_allow_writes: bool = Field(
        default=False,
        description="Let queries through the gateway's ClickHouse HTTP interface write "
        "(INSERT, ALTER, DROP); off: every query runs with readonly=1.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve Prometheus metrics of each worker on this port (0: a free "
        "one, logged); unset: no metrics endpoint.",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address the Prometheus metrics endpoint listens on."
    )
    otlp_endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="OTLP/HTTP traces URL (protobuf), e.g. http://localhost:4318/v1/traces "
        "(Tempo, Jaeger, an OpenTelemetry Collector) or Langfuse's "
        "https://cloud.langfuse.com/api/public/otel/v1/traces. When set, `agentbus run` "
        "also runs the otlp role (one span per event); unset: no export.",
    )
    otlp_headers: SecretStr | None = Field(
        default=None,
        description="Headers of every OTLP request, key=value pairs separated by commas, "
        "values percent-decoded as in OTEL_EXPORTER_OTLP_HEADERS (Langfuse: "
        "Authorization=Basic%20<base64 of public:secret key>). A secret: never logged.",
    )
    otlp_batch_size: int = Field(
        default=512, ge=1, le=10_000, description="Most spans per OTLP export request."
    )
    otlp_flush_seconds: float = Field(
        default=1.0, gt=0, description="Longest wait before a partial batch of spans is sent."
    )
    otlp_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of one OTLP export request (then retried)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level of workers."
    )
    router_model: Path | None = Field(
        default=None,
        description="Trained router model (`agentbus router train`) the router uses. "
        "Default: the newest one for the system under <data dir>/router/, else keywords.",
    )
    router_min_confidence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Below this model probability a request goes to the default agent.",
    )
    scaling_target_wait_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest a task should wait in its specialist's queue; `status` "
        "recommends replicas to meet it.",
    )

    @property
    def clickhouse_dsn(self) -> str:
        """The DSN actually used: the configured URL or the embedded store under data_dir."""
        if self.clickhouse_url:
            return self.clickhouse_url
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def uses_embedded_clickhouse(self) -> bool:
        return self.clickhouse_dsn.startswith("chdb:")

    def topic(self, name: str) -> str:
        """Full topic name for a logical name such as ``intake`` or ``tasks.support``."""
        return f"{self.topic_prefix}{name}"

    def to_env(self) -> dict[str, str]:
        """These settings as ``AGENTBUS_*`` variables, to hand to a child process."""
        env = {}
        for name, value in self.model_dump(exclude_none=True).items():
            plain = value.get_secret_value() if isinstance(value, SecretStr) else value
            env[env_var(name)] = str(plain)
        return env

    def child_env(self) -> dict[str, str]:
        """The environment for a child agentbus process: ours, with these settings on top."""
        return {**os.environ, **self.to_env(), "PYTHONUNBUFFERED": "1"}

    def as_dict(self) -> dict[str, Any]:
        """Settings for display: secrets and URL passwords redacted."""
        shown = self.model_dump()
        for key, value in shown.items():
            if isinstance(value, SecretStr):
                shown[key] = "**********"
            elif isinstance(value, Path):
                shown[key] = str(value)
        shown["clickhouse_dsn"] = _redact_url(self.clickhouse_dsn)
        if self.clickhouse_url:
            shown["clickhouse_url"] = _redact_url(self.clickhouse_url)
        if self.schema_registry_url:
            shown["schema_registry_url"] = _redact_url(self.schema_registry_url)
        if self.otlp_endpoint:
            shown["otlp_endpoint"] = _redact_url(self.otlp_endpoint)
        return shown


def _redact_url(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def env_var(field: str) -> str:
    """The environment variable behind a settings field, for help texts."""
    return f"{ENV_PREFIX}{field.upper()}"


def secret_from_env(variable: str) -> SecretStr | None:
    """A secret (a model API key) from the environment variable a system names; None when
    unset or empty. The value is wrapped at once so it never reaches a repr or a log."""
    value = os.environ.get(variable)
    return SecretStr(value) if value else None


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit (non-None) overrides on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)
