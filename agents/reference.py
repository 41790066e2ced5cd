"""The fintech reference system from the seed case, and a workload to drive it.

A fintech assistant that had outgrown one model and one prompt, split the way the
reference text describes: a star hub routes customer support, transaction analysis
and reporting to specialists, each on the smallest model tier that does its job well,
with a general agent for everything else and as the degraded fallback. Support hands
suspected fraud on to transactions (an edge).

Beside the star, the seed's other three topologies: the `transaction_analysis`
pipeline (extract → normalise → analyse → summarise), the `monthly_report` workflow
run by the orchestrator (fetch_ledger → categorise ∥ check_anomalies → chart →
summarise, a saga) and the `fraud_investigation` mesh (fraud, compliance and customer
history asking each other). Their agents are flow-only: they declare no routing
keywords or examples, so the router never sends them star traffic; a request reaches
a flow by naming it as its target (`reference_flow_workload`).
"""

from __future__ import annotations

import calendar
import random
import uuid
from typing import Any

from pydantic import BaseModel

from agents.contracts.edge import Edge
from agents.contracts.fintech import (
    AnalysisSummary,
    ChartSet,
    ComplianceReview,
    CustomerHistory,
    FraudAssessment,
    LedgerExtract,
    NormalisedLedger,
    Report,
    ReportRequest,
    SpendingCategories,
    StatementExtract,
    SupportAnswer,
    TransactionAnalysis,
    TransactionQuery,
)
from agents.contracts.models import TextInput, TextOutput
from agents.flows import Mesh, MeshMember, Pipeline, Stage, Step, Workflow
from agents.reference_examples import REFERENCE_EXAMPLES
from agents.retry import RetryPolicy
from agents.spec import AgentLimits, AgentSpec
from agents.system import AgentSystem
from agents.tiering import Tier, TierPolicy

__all__ = [
    "REFERENCE_FLOWS",
    "REFERENCE_TENANTS",
    "fintech_system",
    "reference_flow_workload",
    "reference_workload",
]


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


# -- flow-only agents -------------------------------------------------------------------
# None declares keywords or examples: the router never picks them, only flows run them.


def _flow_agent(
    name: str,
    description: str,
    prompt: str,
    *,
    model: str = "sim-small",
    tier: Tier = "small",
    input_model: type[BaseModel] = TextInput,
    output_model: type[BaseModel] = TextOutput,
    tools: tuple[str, ...] = (),
    max_output_tokens: int = 1024,
) -> AgentSpec:
    return AgentSpec(
        name=name,
        description=description,
        model=model,
        tier=tier,
        prompt=prompt,
        limits=AgentLimits(max_output_tokens=max_output_tokens, timeout_s=30.0),
        fallback="general",
        tools=tools,
        input_model=input_model,
        output_model=output_model,
    )


_JSON_ONLY = "Answer with the JSON object your output schema describes, nothing else."

_EXTRACTOR = _flow_agent(
    "extractor",
    "Reads transactions out of pasted statements, bank exports and customers' descriptions.",
    "You extract transactions for $tenant's transaction-analysis pipeline.\n"
    "The input is whatever the customer sent: a pasted CSV or PDF statement from another "
    "bank, a forwarded e-mail receipt, or a few lines typed from memory. List every "
    "transaction you can see, copying its date, description and amount exactly as "
    "written (do not convert or round). Say in `source` what the input was. " + _JSON_ONLY,
    output_model=StatementExtract,
)

_NORMALISER = _flow_agent(
    "normaliser",
    "Turns extracted statement lines into ledger entries: ISO dates, one currency, categories.",
    "You normalise extracted statement lines into $tenant's ledger format.\n"
    "Convert every date to ISO 8601, every amount to a signed decimal (money out is "
    'negative) in one currency, clean merchant names ("AMZN MKTP UK*2X3" is Amazon) and '
    "give each entry a spending category. Count the lines you could not read as "
    "`skipped` instead of guessing. " + _JSON_ONLY,
    input_model=StatementExtract,
    output_model=NormalisedLedger,
)

