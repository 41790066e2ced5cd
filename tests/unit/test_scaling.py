"""Replica advice for a specialist: the backlog drains within the target wait, and the
KEDA lag threshold is the same arithmetic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.cli.commands_stack import scaling_cells
from streams.roles.registry import group_id
from streams.roles.runtime import build_runtime
from streams.scaling import lag_threshold, recommend_replicas
from streams.settings import Settings

KEDA = Path(__file__).resolve().parents[2] / "infra" / "k8s" / "keda-scaledobject.yaml"


def test_a_backlog_over_the_target_wait_asks_for_more_replicas() -> None:
    # 2 replicas complete 10 tasks/s together: 300 waiting is a 30 s wait; to drain
    # 300 in 10 s takes 30/s, i.e. 6 replicas of 5/s.
    advice = recommend_replicas(300, 10.0, 2, target_wait_s=10.0)

    assert advice.wait_s == pytest.approx(30.0)
    assert advice.recommended == 6
    assert advice.reason == "wait 30.0s vs target 10s at 5.00/s per replica"


def test_a_backlog_within_the_target_needs_no_more_and_may_need_fewer() -> None:
    assert recommend_replicas(100, 10.0, 2, target_wait_s=10.0).recommended == 2  # exactly
    assert recommend_replicas(40, 10.0, 4, target_wait_s=10.0).recommended == 2
    assert recommend_replicas(1, 10.0, 4, target_wait_s=10.0).recommended == 1


def test_no_backlog_keeps_what_runs_and_never_advises_zero() -> None:
    idle = recommend_replicas(0, 50.0, 3)
    assert (idle.recommended, idle.wait_s, idle.reason) == (3, 0.0, "no backlog")
    assert recommend_replicas(0, 0.0, 0).recommended == 1
    assert recommend_replicas(None, 0.0, 2).reason == "no committed offsets yet"


def test_a_backlog_without_results_cannot_be_timed() -> None:
    stalled = recommend_replicas(500, 0.0, 2)
    nobody = recommend_replicas(500, 0.0, 0)

    assert stalled.wait_s is None
    assert stalled.recommended == 2
    assert "stalled" in stalled.reason
    assert nobody.recommended == 1
    assert nobody.reason == "backlog and no live consumer: start one"


def test_replicas_are_capped_at_the_partitions() -> None:
    advice = recommend_replicas(10_000, 10.0, 1, target_wait_s=10.0, max_replicas=6)

    assert advice.recommended == 6
    assert advice.reason.endswith("capped at 6 (one replica per partition)")


def test_the_lag_threshold_is_what_one_replica_drains_in_the_target_wait() -> None:
    assert lag_threshold(5.0, 10.0) == 50
    assert lag_threshold(0.05, 10.0) == 1  # never 0: KEDA would divide by it
    with pytest.raises(ValueError, match="positive"):
        lag_threshold(0.0, 10.0)
    # The same arithmetic: ceil(lag / threshold) replicas.
    assert recommend_replicas(300, 10.0, 2, target_wait_s=10.0).recommended == -(-300 // 50)


def _yaml_subset(text: str) -> dict[str, object]:
    """Block-style YAML as the KEDA example uses it: nested mappings, lists of mappings,
    plain or double-quoted scalars, comments. PyYAML is not a dependency of agentbus."""
    lines = []
    for raw in text.splitlines():
        line = re.sub(r"\s+#.*$", "", raw) if not raw.lstrip().startswith("#") else ""
        if line.strip():
            lines.append((len(line) - len(line.lstrip()), line.strip()))

    def scalar(value: str) -> object:
        if value.startswith('"') and value.endswith('"'):
            return value[1:-1]
        return int(value) if value.isdigit() else value

    def block(i: int, indent: int) -> tuple[object, int]:
        if lines[i][1].startswith("- "):
            items: list[object] = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                lines[i] = (indent + 2, lines[i][1][2:])
                item, i = block(i, indent + 2)
                items.append(item)
            return items, i
        mapping: dict[str, object] = {}
        while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
            key, _, value = lines[i][1].partition(":")
            i += 1
            if value.strip():
                mapping[key] = scalar(value.strip())
            else:
                mapping[key], i = block(i, lines[i][0])
        return mapping, i

    parsed, end = block(0, 0)
    assert end == len(lines), f"unparsed from line {end}"
    assert isinstance(parsed, dict)
    return parsed


def test_the_keda_example_scales_a_specialist_on_its_group_lag(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    runtime = build_runtime(settings)
    doc = _yaml_subset(KEDA.read_text(encoding="utf-8"))
    spec = doc["spec"]
    assert isinstance(spec, dict)
    [trigger] = spec["triggers"]
    meta = trigger["metadata"]

    assert (doc["apiVersion"], doc["kind"]) == ("keda.sh/v1alpha1", "ScaledObject")
    assert trigger["type"] == "kafka"
    # The group and topic agentbus uses for the support specialist (default prefix).
    assert meta["consumerGroup"] == group_id(runtime, "specialist:support")
    assert meta["topic"] == runtime.topics.tasks("support")
    # lagThreshold as status derives it: 5 tasks/s per replica, the default target wait.
    assert meta["lagThreshold"] == str(lag_threshold(5.0, settings.scaling_target_wait_s))
    assert spec["minReplicaCount"] == 1
    assert spec["maxReplicaCount"] == settings.partitions


def test_status_cells_for_specialists_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    rates = {"support": 10.0}

    assert scaling_cells("router", 40, 1, rates, settings) == ("", "", "", "")
    assert scaling_cells("specialist:support", 300, 2, None, settings)[:3] == ("?", "?", "?")
    done, wait, replicas, why = scaling_cells("specialist:support", 300, 2, rates, settings)
    assert (done, wait, replicas) == ("10.00", "30.0s", "2 → 6")
    assert why.startswith("wait 30.0s vs target 10s")
    assert scaling_cells("specialist:reports", 0, 1, rates, settings)[1:3] == ("0.0s", "1")
