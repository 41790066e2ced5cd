"""infra/compose.yaml, checked without a Docker engine: it parses, names every role of
the reference system, its AGENTBUS_* variables are real settings, and what it mounts
or builds from exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.roles.registry import all_roles
from streams.roles.runtime import build_runtime
from streams.settings import ENV_PREFIX, Settings

INFRA = Path(__file__).resolve().parents[2] / "infra"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((INFRA / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _agentbus_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


def test_compose_runs_kafka4_clickhouse_grafana_and_every_role(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", services["kafka"]["image"])
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    grafana = services["grafana"]
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_INSTALL_PLUGINS"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    commands = [svc["command"] for svc in _agentbus_services(compose).values()]
    roles = {role for command in commands if command[0] == "worker" for role in command[1:]}
    assert roles == set(all_roles(build_runtime(Settings())))
    assert ["up"] in commands


def test_compose_agentbus_env_names_are_settings(compose: dict[str, Any]) -> None:
    fields = set(Settings.model_fields)
    for name, service in _agentbus_services(compose).items():
        env = service["environment"]
        assert env, f"{name} has no environment"
        for variable in env:
            assert variable.startswith(ENV_PREFIX), f"{name}: {variable}"
            assert variable.removeprefix(ENV_PREFIX).lower() in fields, f"{name}: {variable}"
        Settings(**{k.removeprefix(ENV_PREFIX).lower(): v for k, v in env.items()})


def test_compose_mounts_and_builds_from_paths_that_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (INFRA / source).resolve().exists(), f"{name} mounts {source}"
        build = service.get("build")
        if build:
            context = (INFRA / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file(), name
    for named in compose.get("volumes", {}):
        assert any(
            str(v).startswith(f"{named}:")
            for s in compose["services"].values()
            for v in s.get("volumes", [])
        )


def test_dockerfile_copies_paths_that_exist() -> None:
    root = INFRA.parent
    for line in (INFRA / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (root / source).exists(), source