_ANALYST = _flow_agent(
    "analyst",
    "Looks for fraud, duplicates and unusual spending in a normalised ledger.",
    "You analyse normalised ledger entries for $tenant's customers.\n"
    "Flag duplicated charges, card-testing patterns (several tiny amounts at one "
    "merchant), payments far above the customer's usual size and merchants in unusual "
    "countries. Give each flagged transaction its id, amount, currency and a one-line "
    "reason, and a risk score between 0 (nothing suspicious) and 1 (certainly fraud). "
    + _JSON_ONLY,
    model="sim-standard",
    tier="standard",
    input_model=NormalisedLedger,
    output_model=TransactionAnalysis,
)

_SUMMARISER = _flow_agent(
    "summariser",
    "Writes the customer-facing summary of a transaction analysis.",
    "You write the final summary of a transaction analysis for a customer of $tenant.\n"
    "Lead with one plain-language headline, give the risk level, and list the concrete "
    "next steps (freeze the card in the app, dispute a charge, nothing to do). Set "
    "`needs_review` when a flagged transaction needs a person on the transactions team. "
    "Never show full card numbers. " + _JSON_ONLY,
    input_model=TransactionAnalysis,
    output_model=AnalysisSummary,
    max_output_tokens=512,
)

_LEDGER = _flow_agent(
    "ledger",
    "Fetches a customer's ledger for a period, with opening and closing balances.",
    "You fetch ledger data for $tenant's report workflow.\n"
    'Work out the period the request means ("last month" is the previous calendar '
    "month), run the ledger query with your tool and return every entry of the period "
    "with the opening and closing balance. Never invent entries: return an empty list "
    "when the query finds none. " + _JSON_ONLY,
    output_model=LedgerExtract,
    tools=("run_ledger_query",),
)

_CATEGORISER = _flow_agent(
    "categoriser",
    "Totals a period's spending by category and names the biggest change.",
    "You categorise a period's ledger for $tenant's monthly report.\n"
    "Total the spending per category from the ledger entries you are given (money out "
    "only; income and transfers between own accounts are not spending), compare with "
    "the previous period where the request mentions it, and name the category that "
    "changed most. " + _JSON_ONLY,
    output_model=SpendingCategories,
)

_CHARTS = _flow_agent(
    "charts",
    "Renders a report's charts and stores them in the customer's document vault.",
    "You chart a monthly report for a customer of $tenant.\n"
    "From the category totals and the anomalies you are given, render at most three "
    "charts (spending by category, daily balance, flagged transactions) with your tool "
    "and store each in the customer's document vault. Return the vault ids and one "
    "caption per chart. " + _JSON_ONLY,
    output_model=ChartSet,
    tools=("render_chart", "store_document"),
)

_DOCUMENTS = _flow_agent(
    "documents",
    "Removes documents a failed workflow stored in the customer's vault (compensation).",
    "You undo a step of $tenant's report workflow that stored documents in a customer's "
    "vault.\nYou get the step's output with the vault ids it stored. Delete exactly those "
    "documents with your tool, nothing else, and say which ids you deleted and which "
    "were already gone.",
    tools=("delete_document",),
    max_output_tokens=256,
)

_FRAUD = _flow_agent(
    "fraud",
    "Assesses suspected fraud on an account: card testing, account takeover, scams.",
    "You are the fraud investigator in $tenant's investigation mesh.\n"
    "Given a case (a customer's report, an alert, or a colleague's findings), look at "
    "the transactions involved and decide whether fraud is likely: card testing, "
    "account takeover, authorised push-payment scams, friendly fraud. Flag each "
    "suspicious transaction with a reason. Ask for `sanctions_screening` or "
    "`aml_review` in `asks` when money moved to a new payee abroad. " + _JSON_ONLY,
    model="sim-standard",
    tier="standard",
    output_model=FraudAssessment,
    tools=("search_transactions", "flag_fraud"),
)

_COMPLIANCE = _flow_agent(
    "compliance",
    "Sanctions screening and anti-money-laundering review of a case.",
    "You are the compliance officer in $tenant's investigation mesh.\n"
    "Screen the payees and counterparties of the case against the sanctions lists with "
    "your tool and review the money flow for laundering patterns (structuring under "
    "reporting limits, rapid in-and-out, mule accounts). Say whether a suspicious "
    "activity report must be filed. Cite the rule, never guess a list hit. " + _JSON_ONLY,
    model="sim-standard",
    tier="standard",
    output_model=ComplianceReview,
    tools=("screen_sanctions",),
)

