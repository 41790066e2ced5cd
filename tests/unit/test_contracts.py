"""Agent contracts: output validation, edge checks that name the broken field, rendering."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

import agents.contracts
from agents import (
    AgentSpec,
    AgentSystem,
    ConfigError,
    MalformedOutput,
    fintech_system,
)
from agents.contracts import (
    ContractViolation,
    Edge,
    EdgeReport,
    TextInput,
    TextOutput,
    check_system,
    compare_schemas,
    format_reports,
    main_check,
    parse_output,
    render_output,
    text_field,
)
from agents.contracts.fintech import (
    Currency,
    FlaggedTransaction,
    ReportRequest,
    SupportAnswer,
    SupportEscalation,
    TransactionAnalysis,
    TransactionQuery,
)


def with_models(system: AgentSystem, agent: str, **models: type[BaseModel]) -> AgentSystem:
    """`system` with `agent`'s input/output models replaced."""
    return AgentSystem(
        name=system.name,
        agents=tuple(
            spec.model_copy(update=models) if spec.name == agent else spec for spec in system.agents
        ),
        default_agent=system.default_agent,
        edges=system.edges,
    )


def report_for(reports: list[EdgeReport], label: str) -> EdgeReport:
    return next(report for report in reports if report.edge.label == label)


def broken(system: AgentSystem) -> dict[str, dict[str, str]]:
    """Broken edges → {field path: problem}."""
    return {
        report.edge.label: {m.path: m.problem for m in report.mismatches}
        for report in check_system(system)
        if not report.ok
    }


# --- producer changes that break a consumer -------------------------------------------


class RenamedAmount(BaseModel):
    transaction_id: str
    value: Decimal  # was `amount`
    currency: Currency
    reason: str


class AnalysisWithRenamedAmount(BaseModel):
    summary: str
    flagged: list[RenamedAmount]
    risk_score: float = Field(ge=0.0, le=1.0)


def test_renaming_a_producer_field_breaks_the_edge_naming_the_field() -> None:
    system = with_models(fintech_system(), "transactions", output_model=AnalysisWithRenamedAmount)

    reports = check_system(system)
    ok, text = main_check(system)

    assert broken(system) == {
        "transactions → reports": {"analysis.flagged[].amount": "missing field"}
    }
    [mismatch] = report_for(reports, "transactions → reports").mismatches
    assert mismatch.expected == "amount: number | string"
    assert "producer has value" in mismatch.found
    assert "renamed?" in mismatch.found
    assert not ok
    assert "✗ transactions → reports" in text
    assert "✓ support → transactions" in text
    assert "analysis.flagged[].amount: missing field" in text


class BandedAnalysis(BaseModel):
    summary: str
    flagged: list[FlaggedTransaction]
    risk_score: Literal["low", "medium", "high"]  # was a float in [0, 1]


class LooseRiskAnalysis(BaseModel):
    summary: str
    flagged: list[FlaggedTransaction]
    risk_score: float  # was bounded to [0, 1]


def test_changing_a_producer_field_type_breaks_the_edge() -> None:
    system = with_models(fintech_system(), "transactions", output_model=BandedAnalysis)

    [report] = [r for r in check_system(system) if not r.ok]
    [mismatch] = report.mismatches

    assert report.edge == Edge(
        producer="transactions",
        consumer="reports",
        into="analysis",
        description="reports include the findings of a transaction analysis",
    )
    assert (mismatch.path, mismatch.problem) == ("analysis.risk_score", "type changed")
    assert mismatch.expected == "number"
    assert mismatch.found == '"low" | "medium" | "high"'


def test_widening_a_producer_range_breaks_the_edge() -> None:
    system = with_models(fintech_system(), "transactions", output_model=LooseRiskAnalysis)

    assert broken(system) == {
        "transactions → reports": {"analysis.risk_score": "range wider than accepted"}
    }


class TextAmount(BaseModel):
    transaction_id: str
    amount: str  # was a Decimal; both are strings on the wire, only examples tell
    currency: Currency
    reason: str


class AnalysisWithTextAmounts(BaseModel):
    summary: str
    flagged: list[TextAmount] = Field(min_length=1)
    risk_score: float = Field(ge=0.0, le=1.0)


