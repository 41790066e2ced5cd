"""Many events in flight per worker, acknowledged strictly in offset order.

Model calls are I/O-bound, so a specialist keeps thousands of tasks running at
once. Faust's own ``concurrency=`` acks events as they finish, and its commit
logic then skips an in-flight event that sits right at the committed offset
(faust-streaming/faust#606, fix pending in #707): a SIGKILL loses it. This
window hands Faust its acks per partition in offset order only, so the
committed offset never passes an event whose outputs are not yet produced.

The window is bounded: ``admit`` blocks once ``limit`` events are in flight,
which stops the agent from pulling more (Faust then pauses fetching once its
own stream buffer is full): backpressure all the way to the broker.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InFlightWindow"]


@dataclass
class _Slot:
    event: Any
    done: bool = False


@dataclass
class InFlightWindow:
    """Runs a handler per event with at most ``limit`` running; acks in offset order."""

    limit: int
    ack: Callable[[Any], Awaitable[Any]]
    _pending: dict[Any, deque[_Slot]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _slots: asyncio.Semaphore | None = None

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def admit(self, event: Any, handler: Callable[[Any], Awaitable[None]]) -> None:
        """Start ``handler(event.message)`` once a slot is free; returns when it has started."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        await self._slots.acquire()
        slot = _Slot(event)
        self._pending.setdefault(event.message.tp, deque()).append(slot)
        task = asyncio.create_task(self._run(slot, handler))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, slot: _Slot, handler: Callable[[Any], Awaitable[None]]) -> None:
        try:
            await handler(slot.event.message)
        finally:
            # Not acked on cancellation either: ``done`` stays False for a cancelled
            # handler, so the event is redelivered after a restart.
            assert self._slots is not None
            self._slots.release()
        slot.done = True
        queue = self._pending[slot.event.message.tp]
        while queue and queue[0].done:
            await self.ack(queue.popleft().event)

    async def drain(self) -> None:
        """Wait for every running handler (used on shutdown and in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
