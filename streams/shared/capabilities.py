"""The mesh capability registry: who answers what, on the compacted ``capabilities`` topic.

Each mesh member's capabilities are advertised (agent, capability, version) when an
orchestrator starts; a record with ``active: false`` withdraws one. Every orchestrator
follows the topic, so a capability withdrawn or added by anyone is seen by all.
"""

from __future__ import annotations

import logging
from typing import Any

from agents.flows import Mesh
from streams.events import envelope, new_trace_id
from streams.shared.topic_view import TopicView

__all__ = ["CapabilityRegistry", "capability_key"]

log = logging.getLogger("agentbus.mesh")


def capability_key(mesh: str, capability: str, agent: str) -> str:
    return f"{mesh}/{capability}/{agent}"


class CapabilityRegistry:
    """The latest advertisement per (mesh, capability, agent), followed live."""

    def __init__(self, runtime: Any, meshes: list[Mesh], *, producer: str) -> None:
        self._runtime = runtime
        self._meshes = meshes
        self._producer = producer
        self.entries: dict[str, dict[str, Any]] = {}
        self._view = TopicView(
            runtime.settings, runtime.codec, runtime.topics.capabilities, self._apply
        )
        self._started = False

    async def start(self) -> None:
        """Catch up with the topic, then advertise every declared member whose
        advertisement is missing or names another version."""
        if not self._meshes or self._started:
            return
        self._started = True
        await self._view.start()
        system = self._runtime.system
        for mesh in self._meshes:
            for member in mesh.members:
                version = system.get(member.agent).version
                for capability in member.capabilities:
                    key = capability_key(mesh.name, capability, member.agent)
                    current = self.entries.get(key)
                    if current is not None and current["version"] == version:
                        continue
                    record = {
                        **envelope(
                            producer=self._producer, trace_id=new_trace_id(), parent_span_id=None
                        ),
                        "mesh": mesh.name,
                        "agent": member.agent,
                        "capability": capability,
                        "version": version,
                        "description": system.get(member.agent).description,
                        "active": True,
                    }
                    await self._view.send(key, "Capability", record, wait_applied=True)
                    log.info("advertised %s v%s in mesh %s", key, version, mesh.name)

    async def stop(self) -> None:
        await self._view.stop()

    def resolve(self, mesh: Mesh, capability: str) -> str | None:
        """The agent to ask: declared members first (in order), then any other agent of
        the system advertising it; never one whose advertisement is withdrawn."""
        system = self._runtime.system
        for agent in mesh.providers_of(capability):
            entry = self.entries.get(capability_key(mesh.name, capability, agent))
            if entry is None or entry["active"]:
                return agent
        for entry in self.entries.values():
            if (
                entry["mesh"] == mesh.name
                and entry["capability"] == capability
                and entry["active"]
                and entry["agent"] in system
            ):
                return str(entry["agent"])
        return None

    def _apply(self, record: str, value: dict[str, Any], offset: int) -> None:
        if record == "Capability":
            key = capability_key(value["mesh"], value["capability"], value["agent"])
            self.entries[key] = value
