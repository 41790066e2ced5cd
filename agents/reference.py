"""The fintech reference system from the seed case, and a workload to drive it.

A fintech assistant that had outgrown one model and one prompt, split the way the
reference text describes: a star hub routes customer support, transaction analysis
and reporting to specialists, each on the smallest model tier that does its job well,
with a general agent for everything else and as the degraded fallback.
"""

from __future__ import annotations

import calendar
import random
import uuid
from typing import Any

from agents.contracts.edge import Edge
from agents.contracts.fintech import (
    Report,
    ReportRequest,
    SupportAnswer,
    TransactionAnalysis,
    TransactionQuery,
)
from agents.reference_examples import REFERENCE_EXAMPLES
from agents.retry import RetryPolicy
from agents.spec import AgentLimits, AgentSpec
from agents.system import AgentSystem
from agents.tiering import TierPolicy

__all__ = ["REFERENCE_TENANTS", "fintech_system", "reference_workload"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SUPPORT = AgentSpec(
    name="support",
    description="Account, card, login and fee questions from retail customers.",
    model="sim-small",
    tier="small",
    prompt=(
        "You are the customer-support agent of a retail fintech app, answering for $tenant.\n"
        "Help with account access, cards, PINs, passwords, fees, refunds and disputes.\n"
        "Be brief and friendly. Never reveal full card or account numbers, never ask for a "
        "password or one-time code, and never promise a refund: say what happens next and "
        "how long it takes. If the customer reports fraud, tell them their card can be "
        "frozen in the app and that the transactions team will review it."
    ),
    limits=AgentLimits(max_output_tokens=512, timeout_s=20.0),
    fallback="general",
    keywords=_words(
        """
        refund card password login account fee dispute pin locked reset verify
        verification blocked cancel address overdraft app
        """
    ),
    examples=REFERENCE_EXAMPLES["support"],
    # Rules the trained router must never overrule (credential resets are support's).
    route_overrides=(r"\b(forgot|forgotten|reset|change|new)\b.{0,25}\b(password|passcode|pin)\b",),
    tools=("lookup_account", "reset_credentials", "open_dispute"),
    output_model=SupportAnswer,
    # Most support questions repeat (password resets, fees, card delivery): cache them.
    cache_ttl_s=300.0,
    retry=RetryPolicy(alternative_models=("sim-standard",)),
    disclaimer=(
        "Answered by our general assistant because the $agent specialist is unavailable "
        "right now; it cannot see your account, so details may be less precise."
    ),
)

_TRANSACTIONS = AgentSpec(
    name="transactions",
    description="Explains, searches and risk-checks individual transactions and payments.",
    model="sim-standard",
    tier="standard",
    prompt=(
        "You are the transaction-analysis agent for $tenant's customers.\n"
        "Given a question about payments, charges, transfers or merchants, look up the "
        "relevant transactions with your tools, state the exact amounts and dates you "
        "found, and explain them. Flag anything that looks fraudulent, duplicated or "
        "unauthorised and say so plainly. Do not guess amounts: if a transaction is not "
        "found, say it was not found."
    ),
    limits=AgentLimits(max_output_tokens=1024, timeout_s=30.0),
    fallback="general",
    keywords=_words(
        """
        transaction payment charge transfer amount merchant fraud fraudulent pending
        declined wire deposit withdrawal duplicate suspicious unauthorized
        unauthorised subscription pay paid
        """
    ),
    examples=REFERENCE_EXAMPLES["transactions"],
    # Suspected fraud is never left to a model's guess.
    route_overrides=(r"\b(fraud|fraudulent|unauthori[sz]ed)\b", r"\b(wasn'?t|was not) me\b"),
    tools=("search_transactions", "get_merchant", "flag_fraud"),
    input_model=TransactionQuery,
    output_model=TransactionAnalysis,
    # Transaction data changes by the minute: never cached. A last retry on the frontier
    # model is worth its price when the question may be fraud.
    retry=RetryPolicy(alternative_models=("sim-frontier",)),
    budget_tokens=4000,
    disclaimer=(
        "Answered by our general assistant because the $agent specialist is unavailable "
        "right now; your transactions were not checked, so please do not rely on it for "
        "amounts or fraud decisions."
    ),
)

_REPORTS = AgentSpec(
    name="reports",
    description="Builds statements, spending summaries and period reports from the ledger.",
    model="sim-frontier",
    tier="frontier",
    prompt=(
        "You are the reporting agent for $tenant.\n"
        "Produce accurate financial summaries and reports (monthly and quarterly "
        "statements, spending by category, revenue, trends, exports) from the ledger "
        "via your tools. Lead with the headline figures, then a short breakdown. Every "
        "number must come from a tool result; state the period and currency. Offer a CSV "
        "export when the breakdown is long."
    ),
    limits=AgentLimits(max_output_tokens=4096, timeout_s=60.0),
    fallback="general",
    keywords=_words(
        """
        report summary summarise summarize monthly quarterly annual yearly statement
        revenue export csv spending breakdown trend forecast analysis category tax
        budget cashflow
        """
    ),
    examples=REFERENCE_EXAMPLES["reports"],
    route_overrides=(r"\b(csv|spreadsheet|excel|xlsx)\b",),  # a file export is a report
    tools=("run_ledger_query", "export_csv"),
    input_model=ReportRequest,
    output_model=Report,
    # Most reports are a lookup and a summary: the standard tier does them; multi-step
    # analyses (compare, forecast, trends over periods) go to the frontier model.
    tiers=TierPolicy(
        small="sim-small", standard="sim-standard", frontier="sim-frontier", minimum="standard"
    ),
    budget_tokens=6000,
    disclaimer=(
        "Answered by our general assistant because the $agent agent is unavailable right "
        "now; it cannot read the ledger, so no figures are included. Please ask again later "
        "for the full report."
    ),
)

_GENERAL = AgentSpec(
    name="general",
    description="Answers anything the specialists do not cover; the degraded fallback.",
    model="sim-small",
    tier="small",
    prompt=(
        "You are the general assistant of a fintech app, answering for $tenant.\n"
        "Answer general questions about the product and company briefly. If the question "
        "needs account data or a report you cannot see, say which team can help and how "
        "to reach them. Never invent figures, balances or policies."
    ),
    limits=AgentLimits(max_output_tokens=512, timeout_s=20.0),
    examples=REFERENCE_EXAMPLES["general"],
    cache_ttl_s=600.0,  # product and company facts change rarely
)


_EDGES = (
    Edge(
        producer="support",
        consumer="transactions",
        into="escalation",
        description="support escalates suspected fraud and disputes for review",
        when="escalate",  # runs: an escalated case is answered by transactions
    ),
    Edge(
        producer="transactions",
        consumer="reports",
        into="analysis",
        description="reports include the findings of a transaction analysis",
    ),
)


def fintech_system() -> AgentSystem:
    """The reference system: `support`, `transactions`, `reports`, and `general` fallback.

    Contracts are in `agents.contracts.fintech`; `general` keeps the text defaults.
    """
    return AgentSystem(
        name="fintech",
        agents=(_SUPPORT, _TRANSACTIONS, _REPORTS, _GENERAL),
        default_agent="general",
        edges=_EDGES,
    )


REFERENCE_TENANTS: tuple[str, ...] = ("acme-bank", "northwind-pay", "globex-credit", "initech")
"""Tenants of the reference workload; weighted 40/30/20/10 % in that order."""
_TENANT_WEIGHTS = (0.4, 0.3, 0.2, 0.1)

# What users ask, per agent that should answer; {slots} are filled from _SLOTS.
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "support": (
        "I forgot my password and now my login is locked, can you help?",
        "How do I reset the PIN on my card ending {last4}?",
        "Why was I charged a {amount} fee on my account this month?",
        "I'd like a refund of the {amount} fee from {month}.",
        "My card ending {last4} is blocked after I travelled to {city}.",
        "How do I change the address on my account?",
        "The app keeps asking me to verify my identity, what documents do you need?",
        "I want to dispute a {amount} charge from {merchant}.",
        "Can I cancel my premium account and get a refund for {month}?",
        "My new card hasn't arrived yet, it's been {days} days.",
        "Is there a fee for using my card abroad in {city}?",
        "I can't log in to the app since the last update, it says verification failed.",
        "What is the overdraft fee on a basic account?",
    ),
    "transactions": (
        "There is a {amount} payment to {merchant} I don't recognise.",
        "Why is my transfer of {amount} to {payee} still pending after {days} days?",
        "I see a duplicate charge from {merchant} for {amount} on {weekday}.",
        "My payment to {merchant} was declined even though I have enough money.",
        "Can you check whether the {amount} wire to {payee} arrived?",
        "Is this transaction from {merchant} fraud? I never shopped there.",
        "When will my deposit of {amount} show up?",
        "I think someone made unauthorized transactions with my details on {weekday}.",
        "Which merchant is behind the {amount} charge labelled {code}?",
        "The withdrawal of {amount} at an ATM in {city} was not me, it looks suspicious.",
        "My {merchant} subscription took {amount} twice this month.",
        "How much did I pay {merchant} in total this year?",
        # Worded like support questions on purpose: keyword routing gets these wrong,
        # which is what routing-accuracy telemetry and the improver are there to find.
        "I was charged twice on my card at {merchant}.",
        "Someone used my card at {merchant} without my permission.",
    ),
    "reports": (
        "Can I get a monthly statement for {month} as a PDF?",
        "Give me a summary of my spending by category for {month}.",
        "I need the quarterly report for {quarter} for my accountant.",
        "Please export my transactions for {year} to CSV for my tax return.",
        "What was our revenue trend over the last {n} months?",
        "Show me a breakdown of business spending for {quarter}.",
        "Prepare an annual statement for {year} with totals per category.",
        "Can you forecast my cashflow for next month based on my budget?",
        "Summarise how my grocery spending changed compared with {month}.",
        "Send me the yearly summary for the business account, with a chart.",
    ),
    # Requests no specialist's vocabulary covers: they must reach the general agent.
    "general": (
        "What are your opening hours on public holidays?",
        "Do you have a branch near {city}?",
        "Who is the CEO of the company?",
        "Can I speak to a human please?",
        "Is there a student discount?",
        "What's the difference between your plans?",
        "Hello?",
        "Can I open a joint plan with my partner?",
    ),
}
# Share of requests each agent should answer; "general" is the ~5% matching nothing.
_MIX = (("support", 0.38), ("transactions", 0.32), ("reports", 0.25), ("general", 0.05))
_EXPLICIT_RATE = 0.06  # API integrations that name their specialist directly

