"""The fintech reference system without its edges: for tests of one agent's invocation
path (cache, breakers) whose every answer must come from that agent."""

from __future__ import annotations

from agents.reference import fintech_system
from agents.system import AgentSystem

__all__ = ["system"]

_fintech = fintech_system()
system = AgentSystem(
    **{name: getattr(_fintech, name) for name in AgentSystem.model_fields}
    | {"name": "fintech-no-edges", "edges": ()}
)
