"""A mesh: agents that ask each other by capability, with a hop cap and cycle detection."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Mesh", "MeshMember"]


class MeshMember(BaseModel):
    """An agent in a mesh: what it can answer and whom it consults after answering."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str
    capabilities: tuple[str, ...] = Field(min_length=1)
    asks: tuple[str, ...] = ()
    """Capabilities this agent consults with its answer. An output field ``asks`` (a
    list of capability names) adds to them at run time."""


class Mesh(BaseModel):
    """Peers found through a capability registry (the compacted ``capabilities`` topic).

    Every message carries its hop count, its path and a dedup key: a hop past
    ``max_hops``, an ask that would return to an agent already on the path (a cycle)
    and a question already asked in the same request are recorded and not sent.
    The answer merges every hop's output; at ``deadline_s`` it is ``partial``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    members: tuple[MeshMember, ...] = Field(min_length=1)
    entry: str
    """Capability a request to this mesh asks first."""
    max_hops: int = Field(default=5, ge=1)
    deadline_s: float | None = Field(default=None, gt=0)
    description: str = ""
    examples: tuple[str, ...] = ()

    def providers_of(self, capability: str) -> list[str]:
        """Declared agents offering ``capability``, in declaration order."""
        return [m.agent for m in self.members if capability in m.capabilities]

    def member(self, agent: str) -> MeshMember | None:
        return next((m for m in self.members if m.agent == agent), None)