_CUSTOMER_HISTORY = _flow_agent(
    "customer_history",
    "Summarises an account's history: age, usual behaviour, past disputes and fraud cases.",
    "You know the history of $tenant's customers for the investigation mesh.\n"
    "Look up the account behind the case and summarise what matters to an investigator: "
    "how old the account is, its usual spending pattern, past disputes and past fraud "
    "cases, recent changes of phone, e-mail or address. Facts from your tools only. " + _JSON_ONLY,
    output_model=CustomerHistory,
    tools=("lookup_account", "search_transactions"),
)

_FLOW_AGENTS = (
    _EXTRACTOR,
    _NORMALISER,
    _ANALYST,
    _SUMMARISER,
    _LEDGER,
    _CATEGORISER,
    _CHARTS,
    _DOCUMENTS,
    _FRAUD,
    _COMPLIANCE,
    _CUSTOMER_HISTORY,
)

# -- the three flows ---------------------------------------------------------------------

_TRANSACTION_ANALYSIS = Pipeline(
    name="transaction_analysis",
    description="A statement or list of payments in, a checked risk summary out.",
    stages=(
        # Extraction is the cheap, bursty front: customers paste whole statements at
        # month end. Hold the rest back in Kafka rather than drop what they sent.
        Stage(name="extract", agent="extractor", concurrency=8, queue=32, overflow="block"),
        Stage(name="normalise", agent="normaliser", concurrency=8, queue=32, overflow="block"),
        # The analysis runs on the standard tier; under overload the newest analyses are
        # dropped (with a `dropped` result the client can retry) before the queue grows.
        Stage(name="analyse", agent="analyst", concurrency=4, queue=16, overflow="drop_newest"),
        Stage(name="summarise", agent="summariser", concurrency=8, queue=32, overflow="block"),
    ),
    deadline_s=120.0,
    examples=(
        "here's my statement from my old bank, can you check for anything dodgy?\n"
        "03/03 TESCO STORES 3381  -42.17\n04/03 AMZN MKTP UK*2X3  -12.99\n"
        "04/03 AMZN MKTP UK*2X3  -12.99\n05/03 SALARY ACME LTD  +2,310.00",
        "pasted from my spreadsheet: 12 Mar uber 8.40, 12 Mar uber 8.40, 13 Mar uber 8.40, "
        "13 Mar uber 8.40 — i only took one uber this week??",
        "Date,Description,Amount\n2025-03-01,NETFLIX.COM,-15.99\n2025-03-02,"
        "STEAMGAMES 0800,-59.99\n2025-03-02,STEAMGAMES 0800,-59.99\n2025-03-02,"
        "STEAMGAMES 0800,-59.99",
        "forwarding the receipts from last week, 3 payments to a crypto exchange i dont know "
        "about, 250, 250 and 499 euros",
        "can you analyse the attached export from my business account for march and tell me "
        "if anything looks off",
    ),
)

_MONTHLY_REPORT = Workflow(
    name="monthly_report",
    description="The customer's monthly report: ledger, categories, anomalies, charts, summary.",
    steps=(
        Step(
            name="fetch_ledger",
            agent="ledger",
            instruction="Fetch the ledger entries and balances of the period this request means.",
        ),
        Step(
            name="categorise",
            agent="categoriser",
            depends_on=("fetch_ledger",),
            instruction="Total the period's spending per category from the ledger below.",
        ),
        Step(
            name="check_anomalies",
            agent="transactions",
            depends_on=("fetch_ledger",),
            instruction="Check the ledger below for duplicated, unauthorised or unusual charges.",
        ),
        Step(
            name="chart",
            agent="charts",
            depends_on=("categorise", "check_anomalies"),
            instruction="Chart the category totals and the flagged transactions below.",
            # Charts are stored in the customer's vault: when the report then fails, the
            # saga removes them so no half-made report is left behind.
            compensation="documents",
        ),
        Step(
            name="summarise",
            agent="reports",
            depends_on=("chart",),
            instruction="Write the monthly report from the categories, anomalies and charts.",
        ),
    ),
    # Several steps answer a `summary` (and the ledger and the report a `period`): the
    # final report's words come first, then the anomaly check's findings, which the
    # customer must read before the category totals.
    conflict_rule="priority",
    priority=("summarise", "check_anomalies", "categorise", "fetch_ledger", "chart"),
    deadline_s=90.0,
    examples=(
        "can i get my monthly report for march please",
        "send me last month's summary with the charts, and tell me if anything weird happened",
        "I need the February report for the business account for our bookkeeper",
        "monthly overview please — where did my money go in april?",
        "prepare the usual end of month report for acme-bank's premium customers",
    ),
)