def test_examples_catch_what_the_schema_cannot_see() -> None:
    system = with_models(fintech_system(), "transactions", output_model=AnalysisWithTextAmounts)

    report = report_for(check_system(system), "transactions → reports")
    [mismatch] = report.mismatches

    assert (mismatch.path, mismatch.source) == ("analysis.flagged[].amount", "example")
    assert mismatch.problem == "example rejected"
    assert "decimal" in mismatch.expected.lower()


class SupportAnswerWithLoans(BaseModel):
    answer: str
    category: Literal["account", "card", "fees", "dispute", "fraud", "loans", "other"]
    escalate: bool


def test_a_new_producer_literal_value_breaks_a_consumer_that_does_not_know_it() -> None:
    system = with_models(fintech_system(), "support", output_model=SupportAnswerWithLoans)

    report = report_for(check_system(system), "support → transactions")

    assert [(m.path, m.problem, m.found) for m in report.mismatches] == [
        ("escalation.category", "value not accepted", '"loans"')
    ]


# --- consumer changes that break an edge ------------------------------------------------


class ReviewedEscalation(BaseModel):
    answer: str
    category: Literal["account", "card", "fees", "dispute", "fraud", "other"]
    escalate: bool
    case_id: str  # new and required: support never sends it


class QueryNeedingCaseId(BaseModel):
    text: str
    escalation: ReviewedEscalation | None = None


class TicketedAnswer(BaseModel):
    answer: str
    category: Literal["account", "card", "fees", "dispute", "fraud", "other"]
    escalate: bool
    ticket: str | None = None


class TicketedEscalation(BaseModel):
    answer: str
    category: Literal["account", "card", "fees", "dispute", "fraud", "other"]
    escalate: bool
    ticket: str  # was `str | None = None`


class QueryNeedingTicket(BaseModel):
    text: str
    escalation: TicketedEscalation | None = None


def test_a_consumer_requiring_a_field_the_producer_lacks_breaks_the_edge() -> None:
    system = with_models(fintech_system(), "transactions", input_model=QueryNeedingCaseId)

    assert broken(system) == {"support → transactions": {"escalation.case_id": "missing field"}}


def test_making_an_optional_field_required_on_the_consumer_side_breaks_the_edge() -> None:
    before = with_models(fintech_system(), "support", output_model=TicketedAnswer)
    after = with_models(before, "transactions", input_model=QueryNeedingTicket)

    assert broken(before) == {}
    assert broken(after) == {"support → transactions": {"escalation.ticket": "may be null"}}
    [mismatch] = report_for(check_system(after), "support → transactions").mismatches
    assert (mismatch.expected, mismatch.found) == ("string", "string | null")


def test_a_producer_field_that_may_be_absent_cannot_feed_a_required_one() -> None:
    class Consumer(BaseModel):
        note: str

    # A producer that is not a pydantic model, and may leave `note` out.
    producer = {"type": "object", "properties": {"note": {"type": "string"}}}
    consumer = Consumer.model_json_schema()

    [mismatch] = compare_schemas(producer, consumer)
    assert (mismatch.path, mismatch.problem) == ("note", "optional in producer")


# --- changes that keep an edge working --------------------------------------------------


class AnalysisWithConfidence(BaseModel):
    summary: str
    flagged: list[FlaggedTransaction]
    risk_score: float = Field(ge=0.0, le=0.9)  # narrower than before: still accepted
    confidence: float | None = None  # new, optional: consumers ignore it
    reviewed: bool = False


class SupportAnswerWithoutOther(BaseModel):
    answer: str
    category: Literal["card", "fraud", "dispute"]  # fewer values: all still accepted
    escalate: bool


def test_compatible_producer_changes_keep_every_edge() -> None:
    system = with_models(fintech_system(), "transactions", output_model=AnalysisWithConfidence)
    system = with_models(system, "support", output_model=SupportAnswerWithoutOther)

    reports = check_system(system)

    assert all(report.ok for report in reports), format_reports(reports)
    assert main_check(system)[0]


def test_a_consumer_that_forbids_extra_fields_rejects_new_producer_fields() -> None:
    class StrictEscalation(SupportEscalation):
        model_config = ConfigDict(extra="forbid")

    class StrictQuery(BaseModel):
        text: str
        escalation: StrictEscalation | None = None

    system = with_models(fintech_system(), "support", output_model=TicketedAnswer)
    system = with_models(system, "transactions", input_model=StrictQuery)

    assert broken(system) == {"support → transactions": {"escalation.ticket": "unexpected field"}}


