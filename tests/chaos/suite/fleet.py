"""Worker processes of a chaos run: spread roles, SIGKILL and restart them, watch RSS.

A :class:`Fleet` plays the part of a process supervisor (systemd, Kubernetes):
a worker we kill is started again at once, and a worker that exits on its own
is started again too, but its exit is recorded with its last log line, because
a role that gives up is a finding.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psutil

from streams.broker.groups import describe_group
from streams.roles.registry import all_roles, group_id
from streams.roles.runtime import Runtime
from streams.settings import Settings
from streams.supervise import WorkerProcess, spawn_worker
from streams.warehouse.gateway import find_gateway

__all__ = ["DEFAULT_LAYOUT", "Exit", "Fleet", "Slot", "layout_for"]

# One sink (it owns the store), one router, two processes of two specialists each.
# `layout_for` places the roles a system adds beyond these (the orchestrator, the
# specialists only its flows use).
DEFAULT_LAYOUT: dict[str, list[str]] = {
    "sink": ["sink"],
    "router": ["router"],
    "specialists-a": ["specialist:support", "specialist:transactions"],
    "specialists-b": ["specialist:reports", "specialist:general"],
}


def layout_for(runtime: Runtime) -> dict[str, list[str]]:
    """``DEFAULT_LAYOUT`` with every other role of the system placed: the orchestrator
    beside the router (which hands it the flow requests), other specialists spread over
    the specialist processes in turn. Roles the system lacks are left out."""
    roles = all_roles(runtime)
    layout = {slot: [r for r in placed if r in roles] for slot, placed in DEFAULT_LAYOUT.items()}
    placed = {role for slot in layout.values() for role in slot}
    spread = ["specialists-a", "specialists-b"]
    for role in (r for r in roles if r not in placed):
        if role.startswith("specialist:"):
            slot = min(spread, key=lambda name: len(layout[name]))
        else:
            slot = "router"
        layout[slot].append(role)
    return {slot: placed for slot, placed in layout.items() if placed}


@dataclass(frozen=True)
class Exit:
    """A worker that exited without being killed by us."""

    slot: str
    generation: int
    returncode: int | None
    last_line: str
    log_file: str


@dataclass
class Slot:
    """One place in the layout and the current process filling it."""

    name: str
    roles: list[str]
    worker: WorkerProcess
    generation: int = 1
    kills: int = 0
    started_at: float = field(default_factory=time.monotonic)
    peak_rss: int = 0
    rss: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, bytes) samples


def _rss(pid: int) -> int:
    try:
        process = psutil.Process(pid)
        total = int(process.memory_info().rss)
        for child in process.children(recursive=True):
            total += int(child.memory_info().rss)
    except psutil.Error:
        return 0
    return total


def _last_line(worker: WorkerProcess) -> str:
    lines = [line for line in worker.log_tail(40).splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return (errors or lines or ["(empty log)"])[-1][:400]


class Fleet:
    """The worker processes of one deployment, by slot name."""

    def __init__(
        self, settings: Settings, runtime: Runtime, layout: dict[str, list[str]] | None = None
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.layout = layout or layout_for(runtime)
        self.slots: dict[str, Slot] = {}
        self.exits: list[Exit] = []
        self._lock = asyncio.Lock()

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Spawn every slot's first process (the sink first: nothing waits on it)."""
        for name, roles in self.layout.items():
            self.slots[name] = Slot(name, roles, self._spawn(name, roles, 1))

    def _spawn(self, name: str, roles: Sequence[str], generation: int) -> WorkerProcess:
        return spawn_worker(self.settings, roles, log_name=f"{name}-{generation}")

    def stop(self) -> None:
        for slot in self.slots.values():
            slot.worker.stop()

    async def kill(self, name: str) -> None:
        """SIGKILL the slot's process and start its next generation right away."""
        async with self._lock:
            slot = self.slots[name]
            await asyncio.to_thread(slot.worker.kill)
            slot.kills += 1
            self._respawn(slot)

    def _respawn(self, slot: Slot) -> None:
        slot.generation += 1
        slot.worker = self._spawn(slot.name, slot.roles, slot.generation)
        slot.started_at = time.monotonic()

    async def supervise_once(self) -> None:
        """Restart any process that exited on its own; record why it went."""
        async with self._lock:
            for slot in self.slots.values():
                if not slot.worker.alive():
                    self.exits.append(
                        Exit(
                            slot.name,
                            slot.generation,
                            slot.worker.process.returncode,
                            _last_line(slot.worker),
                            str(slot.worker.log_file),
                        )
                    )
                    self._respawn(slot)

    def sample_rss(self) -> dict[str, int]:
        now = time.monotonic()
        sample = {}
        for slot in self.slots.values():
            rss = _rss(slot.worker.pid)
            if rss:
                slot.rss.append((now, rss))
                slot.peak_rss = max(slot.peak_rss, rss)
            sample[slot.name] = rss
        return sample

    # -- readiness ------------------------------------------------------------------

    def groups(self) -> dict[str, str]:
        """Consumer group of every role the fleet runs."""
        # An empty role list is ``agentbus run``: every role.
        layout = self.layout.values()
        every = [role for roles in layout for role in roles or all_roles(self.runtime)]
        return {role: group_id(self.runtime, role) for role in every}

    async def wait_ready(self, timeout: float = 180.0) -> None:
        """Until the sink serves its gateway and every role's group is Stable with a member."""
        deadline = time.monotonic() + timeout
        pending = dict(self.groups())
        while time.monotonic() < deadline:
            await self.supervise_once()
            for role, group in list(pending.items()):
                try:
                    info = await describe_group(self.settings.kafka_bootstrap, group)
                except Exception:  # noqa: BLE001  # the broker may still be coming up: ask again
                    continue
                if info.state == "Stable" and info.members >= 1:
                    del pending[role]
            if not pending and find_gateway(self.settings.data_dir) is not None:
                return
            await asyncio.sleep(0.5)
        tails = "\n".join(f"--- {s.name} ---\n{s.worker.log_tail(10)}" for s in self.slots.values())
        raise TimeoutError(f"roles not ready after {timeout:.0f}s: {sorted(pending)}\n{tails}")

    def log_files(self) -> list[str]:
        logs = self.settings.data_dir / "logs"
        return sorted(str(p) for p in logs.glob("*.log"))
