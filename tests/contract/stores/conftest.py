"""Parametrized backends: every contract test runs once in memory and once over Kafka."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.stores.backends import BACKENDS, backend_for


@pytest.fixture(params=BACKENDS)
def cache_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from backend_for("cache", request, tmp_path)


@pytest.fixture(params=BACKENDS)
def breaker_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from backend_for("breakers", request, tmp_path)


@pytest.fixture(params=BACKENDS)
def policy_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from backend_for("policies", request, tmp_path)