def test_recursive_models_are_compared_without_looping() -> None:
    class Node(BaseModel):
        name: str
        children: list[Node] = []

    class Tree(BaseModel):
        root: Node

    assert (
        compare_schemas(Tree.model_json_schema(mode="serialization"), Tree.model_json_schema())
        == []
    )
    json.loads(render_output(Tree, "a b c", fill="full"))


# --- output validation ------------------------------------------------------------------


def analysis_json(**changes: object) -> str:
    document: dict[str, object] = {
        "summary": "Two duplicated charges.",
        "flagged": [
            {"transaction_id": "t-1", "amount": "12.50", "currency": "EUR", "reason": "duplicate"}
        ],
        "risk_score": 0.4,
    }
    document.update(changes)
    return json.dumps(document)


def test_valid_output_parses_into_the_model() -> None:
    analysis = parse_output(TransactionAnalysis, analysis_json(), agent="transactions")

    assert analysis.flagged[0].amount == Decimal("12.50")


@pytest.mark.parametrize(
    ("text", "path", "detail"),
    [
        (
            analysis_json(
                flagged=[
                    {"transaction_id": "t", "amount": "lots", "currency": "EUR", "reason": "r"}
                ]
            ),
            "flagged[0].amount",
            "decimal",
        ),
        (
            analysis_json(
                flagged=[{"transaction_id": "t", "amount": 1, "currency": "euro", "reason": "r"}]
            ),
            "flagged[0].currency",
            "pattern",
        ),
        (analysis_json(risk_score=1.5), "risk_score", "less than or equal to 1"),
        (json.dumps({"summary": "s", "risk_score": 0.1}), "flagged", "Field required"),
        ('{"summary": "cut off', "", "Invalid JSON"),
        ("Sorry, I cannot help with that.", "", "Invalid JSON"),
        ("   ", "", "empty output"),
    ],
)
def test_output_violations_name_the_field(text: str, path: str, detail: str) -> None:
    with pytest.raises(ContractViolation) as caught:
        parse_output(TransactionAnalysis, text, agent="transactions", model="sim-standard")

    violation = caught.value
    assert violation.path == path
    assert detail.lower() in violation.detail.lower()
    assert (violation.agent, violation.model) == ("transactions", "sim-standard")
    assert violation.contract == "TransactionAnalysis"
    assert violation.output == text
    assert (f" at {path}:" in str(violation)) == bool(path)
    # A malformed output to the rest of the runtime: recorded, retried, dead-lettered.
    assert isinstance(violation, MalformedOutput)
    assert (violation.kind, violation.retriable) == ("malformed", True)


def test_every_violation_is_listed() -> None:
    with pytest.raises(ContractViolation) as caught:
        parse_output(SupportAnswer, json.dumps({"answer": 1, "category": "loans"}))

    assert [path for path, _ in caught.value.violations] == ["answer", "category", "escalate"]
    assert "(and 2 more)" in str(caught.value)


def test_text_shaped_models_accept_prose_and_fenced_json() -> None:
    assert parse_output(TextOutput, "Our branches open at 9.").answer == "Our branches open at 9."
    assert parse_output(TextOutput, '{"answer": "hi"}').answer == "hi"
    fenced = f"```json\n{analysis_json()}\n```"
    assert parse_output(TransactionAnalysis, fenced).risk_score == 0.4
    assert text_field(TextOutput) == "answer"
    assert text_field(TransactionQuery) == "text"
    assert text_field(TransactionAnalysis) is None


# --- rendering --------------------------------------------------------------------------


@pytest.mark.parametrize("model", [SupportAnswer, TransactionAnalysis, ReportRequest, TextOutput])
def test_rendered_output_is_valid_deterministic_and_derived_from_the_text(
    model: type[BaseModel],
) -> None:
    text = "The wire was sent on Monday. It is still pending. No action is needed."

    documents = {render_output(model, text, fill=fill) for fill in ("seeded", "full", "minimal")}

    for document in documents:
        parse_output(model, document)
        assert text in document  # the prose field carries the whole answer
    assert render_output(model, text) == render_output(model, text)
    assert render_output(model, text) != render_output(model, text + " Thanks.")


