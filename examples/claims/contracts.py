"""What the claims agents promise each other (pydantic models = output contracts)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ClaimKind = Literal["auto", "home", "travel", "health", "other"]


class Triage(BaseModel):
    """The intake agent's reading of a first notice of loss."""

    kind: ClaimKind
    summary: str
    urgent: bool
    """Injury, a home that cannot be lived in, a traveller stranded: call back today."""
    estimated_amount_eur: float | None = Field(default=None, ge=0)


class Assessment(BaseModel):
    """The assessor's decision on a triaged claim."""

    decision: Literal["approve", "refer", "reject"]
    reason: str
    payout_eur: float = Field(ge=0)
    adjuster_visit: bool = False


class AssessmentInput(BaseModel):
    """What the assessor reads: the customer's words, or a claim handed over by intake."""

    text: str = ""
    triage: Triage | None = None
