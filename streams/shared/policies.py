"""Runtime policies every replica obeys within a second, from the compacted ``policies`` topic.

Today: chaos (injected model faults per agent), published by ``agentbus chaos``.
"""

from __future__ import annotations

import logging
from typing import Any

from agents.providers.sim import SimFaults, SimProvider
from streams.codec import AvroCodec
from streams.events import envelope, new_trace_id
from streams.settings import Settings
from streams.shared.topic_view import TopicView

__all__ = ["PolicyFollower", "chaos_policy"]

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


class PolicyFollower:
    """Applies chaos policies to this process's sim provider as they arrive."""

    def __init__(
        self, settings: Settings, codec: AvroCodec, topic: str, provider: SimProvider
    ) -> None:
        self._provider = provider
        self._view = TopicView(settings, codec, topic, self._apply)
        self.topic = topic

    async def start(self) -> None:
        await self._view.start()

    async def stop(self) -> None:
        await self._view.stop()

    async def publish(self, policy: dict[str, Any]) -> None:
        await self._view.send(
            f"{policy['kind']}:{policy['target']}", "Policy", policy, wait_applied=True
        )

    def _apply(self, record: str, value: dict[str, Any], offset: int) -> None:
        if record != "Policy" or value["kind"] != "chaos":
            return
        target = value["target"]
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
