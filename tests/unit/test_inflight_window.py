"""The in-flight window: bounded concurrency, acks in offset order per partition."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from streams.roles.inflight import InFlightWindow


@dataclass(frozen=True)
class Message:
    tp: str
    offset: int


@dataclass(frozen=True)
class Event:
    message: Message


def test_acks_follow_offsets_even_when_work_finishes_out_of_order() -> None:
    acked: list[tuple[str, int]] = []

    async def ack(event: Event) -> None:
        acked.append((event.message.tp, event.message.offset))

    async def scenario() -> None:
        releases = {offset: asyncio.Event() for offset in range(4)}

        async def handler(message: Message) -> None:
            await releases[message.offset].wait()

        window = InFlightWindow(limit=10, ack=ack)
        for offset in range(4):
            await window.admit(Event(Message("p0", offset)), handler)
        for offset in (3, 1, 2):  # everything but the head finishes first
            releases[offset].set()
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert acked == [], "nothing may be acked while offset 0 is in flight"
        releases[0].set()
        await window.drain()

    asyncio.run(scenario())
    assert acked == [("p0", 0), ("p0", 1), ("p0", 2), ("p0", 3)]


def test_partitions_do_not_wait_for_each_other() -> None:
    acked: list[tuple[str, int]] = []

    async def ack(event: Event) -> None:
        acked.append((event.message.tp, event.message.offset))

    async def scenario() -> None:
        slow = asyncio.Event()

        async def handler(message: Message) -> None:
            if message.tp == "p0":
                await slow.wait()

        window = InFlightWindow(limit=10, ack=ack)
        await window.admit(Event(Message("p0", 0)), handler)
        await window.admit(Event(Message("p1", 0)), handler)
        await asyncio.sleep(0.01)
        assert acked == [("p1", 0)]
        slow.set()
        await window.drain()

    asyncio.run(scenario())
    assert acked == [("p1", 0), ("p0", 0)]


def test_admission_blocks_at_the_limit() -> None:
    async def scenario() -> int:
        gate = asyncio.Event()
        peak = 0

        async def handler(message: Message) -> None:
            await gate.wait()

        async def noop(event: Event) -> None:
            return None

        window = InFlightWindow(limit=3, ack=noop)
        for offset in range(3):
            await window.admit(Event(Message("p0", offset)), handler)
        fourth = asyncio.create_task(window.admit(Event(Message("p0", 3)), handler))
        await asyncio.sleep(0.01)
        peak = window.in_flight
        assert not fourth.done(), "a fourth event must wait for a free slot"
        gate.set()
        await fourth
        await window.drain()
        return peak

    assert asyncio.run(scenario()) == 3


def test_a_cancelled_handler_is_never_acked() -> None:
    acked: list[int] = []

    async def ack(event: Event) -> None:
        acked.append(event.message.offset)

    async def scenario() -> None:
        async def handler(message: Message) -> None:
            await asyncio.sleep(10)

        window = InFlightWindow(limit=2, ack=ack)
        await window.admit(Event(Message("p0", 0)), handler)
        for task in list(window._tasks):
            task.cancel()
        await window.drain()

    asyncio.run(scenario())
    assert acked == []
