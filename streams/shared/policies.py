"""Runtime policies every replica obeys within a second, from the compacted ``policies`` topic.

Today: chaos (injected model faults per agent), published by ``agentbus chaos``.
``PolicyBoard`` is the edge: ``PolicyFollower`` shares policies over Kafka,
``LocalPolicyBoard`` is the in-process double with the same promises.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from agents.providers.faults import FaultTarget
from agents.providers.sim import SimFaults
from streams.codec import AvroCodec
from streams.events import envelope, new_trace_id
from streams.settings import Settings
from streams.shared.topic_view import TopicView

__all__ = ["LocalPolicyBoard", "PolicyBoard", "PolicyFollower", "chaos_policy"]

log = logging.getLogger("agentbus.policies")


def chaos_policy(
    target: str,
    *,
    error_rate: float = 0.0,
    timeout_rate: float = 0.0,
    malformed_rate: float = 0.0,
    latency_ms: float | None = None,
    clear: bool = False,
    producer: str = "cli",
) -> dict[str, Any]:
    """The ``Policy`` event that sets (or, with ``clear``, removes) faults for ``target``."""
    params = {
        "error_rate": str(error_rate),
        "timeout_rate": str(timeout_rate),
        "malformed_rate": str(malformed_rate),
    }
    if latency_ms is not None:
        params["latency_ms"] = str(latency_ms)
    what = "cleared" if clear else ", ".join(f"{k}={v}" for k, v in params.items())
    return {
        **envelope(producer=producer, trace_id=new_trace_id(), parent_span_id=None),
        "kind": "chaos",
        "target": target,
        "active": not clear,
        "params": {} if clear else params,
        "reason": f"chaos for {target}: {what}",
    }


@runtime_checkable
class PolicyBoard(Protocol):
    """Where runtime policies are published and obeyed.

    Promises: once ``publish`` returns, this process obeys the policy (its sim
    provider has the faults) and ``current`` returns it; every replica sharing the
    board does the same soon after. A policy replaces the earlier one of the same
    ``(kind, target)``; an inactive one (a clear) removes it.
    """

    def current(self, kind: str, target: str) -> Mapping[str, Any] | None:
        """The ``Policy`` event in force for ``(kind, target)``, or None."""
        ...

    async def publish(self, policy: Mapping[str, Any]) -> None:
        """Put ``policy`` (a ``Policy`` event, see ``chaos_policy``) in force everywhere."""
        ...


class _Policies:
    """The policies in force and their effect on one sim provider (shared by both boards)."""

    def __init__(self, provider: FaultTarget) -> None:
        self._provider = provider
        self._in_force: dict[tuple[str, str], dict[str, Any]] = {}

    def current(self, kind: str, target: str) -> Mapping[str, Any] | None:
        return self._in_force.get((kind, target))

    def apply(self, value: Mapping[str, Any]) -> None:
        kind, target = value["kind"], value["target"]
        if not value["active"]:
            self._in_force.pop((kind, target), None)
        else:
            self._in_force[(kind, target)] = dict(value)
        if kind != "chaos":
            return
        if not value["active"]:
            self._provider.clear_faults(target)
            log.warning("chaos cleared for %s", target)
            return
        params = value["params"]
        faults = SimFaults(
            error_rate=float(params.get("error_rate", 0)),
            timeout_rate=float(params.get("timeout_rate", 0)),
            malformed_rate=float(params.get("malformed_rate", 0)),
            extra_latency_ms=float(params.get("latency_ms", 0)),
        )
        self._provider.set_faults(target, faults)
        log.warning("chaos applied: %s", value["reason"])


class LocalPolicyBoard:
    """A ``PolicyBoard`` within one process: ``publish`` applies at once."""

    def __init__(self, provider: FaultTarget) -> None:
        self._policies = _Policies(provider)

    def current(self, kind: str, target: str) -> Mapping[str, Any] | None:
        return self._policies.current(kind, target)

    async def publish(self, policy: Mapping[str, Any]) -> None:
        self._policies.apply(policy)


class PolicyFollower:
    """A ``PolicyBoard`` over Kafka: applies policies to this process's sim provider as
    they arrive; ``start()`` before use, ``stop()`` after."""

    def __init__(
        self, settings: Settings, codec: AvroCodec, topic: str, provider: FaultTarget
    ) -> None:
        self._policies = _Policies(provider)
        self._view = TopicView(settings, codec, topic, self._apply)
        self.topic = topic

    async def start(self) -> None:
        await self._view.start()

    async def stop(self) -> None:
        await self._view.stop()

    async def sync(self) -> None:
        """Return once every policy acknowledged on the topic so far is in force here."""
        await self._view.sync()

    def current(self, kind: str, target: str) -> Mapping[str, Any] | None:
        return self._policies.current(kind, target)

    async def publish(self, policy: Mapping[str, Any]) -> None:
        await self._view.send(
            f"{policy['kind']}:{policy['target']}", "Policy", dict(policy), wait_applied=True
        )

    def _apply(self, record: str, value: dict[str, Any], offset: int) -> None:
        if record == "Policy":
            self._policies.apply(value)