_FRAUD_INVESTIGATION = Mesh(
    name="fraud_investigation",
    description="Fraud, compliance and customer history investigate a case together.",
    entry="fraud_screening",
    members=(
        MeshMember(
            agent="fraud",
            capabilities=("fraud_screening",),
            asks=("customer_history", "sanctions_screening"),
        ),
        MeshMember(
            agent="compliance",
            capabilities=("sanctions_screening", "aml_review"),
            asks=("customer_history",),
        ),
        # Past fraud cases send the history back to the fraud screen: a cycle the mesh
        # records instead of following.
        MeshMember(
            agent="customer_history",
            capabilities=("customer_history",),
            asks=("fraud_screening",),
        ),
    ),
    max_hops=5,
    deadline_s=60.0,
    examples=(
        "ALERT 7731: 14 card-not-present payments of €1 at different merchants within 3 "
        "minutes on card ending 5527, then €980 at an electronics shop",
        "customer says they were called by 'the bank' and told to move their savings to a "
        "safe account, 3 transfers of £4,900 to a new payee yesterday",
        "new device login from another country, phone number changed, then full balance "
        "sent to a crypto exchange within the hour",
        "case 2291: incoming transfers from 9 different people, each just under 1000, "
        "forwarded abroad the same day",
        "merchant dispute spike: same customer disputed 6 online purchases this month, all "
        "marked as delivered",
    ),
)

REFERENCE_FLOWS: tuple[str, ...] = (
    "transaction_analysis",
    "monthly_report",
    "fraud_investigation",
)
"""The reference system's pipeline, workflow and mesh, by name (request targets)."""


def fintech_system() -> AgentSystem:
    """The reference system: `support`, `transactions`, `reports` and the `general`
    fallback in the star; the flow-only agents of the `transaction_analysis` pipeline,
    the `monthly_report` workflow and the `fraud_investigation` mesh beside them.

    Contracts are in `agents.contracts.fintech`; `general` keeps the text defaults.
    """
    return AgentSystem(
        name="fintech",
        agents=(_SUPPORT, _TRANSACTIONS, _REPORTS, _GENERAL, *_FLOW_AGENTS),
        default_agent="general",
        edges=_EDGES,
        pipelines=(_TRANSACTION_ANALYSIS,),
        workflows=(_MONTHLY_REPORT,),
        meshes=(_FRAUD_INVESTIGATION,),
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


def reference_flow_workload(per_flow: int, seed: int) -> list[dict[str, Any]]:
    """``per_flow`` requests for each of the reference system's flows, interleaved, the
    same for the same seed: drawn from each flow's declared ``examples``, with
    ``target_agent`` the flow's name (how an app or operator console starts one).

    Each dict has the ``AgentRequest`` fields of `reference_workload` and metadata
    ``channel`` and ``flow``.
    """
    if per_flow < 0:
        raise ValueError(f"per_flow must be >= 0, got {per_flow}")
    rng = random.Random(seed)
    flows = fintech_system().flows
    requests: list[dict[str, Any]] = []
    for _ in range(per_flow):
        for name in REFERENCE_FLOWS:
            requests.append(
                {
                    "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "tenant": rng.choices(REFERENCE_TENANTS, _TENANT_WEIGHTS)[0],
                    "input": rng.choice(flows[name].examples),
                    "target_agent": name,
                    "metadata": {"channel": rng.choice(("api", "ops")), "flow": name},
                }
            )
    return requests
