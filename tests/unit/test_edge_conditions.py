"""`Edge.when`: which edges run, checked when the system is built."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from agents.contracts import main_check
from agents.contracts.edge import Edge
from agents.contracts.fintech import TransactionQuery
from agents.errors import ConfigError
from agents.reference import fintech_system
from agents.spec import AgentSpec
from agents.system import AgentSystem


class Verdict(BaseModel):
    answer: str
    escalate: bool
    score: float


class NeedsTwo(BaseModel):
    text: str
    account: str
    case: Verdict | None = None


def spec(name: str, **changes: object) -> AgentSpec:
    fields = {"name": name, "description": "", "model": "m", "prompt": "p", "tier": "small"}
    return AgentSpec.model_validate({**fields, **changes})


def system(edge: Edge, consumer_input: type[BaseModel] = TransactionQuery) -> AgentSystem:
    agents = (spec("a", output_model=Verdict), spec("b", input_model=consumer_input))
    return AgentSystem(name="s", agents=agents, default_agent="a", edges=(edge,))


def escalates(answer: Verdict) -> bool:
    return answer.score > 0.5


def test_an_edge_without_when_is_a_contract_that_never_runs() -> None:
    edge = Edge(producer="a", consumer="b", into="escalation")

    assert not edge.runs
    assert not edge.holds(Verdict(answer="x", escalate=True, score=1.0))


def test_a_when_field_holds_when_the_output_sets_it() -> None:
    edge = system(Edge(producer="a", consumer="b", into="escalation", when="escalate")).edges[0]

    assert edge.holds(Verdict(answer="x", escalate=True, score=0.0))
    assert not edge.holds(Verdict(answer="x", escalate=False, score=1.0))
    assert edge.condition == "escalate is true"


def test_a_callable_when_decides_on_the_parsed_output() -> None:
    edge = system(Edge(producer="a", consumer="b", into="escalation", when=escalates)).edges[0]

    assert edge.holds(Verdict(answer="x", escalate=False, score=0.9))
    assert not edge.holds(Verdict(answer="x", escalate=True, score=0.1))
    assert edge.condition == f"{__name__}.escalates holds"


@pytest.mark.parametrize(
    ("when", "complaint"),
    [
        ("urgent", "runs when 'urgent', which is not a field of Verdict"),
        ("score", "runs when 'score', which is a float field of Verdict"),
    ],
)
def test_a_when_that_names_no_bool_field_is_rejected(when: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        system(Edge(producer="a", consumer="b", into="escalation", when=when))


def test_a_running_edge_whose_consumer_needs_more_than_the_text_is_rejected() -> None:
    edge = Edge(producer="a", consumer="b", into="case", when="escalate")

    with pytest.raises(ConfigError, match="cannot build NeedsTwo: besides 'case' it requires"):
        system(edge, NeedsTwo)
    # Without `when` it stays a contract: nothing has to build the input.
    system(edge.model_copy(update={"when": None}), NeedsTwo)


def test_edges_with_a_callable_still_dump_hash_and_check() -> None:
    fintech = fintech_system()
    edge = Edge(producer="support", consumer="transactions", into="escalation", when=escalates)
    fields = {name: getattr(fintech, name) for name in AgentSystem.model_fields}
    with_callable = AgentSystem(**{**fields, "edges": (edge,)})

    assert json.loads(edge.model_dump_json())["when"] == f"{__name__}.escalates"
    assert edge.model_dump()["when"] == f"{__name__}.escalates"
    assert hash(edge) == hash(edge.model_copy())
    ok, report = main_check(with_callable)
    assert ok, report
    assert "support → transactions: SupportAnswer → TransactionQuery.escalation" in report
