"""The output check the invocation path runs on every answer before it leaves the agent."""

from __future__ import annotations

from agents.contracts.errors import ContractViolation
from agents.contracts.parse import parse_output
from agents.spec import AgentSpec

__all__ = ["CONTRACT_VIOLATION", "contract_violation"]

CONTRACT_VIOLATION = "contract violation"
"""Prefix of every violation text, so callers can tell it from other malformed output."""


def contract_violation(spec: AgentSpec, text: str) -> str | None:
    """None when ``text`` satisfies ``spec.output_model``; else one line naming the field."""
    try:
        parse_output(spec.output_model, text, agent=spec.name)
    except ContractViolation as exc:
        where = f" at {exc.path}" if exc.path else ""
        return (
            f"{CONTRACT_VIOLATION}: {spec.name} output breaks {exc.contract}{where}: {exc.detail}"
        )
    return None
