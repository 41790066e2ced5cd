"""The reference system with one incompatible change: transactions renames ``amount``."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from agents.contracts.fintech import TransactionAnalysis
from agents.reference import fintech_system
from agents.system import AgentSystem


class FlaggedV2(BaseModel):
    transaction_id: str
    value: Decimal  # was `amount`
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reason: str


class TransactionAnalysisV2(TransactionAnalysis):
    flagged: list[FlaggedV2] = Field(default_factory=list)  # type: ignore[assignment]


def broken_system() -> AgentSystem:
    system = fintech_system()
    specs = [
        spec.model_copy(update={"output_model": TransactionAnalysisV2})
        if spec.name == "transactions"
        else spec
        for spec in system.specs.values()
    ]
    return AgentSystem(
        name=system.name,
        agents=tuple(specs),
        default_agent=system.default_agent,
        edges=system.edges,
    )
