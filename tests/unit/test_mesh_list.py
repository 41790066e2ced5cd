"""``agentbus mesh list``: the registry's rows (the topic read is in the integration test)."""

from __future__ import annotations

from typing import Any

from streams.cli.commands_mesh import registry_rows


def _entry(capability: str, agent: str, *, active: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "mesh": "fraud_investigation",
        "capability": capability,
        "agent": agent,
        "version": "1",
        "active": active,
        "occurred_at": "2026-11-30 12:00:00",
    } | extra


ENTRIES = [
    _entry("sanctions_screening", "compliance"),
    _entry("fraud_screening", "fraud"),
    _entry("customer_history", "customer_history", active=False),
    _entry("x", "a", mesh="loop"),
]


def test_rows_are_sorted_by_mesh_capability_and_agent_and_say_when_withdrawn() -> None:
    rows = registry_rows(ENTRIES)

    assert [row[:5] for row in rows] == [
        ("fraud_investigation", "customer_history", "customer_history", "1", "no (withdrawn)"),
        ("fraud_investigation", "fraud_screening", "fraud", "1", "yes"),
        ("fraud_investigation", "sanctions_screening", "compliance", "1", "yes"),
        ("loop", "x", "a", "1", "yes"),
    ]


def test_rows_filter_by_mesh_and_active() -> None:
    rows = registry_rows(ENTRIES, mesh_name="fraud_investigation", active_only=True)

    assert [row[2] for row in rows] == ["fraud", "compliance"]
