"""The public surface of `agents`, and its independence from Kafka."""

from __future__ import annotations

import subprocess
import sys

import agents

EXPORTS = {
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
}


def test_public_api_is_pinned() -> None:
    assert set(agents.__all__) == EXPORTS
    assert all(hasattr(agents, name) for name in agents.__all__)


def test_every_error_derives_from_the_package_root() -> None:
    for name in ("ProviderError", "ModelTimeout", "ModelUnavailable", "MalformedOutput"):
        assert issubclass(getattr(agents, name), agents.ProviderError)
    for name in ("ProviderError", "UnknownAgent", "ConfigError"):
        assert issubclass(getattr(agents, name), agents.AgentError)


def test_importing_agents_pulls_in_nothing_kafka() -> None:
    code = (
        "import sys, agents, agents.providers\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'streams', 'faust', 'mode', 'aiokafka', 'kafka', 'fastavro', 'clickhouse_connect'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_importing_agents_leaves_the_mcp_sdk_unloaded() -> None:
    # The SDK costs most of a second; systems without MCP servers never need it.
    code = "import sys, agents\nprint('mcp' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