_SLOTS: dict[str, tuple[str, ...]] = {
    "amount": ("$4.99", "$12.50", "$29.00", "$87.40", "$149.99", "$310.00", "€45.00", "£1,200.00"),
    "merchant": ("Amazon", "Uber", "Netflix", "Spotify", "Shell", "Tesco", "Airbnb", "Steam"),
    "payee": ("my landlord", "John Smith", "ACME Supplies Ltd", "my savings", "HMRC"),
    "month": tuple(calendar.month_name[1:]),
    "quarter": ("Q1", "Q2", "Q3", "Q4"),
    "year": ("2023", "2024", "2025"),
    "city": ("Lisbon", "Berlin", "New York", "Tokyo", "Madrid", "Toronto"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "last4": ("0142", "3381", "5527", "7710", "9904"),
    "code": ("POS*4471", "SQ *CAFE", "PAYPAL *XYZ", "AMZN MKTP"),
    "days": ("3", "5", "7", "10"),
    "n": ("3", "6", "12"),
}
_CHANNELS = ("app", "web", "chat")


def reference_workload(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` realistic requests for `fintech_system()`, the same for the same seed.

    Each is a dict with the `AgentRequest` fields `request_id` (a UUID), `tenant`,
    `input`, `target_agent` (set on ~6%, from "api" callers) and `metadata` with
    `channel` and `expected_agent`: the agent a human would pick, so routing accuracy
    can be measured. About 5% of requests match no keyword at all.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    agents = [agent for agent, _ in _MIX]
    weights = [weight for _, weight in _MIX]
    requests: list[dict[str, Any]] = []
    for _ in range(n):
        expected = rng.choices(agents, weights)[0]
        template = rng.choice(_TEMPLATES[expected])
        text = template.format_map({slot: rng.choice(values) for slot, values in _SLOTS.items()})
        explicit = expected != "general" and rng.random() < _EXPLICIT_RATE
        requests.append(
            {
                "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "tenant": rng.choices(REFERENCE_TENANTS, _TENANT_WEIGHTS)[0],
                "input": text,
                "target_agent": expected if explicit else None,
                "metadata": {
                    "channel": "api" if explicit else rng.choice(_CHANNELS),
                    "expected_agent": expected,
                },
            }
        )
    return requests
