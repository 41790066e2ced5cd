"""Model providers: the `ModelProvider` protocol and its implementations."""

from agents.providers.base import ModelProvider, ModelRequest, ModelResponse
from agents.providers.sim import SimConfig, SimFaults, SimPlan, SimProvider

__all__ = [
    "ModelProvider",
    "ModelRequest",
    "ModelResponse",
    "SimConfig",
    "SimFaults",
    "SimPlan",
    "SimProvider",
]
