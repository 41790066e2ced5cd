"""Which table each event record lands in, and its columns (the Avro field names)."""

from __future__ import annotations

from typing import Final

__all__ = ["DATABASE", "SCHEMA_OF", "TABLE_FOR_RECORD"]

DATABASE: Final = "agentbus"

TABLE_FOR_RECORD: Final[dict[str, str]] = {
    "AgentRequest": "requests",
    "AgentTask": "tasks",
    "AgentResult": "results",
    "Invocation": "invocations",
    "DeadLetter": "dead_letters",
    "BreakerEvent": "breaker_events",
    "Policy": "policies",
    "WorkflowEvent": "workflow_events",
    "Capability": "capabilities",
    "StepResult": "step_results",
}

SCHEMA_OF: Final[dict[str, str]] = {"StepResult": "AgentResult"}
"""Rows named apart from their Avro record: a step's result is an ``AgentResult`` read
from the ``replies`` topic, kept out of ``results`` (one final outcome per request)."""
