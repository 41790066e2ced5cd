"""The claims system: triage on an OpenAI-compatible model, assessment on Anthropic, a
general helper on the simulated model; the assessor books adjusters through a tool with
a side effect (examples/claims/tools.py), exactly once per claim.

Run it:

    OPENAI_API_KEY=... ANTHROPIC_API_KEY=... agentbus run --system examples.claims.system:system

`CLAIMS_OPENAI_URL` and `CLAIMS_ANTHROPIC_URL` point the endpoints elsewhere (a vLLM or
a gateway, or the recorded responses the tests replay).
"""

from __future__ import annotations

import os

from agents import AgentSpec, AgentSystem
from agents.contracts.edge import Edge
from agents.endpoints import AnthropicEndpoint, OpenAIEndpoint, SimEndpoint
from agents.spec import AgentLimits
from examples.claims.contracts import Assessment, AssessmentInput, Triage
from examples.claims.tools import book_adjuster, lookup_policy

__all__ = ["build_system", "system"]


def build_system() -> AgentSystem:
    """The claims system, with endpoint URLs from the environment (user code may read it)."""
    openai = OpenAIEndpoint(
        name="openai",
        base_url=os.environ.get("CLAIMS_OPENAI_URL", "https://api.openai.com/v1"),
        api_key_env="OPENAI_API_KEY",
        max_in_flight=32,
        timeout_s=30.0,
    )
    anthropic = AnthropicEndpoint(
        name="anthropic",
        base_url=os.environ.get("CLAIMS_ANTHROPIC_URL", "https://api.anthropic.com"),
        api_key_env="ANTHROPIC_API_KEY",
        max_in_flight=16,
        timeout_s=60.0,
    )
    intake = AgentSpec(
        name="intake",
        description="Reads a first notice of loss and triages it.",
        provider="openai",
        model="gpt-4o-mini",
        tier="small",
        prompt=(
            "You triage insurance claims for $tenant. Read the customer's first notice of "
            "loss and answer with JSON: kind, a one-sentence summary, whether it is urgent, "
            "and the amount if the customer gave one."
        ),
        keywords=("claim", "accident", "damage", "stolen", "flood", "crash", "lost", "injury"),
        limits=AgentLimits(max_output_tokens=300, timeout_s=20.0),
        output_model=Triage,
        tools=("lookup_policy",),
        examples=(
            "someone backed into my car in the supermarket car park, policy POL-1001",
            "our kitchen flooded last night, the floor is ruined",
            "my suitcase never arrived in Lisbon",
        ),
        fallback="helper",
    )
    assessor = AgentSpec(
        name="assessor",
        description="Decides on a claim and books an adjuster visit when one is needed.",
        provider="anthropic",
        model="claude-3-5-haiku-latest",
        tier="standard",
        prompt=(
            "You assess insurance claims for $tenant against the policy terms. Decide "
            "approve, refer or reject, give the reason and the payout in EUR."
        ),
        keywords=("assess", "payout", "decision", "approve", "policy", "covered", "settle"),
        limits=AgentLimits(max_output_tokens=600, timeout_s=40.0),
        input_model=AssessmentInput,
        output_model=Assessment,
        tools=("lookup_policy", "book_adjuster"),
        examples=(
            "please assess claim CL-2291, repair quote 1,850 EUR",
            "is the water damage on claim CL-3310 covered?",
        ),
        fallback="helper",
    )
    helper = AgentSpec(
        name="helper",
        description="Answers general questions about policies and the claims process.",
        provider="sim",
        model="sim-small",
        tier="small",
        prompt="You answer general questions about $tenant's insurance products briefly.",
        examples=("what does travel cover include?", "how do I add my partner to my policy?"),
    )
    return AgentSystem(
        name="claims",
        agents=(intake, assessor, helper),
        default_agent="helper",
        endpoints=(openai, anthropic, SimEndpoint(latency_ms=50.0)),
        tools=(lookup_policy, book_adjuster),
        edges=(
            Edge(
                producer="intake",
                consumer="assessor",
                into="triage",
                description="triaged claims go to the assessor",
            ),
        ),
    )


system = build_system
"""What `--system examples.claims.system:system` loads (a factory: env read at load)."""
