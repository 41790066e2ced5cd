"""The data folders ship with the package: every one is found, mapped and fully listed."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from typing import Any

import pytest

from streams.codec import default_avro_dir
from streams.resources import DATA_PACKAGES, DataFolder, data_dir
from streams.warehouse.client import schema_dir

ROOT = Path(__file__).resolve().parents[2]


def _setuptools() -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    table: dict[str, Any] = config["tool"]["setuptools"]
    return table


@pytest.mark.parametrize("name", sorted(DATA_PACKAGES))
def test_data_dirs_are_the_repository_folders(name: DataFolder) -> None:
    assert data_dir(name) == ROOT / DATA_PACKAGES[name]


def test_lookups_go_through_the_data_packages() -> None:
    assert default_avro_dir() == data_dir("avro")
    assert schema_dir() == data_dir("clickhouse")


def test_package_dir_maps_what_streams_resources_reads() -> None:
    package_dir = _setuptools()["package-dir"]
    assert package_dir == {f"agentbus_data.{name}": path for name, path in DATA_PACKAGES.items()}


@pytest.mark.parametrize(
    ("package", "folder"),
    [
        ("agentbus_data.avro", "avro"),
        ("agentbus_data.avro.history", "avro/history"),
        ("agentbus_data.clickhouse", "infra/clickhouse"),
        ("agentbus_data.kafka", "infra/kafka"),
    ],
)
def test_every_data_file_is_shipped(package: str, folder: str) -> None:
    patterns = _setuptools()["package-data"][package]
    files = [path.name for path in (ROOT / folder).iterdir() if path.is_file()]
    assert files
    unshipped = [name for name in files if not any(fnmatch.fnmatch(name, p) for p in patterns)]
    assert not unshipped, f"{folder}: {unshipped} would be missing from the wheel"


@pytest.mark.parametrize("name", sorted(DATA_PACKAGES))
def test_every_data_subfolder_is_a_listed_package(name: DataFolder) -> None:
    root = ROOT / DATA_PACKAGES[name]
    # Maven's own output (infra/kafka/target, git-ignored) is not data.
    folders = [p.relative_to(root).parts for p in root.rglob("*") if p.is_dir()]
    packages = {f"agentbus_data.{'.'.join((name, *parts))}" for parts in [(), *folders]}
    packages = {package for package in packages if ".target" not in package}
    assert packages <= set(_setuptools()["package-data"])
