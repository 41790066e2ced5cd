"""Contracts of the fintech reference system's agents (`agents.reference`).

Two edges connect them: support escalates a case to transactions (`escalation`), and
reports are built from a transaction analysis (`analysis`). Consumers declare their
own view of what they read where it differs from the producer's model, which is what
lets `agentbus contracts check` catch a producer change they cannot absorb.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

__all__ = [
    "Currency",
    "FlaggedTransaction",
    "Report",
    "ReportRequest",
    "ReportSection",
    "SupportAnswer",
    "SupportCategory",
    "SupportEscalation",
    "TransactionAnalysis",
    "TransactionQuery",
]

Currency = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", examples=["EUR", "USD", "GBP"], description="ISO 4217 code"),
]

SupportCategory = Literal["account", "card", "fees", "dispute", "fraud", "other"]
"""What a support case is about; decides which team follows up on an escalation."""


class SupportAnswer(BaseModel):
    """What the support agent tells the customer, and whether a specialist must follow up."""

    answer: str
    category: SupportCategory
    escalate: bool
    """True when the transactions team must review the case (fraud, disputes)."""


class SupportEscalation(BaseModel):
    """The transactions agent's view of a support case handed over to it."""

    answer: str
    """What the customer has already been told."""
    category: SupportCategory
    escalate: bool


class TransactionQuery(BaseModel):
    """A question about payments, from a customer or escalated by support."""

    text: str
    escalation: SupportEscalation | None = None
    """The support case this query follows up, when support escalated it."""


class FlaggedTransaction(BaseModel):
    """A transaction the analysis considers fraudulent, duplicated or unauthorised."""

    transaction_id: str
    amount: Decimal
    """In `currency` units; a Decimal so cents survive the trip (sent as a string)."""
    currency: Currency
    reason: str


class TransactionAnalysis(BaseModel):
    """The transactions agent's findings on the transactions a question concerns."""

    summary: str
    flagged: list[FlaggedTransaction]
    risk_score: float = Field(ge=0.0, le=1.0)
    """0 = nothing suspicious, 1 = certainly fraudulent."""


class ReportRequest(BaseModel):
    """What a report is asked for: the user's words, and the analysis to build it from."""

    text: str
    period: str | None = Field(default=None, max_length=32, examples=["2025-03", "2025-Q1"])
    """Reporting period; None lets the agent infer it from `text`."""
    currency: Currency | None = None
    analysis: TransactionAnalysis | None = None
    """Findings of the transactions agent to include (reports generated from an analysis)."""


class ReportSection(BaseModel):
    """One part of a report: a heading, prose, and the figures it cites."""

    heading: str = Field(max_length=80)
    body: str
    figures: dict[str, Decimal] = Field(default_factory=dict)
    """Named amounts in the report's currency, e.g. {"groceries": "412.30"}."""


class Report(BaseModel):
    """A period report or statement produced by the reports agent."""

    title: str = Field(max_length=120)
    period: str = Field(max_length=32, examples=["2025-03", "2025-Q1", "2024"])
    currency: Currency
    summary: str
    sections: list[ReportSection] = Field(min_length=1)
