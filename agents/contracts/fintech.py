"""Contracts of the fintech reference system's agents (`agents.reference`).

Two edges connect them: support escalates a case to transactions (`escalation`), and
reports are built from a transaction analysis (`analysis`). Consumers declare their
own view of what they read where it differs from the producer's model, which is what
lets `agentbus contracts check` catch a producer change they cannot absorb.

The transaction-analysis pipeline hands typed data from stage to stage: a
`StatementExtract` (extract → normalise), a `NormalisedLedger` (normalise → analyse)
and a `TransactionAnalysis` (analyse → summarise), each checked against the next
stage's input model before it is handed on. The investigation mesh's members answer
`FraudAssessment`, `ComplianceReview` and `CustomerHistory`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

__all__ = [
    "AnalysisSummary",
    "ChartSet",
    "ComplianceReview",
    "Currency",
    "CustomerHistory",
    "FlaggedTransaction",
    "FraudAssessment",
    "LedgerEntry",
    "LedgerExtract",
    "NormalisedLedger",
    "Report",
    "ReportRequest",
    "ReportSection",
    "SpendingCategories",
    "SpendingCategory",
    "StatementExtract",
    "StatementLine",
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


# -- transaction-analysis pipeline: extract → normalise → analyse → summarise ----------

SpendingCategory = Literal[
    "groceries",
    "dining",
    "transport",
    "travel",
    "housing",
    "utilities",
    "subscriptions",
    "shopping",
    "health",
    "income",
    "transfers",
    "fees",
    "other",
]
"""The categories reports and analyses group spending by."""


class StatementLine(BaseModel):
    """One line of a statement, bank export or pasted list, as written there."""

    booked_on: str = Field(max_length=32, examples=["2025-03-14", "14/03/2025", "Mar 14"])
    """The date as the source wrote it; normalising makes it ISO 8601."""
    description: str = Field(max_length=140)
    amount: str = Field(max_length=32, examples=["-12.50", "1,200.00", "€45.00"])
    """The amount as the source wrote it (sign, separators, symbol and all)."""


class StatementExtract(BaseModel):
    """What the extract stage read out of the customer's text or upload."""

    source: str
    """Where the lines came from, in words (e.g. "pasted CSV from another bank")."""
    lines: list[StatementLine]
    currency_hint: Currency | None = None
    """The currency the source states, when it states one."""


class LedgerEntry(BaseModel):
    """One transaction in the ledger's own shape: ISO date, signed Decimal, category."""

    transaction_id: str
    booked_on: str = Field(max_length=10, examples=["2025-03-14"])
    merchant: str = Field(max_length=80)
    category: SpendingCategory
    amount: Decimal
    """Negative for money out; in `NormalisedLedger.currency`."""


class NormalisedLedger(BaseModel):
    """The normalise stage's output and the analyse stage's input: one currency, one shape."""

    currency: Currency
    entries: list[LedgerEntry]
    skipped: int = Field(ge=0)
    """Extracted lines that could not be read as a transaction (and were left out)."""


class AnalysisSummary(BaseModel):
    """The summarise stage's answer to the customer or analyst who sent the statement."""

    headline: str
    risk_level: Literal["low", "medium", "high"]
    actions: list[str]
    """What the customer should do next (freeze a card, dispute a charge…); may be empty."""
    needs_review: bool
    """True when a person on the transactions team should look at it."""


# -- report orchestrator (monthly_report DAG) ----------------------------------------


class LedgerExtract(BaseModel):
    """The fetch_ledger step: a month of the customer's ledger."""

    period: str = Field(max_length=32, examples=["2025-03", "2025-Q1"])
    currency: Currency
    entries: list[LedgerEntry]
    opening_balance: Decimal
    closing_balance: Decimal


class SpendingCategories(BaseModel):
    """The categorise step: spending per category and what changed against last period."""

    summary: str
    totals: dict[str, Decimal] = Field(default_factory=dict)
    """Spending per `SpendingCategory`, in the ledger's currency."""
    biggest_change: SpendingCategory


class ChartSet(BaseModel):
    """The chart step: charts rendered and stored in the customer's document vault (the
    step's external effect, which its compensation removes)."""

    document_ids: list[str]
    """Vault ids of the stored chart images; empty when there was nothing to chart."""
    captions: list[str]


# -- investigation mesh (fraud_investigation) ----------------------------------------


class FraudAssessment(BaseModel):
    """The fraud agent's verdict on a suspicious activity report."""

    summary: str
    fraud_likely: bool
    risk_score: float = Field(ge=0.0, le=1.0)
    flagged: list[FlaggedTransaction]
    asks: list[Literal["customer_history", "sanctions_screening", "aml_review"]] = Field(
        default_factory=list
    )
    """Further capabilities to consult for this case (beyond the declared ones)."""


class ComplianceReview(BaseModel):
    """The compliance agent's sanctions and anti-money-laundering findings."""

    summary: str
    sanctions_hit: bool
    sar_required: bool
    """Whether a suspicious activity report must be filed with the regulator."""


class CustomerHistory(BaseModel):
    """The customer-history agent's view of the account behind a case."""

    summary: str
    account_age_days: int = Field(ge=0)
    prior_disputes: int = Field(ge=0)
    prior_fraud_cases: int = Field(ge=0)
