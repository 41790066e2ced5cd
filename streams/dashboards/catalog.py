"""Every agentbus dashboard, and writing them as the JSON files Grafana provisions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Final

from streams.dashboards import cache, cost, overview, reliability, routing, topologies
from streams.dashboards.model import Dashboard

__all__ = ["BUILDERS", "all_dashboards", "file_name", "render", "write_all"]

BUILDERS: Final[tuple[Callable[[], Dashboard], ...]] = (
    overview.dashboard,
    cost.dashboard,
    reliability.dashboard,
    cache.dashboard,
    routing.dashboard,
    topologies.dashboard,
)


def all_dashboards() -> list[Dashboard]:
    return [build() for build in BUILDERS]


def file_name(dashboard: Dashboard) -> str:
    """``agentbus-overview`` → ``overview.json``."""
    return dashboard.uid.removeprefix("agentbus-") + ".json"


def render(dashboard: Dashboard) -> str:
    """The committed form: stable key order, two-space indent, trailing newline."""
    return json.dumps(dashboard.to_json(), indent=2, ensure_ascii=False) + "\n"


def write_all(out_dir: Path) -> list[Path]:
    """Write every dashboard into ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for dashboard in all_dashboards():
        path = out_dir / file_name(dashboard)
        path.write_text(render(dashboard), encoding="utf-8")
        written.append(path)
    return written
