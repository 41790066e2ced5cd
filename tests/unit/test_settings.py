"""Configuration: env vars with the AGENTBUS_ prefix, flags on top, secrets redacted."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from streams.settings import Settings, env_var, load_settings


def test_env_vars_configure_and_flags_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTBUS_KAFKA_BOOTSTRAP", "kafka-a:9092")
    monkeypatch.setenv("AGENTBUS_TOPIC_PREFIX", "prod.")
    settings = load_settings(topic_prefix="dev.", data_dir=None)
    assert settings.kafka_bootstrap == "kafka-a:9092"
    assert settings.topic("intake") == "dev.intake"


def test_embedded_clickhouse_is_the_default_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.clickhouse_dsn == f"chdb://{tmp_path.resolve() / 'clickhouse'}"
    assert settings.uses_embedded_clickhouse
    assert not Settings(clickhouse_url="http://ch:8123").uses_embedded_clickhouse


def test_secrets_never_show_in_the_printable_form() -> None:
    settings = Settings(
        kafka_sasl_password=SecretStr("hunter2"),
        clickhouse_url="https://admin:topsecret@ch.example:8443",
    )
    shown = repr(settings.as_dict())
    assert "hunter2" not in shown
    assert "topsecret" not in shown
    assert "https://admin:***@ch.example:8443" in shown


def test_settings_are_frozen_and_reject_unknown_values() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.topic_prefix = "x."  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Settings(partitions=0)


def test_child_processes_get_the_same_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, topic_prefix="t1.", sim_latency_scale=0.0)
    env = settings.child_env()
    assert env[env_var("topic_prefix")] == "t1."
    assert (
        Settings(**{k.removeprefix("AGENTBUS_").lower(): v for k, v in settings.to_env().items()})
        == settings
    )