def test_full_and_minimal_rendering_bound_optional_content() -> None:
    text = "One duplicate. One refund."
    full = json.loads(render_output(ReportRequest, text, fill="full"))
    minimal = json.loads(render_output(ReportRequest, text, fill="minimal"))

    assert set(full) == {"text", "period", "currency", "analysis"}
    assert full["analysis"]["flagged"]
    assert full["currency"] in {"EUR", "USD", "GBP"}
    assert set(minimal) == {"text"}


def test_models_the_renderer_cannot_satisfy_are_config_errors() -> None:
    class Iban(BaseModel):
        iban: str = Field(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")

    with pytest.raises(ConfigError, match=r"cannot render a valid Iban: iban: .*examples"):
        render_output(Iban, "text")

    class IbanWithExamples(BaseModel):
        iban: str = Field(
            pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$", examples=["DE89370400440532013000"]
        )

    assert parse_output(IbanWithExamples, render_output(IbanWithExamples, "text"))


# --- declarations -----------------------------------------------------------------------


def test_agents_default_to_text_contracts_that_stay_out_of_dumps() -> None:
    spec = AgentSpec(name="a", description="", model="m", prompt="p", tier="small")

    assert (spec.input_model, spec.output_model) == (TextInput, TextOutput)
    assert "output_model" not in spec.model_dump()
    assert "input_model" not in json.loads(spec.model_dump_json())
    assert spec != spec.model_copy(update={"output_model": SupportAnswer})


def test_reference_agents_declare_structured_contracts_and_edges() -> None:
    system = fintech_system()

    assert system.get("support").output_model is SupportAnswer
    assert system.get("transactions").input_model is TransactionQuery
    assert system.get("transactions").output_model is TransactionAnalysis
    assert system.get("reports").input_model is ReportRequest
    assert system.get("general").output_model is TextOutput
    assert [(e.label, e.into) for e in system.edges] == [
        ("support → transactions", "escalation"),
        ("transactions → reports", "analysis"),
    ]


def spec(name: str, **changes: object) -> AgentSpec:
    fields: dict[str, object] = {
        "name": name,
        "description": "",
        "model": "m",
        "prompt": "p",
        "tier": "small",
    }
    return AgentSpec.model_validate({**fields, **changes})


@pytest.mark.parametrize(
    ("edge", "complaint"),
    [
        (Edge(producer="a", consumer="z"), "edge a → z names unknown consumer 'z'"),
        (Edge(producer="z", consumer="b"), "edge z → b names unknown producer 'z'"),
        (Edge(producer="a", consumer="a"), "edge a → a joins an agent to itself"),
        (
            Edge(producer="a", consumer="b", into="analysis"),
            "edge a → b feeds 'analysis', which is not a field of TextInput",
        ),
    ],
)
def test_inconsistent_edges_are_rejected(edge: Edge, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        AgentSystem(name="bad", agents=(spec("a"), spec("b")), default_agent="a", edges=(edge,))


def test_duplicate_edges_are_rejected() -> None:
    edge = Edge(producer="a", consumer="b")

    with pytest.raises(ConfigError, match="declared twice"):
        AgentSystem(
            name="bad", agents=(spec("a"), spec("b")), default_agent="a", edges=(edge, edge)
        )


def test_a_system_without_edges_checks_clean() -> None:
    system = AgentSystem(name="s", agents=(spec("a"),), default_agent="a")

    assert main_check(system) == (True, "contracts: the system declares no edges; nothing to check")


def test_whole_input_edges_compare_the_entire_input() -> None:
    system = AgentSystem(
        name="s",
        agents=(spec("a"), spec("b")),
        default_agent="a",
        edges=(Edge(producer="a", consumer="b"),),
    )

    [report] = check_system(system)

    assert (report.producer_model, report.consumer_model) == ("TextOutput", "TextInput")
    assert [(m.path, m.problem) for m in report.mismatches] == [("text", "missing field")]


def test_public_api_is_pinned() -> None:
    assert set(agents.contracts.__all__) == {
        "ContractViolation",
        "Edge",
        "EdgeReport",
        "Fill",
        "Mismatch",
        "TextInput",
        "TextOutput",
        "check_edge",
        "check_system",
        "compare_schemas",
        "format_reports",
        "main_check",
        "parse_output",
        "render_output",
        "text_field",
    }
