"""What an agent is and how one invocation of it runs, with no Kafka involved.

An `AgentSpec` names a model, prompt, tier and limits; an `AgentSystem` groups specs
with a default agent; `KeywordClassifier` routes a request to one of them; `invoke`
runs a spec through a `ModelProvider` (the seeded `SimProvider` here) and returns an
`InvocationOutcome` with one `AttemptRecord` per model attempt. Agents call tools:
Python functions declared with `@tool` and tools of `McpServer`s, listed on the
`AgentSystem` and run through a `Toolbox`.
"""

from agents.errors import (
    AgentError,
    ConfigError,
    ContractBreach,
    MalformedOutput,
    ModelTimeout,
    ModelUnavailable,
    ProviderError,
    UnknownAgent,
)
from agents.invocation import (
    AttemptOutcome,
    AttemptRecord,
    InvocationContext,
    InvocationOutcome,
    InvocationStatus,
    invoke,
)
from agents.pricing import ModelPrice, cost_usd, is_priced, price_of
from agents.providers import (
    ModelProvider,
    ModelRequest,
    ModelResponse,
    SimConfig,
    SimFaults,
    SimPlan,
    SimProvider,
)
from agents.reference import REFERENCE_TENANTS, fintech_system, reference_workload
from agents.retry import RetryPolicy
from agents.routing import KeywordClassifier, RoutingDecision, RoutingMethod
from agents.spec import AgentLimits, AgentSpec, Tier
from agents.system import AgentSystem
from agents.tokens import estimate_tokens
from agents.tools import (
    IdempotencyLedger,
    InMemoryLedger,
    McpServer,
    SqliteLedger,
    Tool,
    Toolbox,
    ToolContext,
    ToolError,
    ToolRun,
    once,
    tool,
)

__all__ = [
    "REFERENCE_TENANTS",
    "AgentError",
    "AgentLimits",
    "AgentSpec",
    "AgentSystem",
    "AttemptOutcome",
    "AttemptRecord",
    "ConfigError",
    "ContractBreach",
    "IdempotencyLedger",
    "InMemoryLedger",
    "InvocationContext",
    "InvocationOutcome",
    "InvocationStatus",
    "KeywordClassifier",
    "MalformedOutput",
    "McpServer",
    "ModelPrice",
    "ModelProvider",
    "ModelRequest",
    "ModelResponse",
    "ModelTimeout",
    "ModelUnavailable",
    "ProviderError",
    "RetryPolicy",
    "RoutingDecision",
    "RoutingMethod",
    "SimConfig",
    "SimFaults",
    "SimPlan",
    "SimProvider",
    "SqliteLedger",
    "Tier",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolRun",
    "Toolbox",
    "UnknownAgent",
    "cost_usd",
    "estimate_tokens",
    "fintech_system",
    "invoke",
    "is_priced",
    "once",
    "price_of",
    "reference_workload",
    "tool",
]
