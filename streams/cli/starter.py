"""What ``agentbus init DIR`` writes: a starter system module and how to run it."""

from __future__ import annotations

STARTER_MODULE = '''"""My agents: a starter system for agentbus. Edit it, then run it:

    agentbus --system myagents:system contracts check
    agentbus --system myagents:system demo

Every agent names the endpoint it calls (`provider`). The `sim` endpoint is a simulated
model that needs no key; uncomment the OpenAI endpoint and point an agent at it to use
a real model (the key is read from the variable you name, never written here).
"""

from __future__ import annotations

from pydantic import BaseModel

from agents import AgentSpec, AgentSystem
from agents.endpoints import SimEndpoint  # and OpenAIEndpoint, AnthropicEndpoint
from agents.spec import AgentLimits


class Answer(BaseModel):
    """What the helpdesk agent promises to return (its output contract)."""

    answer: str
    needs_human: bool


def system() -> AgentSystem:
    helpdesk = AgentSpec(
        name="helpdesk",
        description="Answers questions about orders and deliveries.",
        provider="sim",  # or "openai" once the endpoint below is enabled
        model="sim-small",  # e.g. "gpt-4o-mini" on the OpenAI endpoint
        tier="small",
        prompt="You answer customers of $tenant about their orders. Be brief.",
        keywords=("order", "delivery", "parcel", "refund", "return"),
        # How customers really ask: the router learns from these (`agentbus router train`)
        # and `agentbus demo` sends them.
        examples=(
            "where is my order 1234? it was due yesterday",
            "the parcel says delivered but nothing arrived",
            "can i still change the delivery address for order 5531",
            "i want to send the shoes back, they are too small",
            "how long does a refund take once you got the return?",
        ),
        limits=AgentLimits(max_output_tokens=400, timeout_s=20.0),
        output_model=Answer,
        fallback="general",
        cache_ttl_s=300.0,
    )
    general = AgentSpec(
        name="general",
        description="Answers everything else; stands in when helpdesk is down.",
        provider="sim",
        model="sim-small",
        tier="small",
        prompt="You answer general questions about $tenant briefly.",
        examples=(
            "do you have a shop in Lyon?",
            "what are your opening hours on sunday",
            "is there a student discount",
        ),
    )
    return AgentSystem(
        name="my-agents",
        agents=(helpdesk, general),
        default_agent="general",
        # Beyond the star: pipelines=, workflows= and meshes= (from agents.flows); a
        # request names one as its target agent (`submit --agent order_review`), e.g.
        # workflows=(Workflow(name="order_review", steps=(
        #     Step(name="lookup", agent="helpdesk"),
        #     Step(name="reply", agent="general", depends_on=("lookup",)))),),
        endpoints=(
            SimEndpoint(latency_ms=100.0),
            # OpenAIEndpoint(  # import it from agents.endpoints
            #     name="openai",
            #     base_url="https://api.openai.com/v1",
            #     api_key_env="OPENAI_API_KEY",
            #     max_in_flight=32,
            # ),
        ),
    )
'''

STARTER_README = """# My agents

A starter agentbus system: `myagents.py` declares the agents, the model endpoints they
call and their output contracts. From this folder:

```sh
agentbus --system myagents:system contracts check   # do the contracts hold?
agentbus --system myagents:system demo              # broker, workers, requests, summary
agentbus --system myagents:system run               # run every role here; then, elsewhere:
agentbus --system myagents:system submit --text "Where is my order 1234?"
agentbus trace <request id printed by submit>
```

`AGENTBUS_SYSTEM=myagents:system` works instead of the flag. To call a real model,
enable the OpenAI endpoint in `myagents.py`, set `provider="openai"` and a model on
the agent, and export `OPENAI_API_KEY`; a missing key is reported at start-up.
"""
