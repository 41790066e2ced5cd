"""The shared state of one worker process, started once however many roles use it."""

from __future__ import annotations

import asyncio

from agents.providers.faults import FaultTarget
from agents.tools import Toolbox
from streams.codec import AvroCodec
from streams.settings import Settings
from streams.shared.breakers import KafkaBreakerBoard
from streams.shared.cache import KafkaCacheStore
from streams.shared.policies import PolicyFollower
from streams.topics import Topics

__all__ = ["SharedState"]


class SharedState:
    """Breaker board, result cache, policy follower and tools of this process.

    ``start()`` is idempotent and safe to call from every specialist at once; it
    returns when all three views have caught up with their topics. The toolbox opens
    its MCP connections on first use; ``stop()`` closes them.
    """

    def __init__(
        self,
        settings: Settings,
        codec: AvroCodec,
        topics: Topics,
        faults: FaultTarget,
        role: str,
        toolbox: Toolbox | None = None,
    ) -> None:
        self.toolbox = toolbox if toolbox is not None else Toolbox()
        self.breakers = KafkaBreakerBoard(settings, codec, topics.breakers, role=role)
        self.cache = KafkaCacheStore(settings, codec, topics.cache, role=role)
        self.policies = PolicyFollower(settings, codec, topics.policies, faults)
        self._lock = asyncio.Lock()
        self._started = False

    async def start(self) -> None:
        async with self._lock:
            if not self._started:
                await asyncio.gather(
                    self.breakers.start(), self.cache.start(), self.policies.start()
                )
                self._started = True

    async def stop(self) -> None:
        async with self._lock:
            if self._started:
                await asyncio.gather(self.breakers.stop(), self.cache.stop(), self.policies.stop())
                self._started = False
            await self.toolbox.aclose()
