"""The fintech reference system and its workload; system and spec validation."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from agents import (
    REFERENCE_TENANTS,
    AgentSpec,
    AgentSystem,
    ConfigError,
    KeywordClassifier,
    UnknownAgent,
    fintech_system,
    is_priced,
    reference_workload,
)
from agents.contracts.render import render_output
from agents.flows import handoff
from agents.reference import REFERENCE_FLOWS, reference_flow_workload

AVRO = Path(__file__).resolve().parents[2] / "avro"


def spec(name: str, **changes: object) -> AgentSpec:
    fields: dict[str, object] = {
        "name": name,
        "description": f"the {name} agent",
        "model": "sim-small",
        "prompt": "You are $agent for $tenant.",
        "tier": "small",
    }
    fields.update(changes)
    return AgentSpec.model_validate(fields)


STAR = ("support", "transactions", "reports", "general")


def test_reference_system_has_the_specialists_and_a_general_fallback() -> None:
    system = fintech_system()

    assert system.names[:4] == STAR
    assert system.default_agent == "general"
    assert system.default.name == "general"
    assert {system.get(n).tier for n in system.names} == {"small", "standard", "frontier"}
    for name in ("support", "transactions", "reports"):
        assert system.get(name).fallback == "general"
        assert system.get(name).keywords
        assert system.get(name).tools


def test_reference_keywords_cover_the_domain_vocabulary() -> None:
    system = fintech_system()

    assert {"refund", "card", "password", "login", "account", "fee", "dispute"} <= set(
        system.get("support").keywords
    )
    assert {"transaction", "payment", "charge", "transfer", "amount", "merchant", "fraud"} <= set(
        system.get("transactions").keywords
    )
    assert {"report", "summary", "monthly", "quarterly", "statement", "revenue", "export"} <= set(
        system.get("reports").keywords
    )


def test_reference_models_are_priced_and_prompts_render() -> None:
    system = fintech_system()
    for agent in system.agents:
        assert is_priced(agent.model), agent.model
        prompt = agent.render_prompt(tenant="northwind-pay")
        assert "northwind-pay" in prompt
        assert "$" not in prompt


def test_system_lookup_and_unknown_agent() -> None:
    system = fintech_system()

    assert "reports" in system
    assert "billing" not in system
    assert system.specs["reports"] is system.get("reports")
    with pytest.raises(
        UnknownAgent, match="known agents: support, transactions, reports, general, "
    ):
        system.get("billing")


def test_reference_system_runs_every_topology() -> None:
    system = fintech_system()
    pipeline = next(p for p in system.pipelines if p.name == "transaction_analysis")
    workflow = next(w for w in system.workflows if w.name == "monthly_report")
    mesh = next(m for m in system.meshes if m.name == "fraud_investigation")

    assert set(system.flows) == set(REFERENCE_FLOWS)
    assert [s.step for s in pipeline.stages] == ["extract", "normalise", "analyse", "summarise"]
    assert {stage.overflow for stage in pipeline.stages} >= {"block", "drop_newest"}
    deps = {step.name: set(step.depends_on) for step in workflow.steps}
    assert deps == {
        "fetch_ledger": set(),
        "categorise": {"fetch_ledger"},
        "check_anomalies": {"fetch_ledger"},
        "chart": {"categorise", "check_anomalies"},
        "summarise": {"chart"},
    }
    assert workflow.step("chart").compensation == "documents"
    assert workflow.deadline_s and workflow.priority
    assert {m.agent for m in mesh.members} == {"fraud", "compliance", "customer_history"}
    assert mesh.max_hops == 5
    assert all(flow.examples for flow in system.flows.values())
    assert system.edges[0].when == "escalate"


def test_flow_only_agents_never_take_star_traffic() -> None:
    system = fintech_system()
    flow_only = [name for name in system.names if name not in STAR]
    used = {stage.agent for p in system.pipelines for stage in p.stages}
    used |= {s.agent for w in system.workflows for s in w.steps}
    used |= {s.compensation for w in system.workflows for s in w.steps if s.compensation}
    used |= {m.agent for mesh in system.meshes for m in mesh.members}

    assert set(flow_only) <= used
    for name in flow_only:
        agent = system.get(name)
        assert not agent.keywords and not agent.examples and not agent.route_overrides, name
    router = KeywordClassifier(system)
    assert all(router.classify(r["input"]).agent in STAR for r in reference_workload(300, seed=2))


@pytest.mark.parametrize(
    ("producer", "consumer"),
    [("extractor", "normaliser"), ("normaliser", "analyst"), ("analyst", "summariser")],
)
def test_pipeline_handoffs_fit_the_next_stage(producer: str, consumer: str) -> None:
    """What the sim renders for a stage validates as the next stage's input model."""
    system = fintech_system()
    for seed in ("a pasted statement", "03/03 TESCO -42.17. 04/03 AMZN -12.99", "help"):
        output = render_output(system.get(producer).output_model, seed)
        handed = handoff(output, system.get(consumer).input_model, agent=producer)
        system.get(consumer).input_model.model_validate_json(handed)


