"""Contract tests: every edge of the reference system holds, one test per edge.

When an agent's output model changes, the test of every edge it produces for fails
with the diff `agentbus contracts check` prints, naming the consumer and the field.
"""

from __future__ import annotations

import pytest

from agents import AgentSpec, fintech_system
from agents.contracts import (
    Edge,
    check_edge,
    format_reports,
    main_check,
    parse_output,
    render_output,
)

SYSTEM = fintech_system()
SEEDS = (
    "Here is what I found regarding “a $87.40 payment to Uber”. Two entries stand out.",
    "Understood: you asked about “the quarterly report for Q3”.",
    "",
)


@pytest.mark.parametrize("edge", SYSTEM.edges, ids=lambda e: f"{e.producer}->{e.consumer}")
def test_edge_holds(edge: Edge) -> None:
    report = check_edge(SYSTEM, edge)

    assert report.ok, format_reports([report])
    assert report.examples > 0


@pytest.mark.parametrize("agent", SYSTEM.agents, ids=lambda a: a.name)
def test_agent_output_can_be_produced_within_its_contract(agent: AgentSpec) -> None:
    # What the simulated provider relies on to answer every agent in valid output.
    for seed in SEEDS:
        for fill in ("seeded", "full", "minimal"):
            document = render_output(agent.output_model, seed, fill=fill)

            assert isinstance(parse_output(agent.output_model, document), agent.output_model)
            assert render_output(agent.output_model, seed, fill=fill) == document


def test_reference_system_passes_the_cli_check() -> None:
    ok, text = main_check(SYSTEM)

    assert ok, text
    assert "all hold" in text
