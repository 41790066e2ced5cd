"""Which table each event record lands in, and its columns (the Avro field names)."""

from __future__ import annotations

from typing import Final

__all__ = ["DATABASE", "TABLE_FOR_RECORD"]

DATABASE: Final = "agentbus"

TABLE_FOR_RECORD: Final[dict[str, str]] = {
    "AgentRequest": "requests",
    "AgentTask": "tasks",
    "AgentResult": "results",
    "Invocation": "invocations",
    "DeadLetter": "dead_letters",
    "BreakerEvent": "breaker_events",
    "Policy": "policies",
}
