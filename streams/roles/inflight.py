"""Many events in flight per worker; outputs sent and acks given strictly in offset order.

Model calls are I/O-bound, so a specialist keeps thousands of tasks running at
once. Faust's own ``concurrency=`` acks events as they finish, and its commit
logic then skips an in-flight event that sits right at the committed offset
(faust-streaming/faust#606, fix pending in #707): a SIGKILL loses it. This
window hands Faust its acks per partition in offset order only, so the
committed offset never passes an event whose outputs are not yet produced.

A handler returns its event's outputs instead of sending them; the window sends
them when the event reaches the head of its partition, then acks it. Outputs of a
finished event therefore never go out ahead of an earlier event still running,
which is what Kafka transactions need (a transaction commits every output sent in
it together with the offsets: an output sent before its event is acked would be
committed without its offset and repeated after a crash).

Every event ends one way: its outputs, or the dead letters ``recover`` makes of its
failure. When ``recover`` cannot make one either (it raises :class:`RoleHalted`),
the window stops taking events and calls ``halt``: the worker must exit, leaving
the event unacked so the restart redelivers it.

The window is bounded: ``admit`` blocks once ``limit`` events are in flight,
which stops the agent from pulling more (Faust then pauses fetching once its
own stream buffer is full): backpressure all the way to the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from streams.roles.errors import RoleHalted
from streams.roles.messages import Emit, KafkaMessage

__all__ = ["Handler", "InFlightWindow", "Recover"]

Handler = Callable[[KafkaMessage], Awaitable[Sequence[Emit]]]
"""A role's work on one event: the outputs it must produce (dead letters included)."""
Recover = Callable[[KafkaMessage, BaseException], Sequence[Emit]]
"""The outputs an event ends with when its handler or its sends failed; raises
:class:`RoleHalted` when the role cannot go on."""


@dataclass
class _Slot:
    event: Any
    emits: Sequence[Emit] = ()
    done: bool = False


@dataclass
class InFlightWindow:
    """Runs a handler per event with at most ``limit`` running; per partition, sends each
    event's outputs and acks it in offset order."""

    limit: int
    ack: Callable[[Any], Awaitable[Any]]
    send: Callable[[Emit], Awaitable[None]]
    recover: Recover
    halt: Callable[[RoleHalted], None]
    guard: Callable[[], AbstractAsyncContextManager[None]] = contextlib.nullcontext
    """Held around "send one event's outputs, then ack it" (a transaction must not
    commit in between)."""
    _pending: dict[Any, deque[_Slot]] = field(default_factory=dict)
    _locks: dict[Any, asyncio.Lock] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _slots: asyncio.Semaphore | None = None
    halted: RoleHalted | None = None

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def admit(self, event: Any, handler: Handler) -> None:
        """Start ``handler(event.message)`` once a slot is free; returns when it has started.

        After a halt nothing more is started (the event stays unacked)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        await self._slots.acquire()
        if self.halted is not None:
            self._slots.release()
            return
        tp = event.message.tp
        slot = _Slot(event)
        self._pending.setdefault(tp, deque()).append(slot)
        self._locks.setdefault(tp, asyncio.Lock())
        task = asyncio.create_task(self._run(slot, handler))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, slot: _Slot, handler: Handler) -> None:
        message = slot.event.message
        try:
            try:
                slot.emits = await handler(message)
            except asyncio.CancelledError:
                raise  # shutdown: not acked, redelivered after the restart
            except Exception as exc:  # noqa: BLE001  # the one place a handler failure becomes an outcome
                slot.emits = self.recover(message, exc)
            slot.done = True
            await self._flush(message.tp)
        except RoleHalted as halted:
            self._halt(halted)
        finally:
            assert self._slots is not None
            self._slots.release()

    async def _flush(self, tp: Any) -> None:
        """Send and ack every finished event at the head of ``tp``'s queue, in order."""
        queue = self._pending[tp]
        async with self._locks[tp]:
            while queue and queue[0].done and self.halted is None:
                head = queue[0]
                async with self.guard():
                    await self._send_all(head)
                    queue.popleft()
                    await self.ack(head.event)

    async def _send_all(self, slot: _Slot) -> None:
        emits = list(slot.emits)
        sent = 0
        while sent < len(emits):
            try:
                await self.send(emits[sent])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. an output over the broker's size limit
                # What was sent stays sent; the rest is replaced by the failure's outcome.
                replacement = list(self.recover(slot.event.message, exc))
                if any(e in replacement for e in emits[sent:]):
                    raise RoleHalted("window", str(slot.event.message.tp), exc) from exc
                emits = emits[:sent] + replacement
                continue
            sent += 1

    def _halt(self, halted: RoleHalted) -> None:
        if self.halted is None:
            self.halted = halted
            self.halt(halted)

    async def drain(self) -> None:
        """Wait for every running handler (used on shutdown and in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