def test_flow_workload_names_each_flow_with_its_examples() -> None:
    system = fintech_system()
    workload = reference_flow_workload(4, seed=1)

    assert [r["target_agent"] for r in workload[:3]] == list(REFERENCE_FLOWS)
    assert len(workload) == 12
    assert all(r["input"] in system.flows[r["target_agent"]].examples for r in workload)
    assert workload == reference_flow_workload(4, seed=1)


def test_system_is_immutable() -> None:
    system = fintech_system()

    with pytest.raises(ValidationError):
        system.default_agent = "support"
    with pytest.raises(TypeError):
        system.specs["x"] = system.get("support")  # type: ignore[index]


@pytest.mark.parametrize(
    ("agents", "default", "complaint"),
    [
        ((spec("a"), spec("a")), "a", "defines agent 'a' twice"),
        ((spec("a"),), "b", "default_agent 'b' is not one of its agents"),
        ((spec("a", fallback="z"),), "a", "falls back to unknown agent 'z'"),
        ((spec("a", fallback="b"), spec("b", fallback="a")), "a", "fallback loop a → b → a"),
    ],
)
def test_inconsistent_systems_are_rejected(
    agents: tuple[AgentSpec, ...], default: str, complaint: str
) -> None:
    with pytest.raises(ConfigError, match=complaint):
        AgentSystem(name="bad", agents=agents, default_agent=default)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Support Team"},  # names become topic suffixes
        {"keywords": ("reset password",)},
        {"prompt": "Hello $customer"},
        {"prompt": "costs $5"},
        {"fallback": "a"},
        {"temperature": 3.0},
        {"tier": "huge"},
        {"limits": {"max_attempts": 0}},
    ],
)
def test_invalid_specs_are_rejected(changes: dict[str, object]) -> None:
    fields = {"name": "a", **changes}
    with pytest.raises(ValidationError):
        spec(**fields)  # type: ignore[arg-type]


def test_keywords_are_normalised() -> None:
    assert spec("a", keywords=(" Refund", "refund", "CARD")).keywords == ("refund", "card")


def test_workload_is_deterministic_per_seed() -> None:
    assert reference_workload(300, seed=1) == reference_workload(300, seed=1)
    assert reference_workload(300, seed=1) != reference_workload(300, seed=2)
    assert reference_workload(0, seed=1) == []
    with pytest.raises(ValueError, match="n must be >= 0"):
        reference_workload(-1, seed=1)


def test_workload_requests_are_agent_requests() -> None:
    schema = json.loads((AVRO / "AgentRequest.avsc").read_text())
    request_fields = {field["name"] for field in schema["fields"]}
    workload = reference_workload(500, seed=3)

    for request in workload:
        assert set(request) <= request_fields
        assert uuid.UUID(request["request_id"]).version == 4
        assert request["tenant"] in REFERENCE_TENANTS
        assert all(isinstance(v, str) for v in request["metadata"].values())
    assert len({r["request_id"] for r in workload}) == len(workload)


def test_workload_is_varied() -> None:
    workload = reference_workload(2000, seed=4)
    expected = [r["metadata"]["expected_agent"] for r in workload]
    targeted = [r for r in workload if r["target_agent"] is not None]

    assert len({r["input"] for r in workload}) > 400
    assert {r["tenant"] for r in workload} == set(REFERENCE_TENANTS)
    assert set(expected) == {"support", "transactions", "reports", "general"}
    assert 0.03 <= expected.count("general") / len(workload) <= 0.07
    assert 0.02 <= len(targeted) / len(workload) <= 0.10
    assert all(r["target_agent"] == r["metadata"]["expected_agent"] for r in targeted)
    assert all(r["metadata"]["channel"] == "api" for r in targeted)


def test_unmatched_workload_requests_match_no_keyword() -> None:
    router = KeywordClassifier(fintech_system())
    unmatched = [
        r for r in reference_workload(2000, seed=9) if r["metadata"]["expected_agent"] == "general"
    ]

    assert unmatched
    assert all(sum(router.classify(r["input"]).scores.values()) == 0 for r in unmatched)
