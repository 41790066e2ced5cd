"""The in-flight window: bounded concurrency; per partition, outputs sent and acks given
in offset order; every event ends as outputs or dead letters, or the role halts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from streams.roles.errors import RoleHalted, verdict_for
from streams.roles.inflight import InFlightWindow
from streams.roles.messages import Emit, KafkaMessage
from streams.testing import FakeEvent, FakeMessage, RecordingSink


def _event(offset: int, partition: int = 0) -> FakeEvent:
    return FakeEvent(FakeMessage("t", b"x", offset=offset, partition=partition))


def _out(message: KafkaMessage, what: str = "out") -> Emit:
    return Emit("out", None, f"{what}-{message.partition}-{message.offset}".encode(), "AgentResult")


def _dead_letter(message: KafkaMessage, exc: BaseException) -> Sequence[Emit]:
    if verdict_for(exc) == "halt":
        raise RoleHalted("test", str(message.offset), exc)
    return [Emit("dlq", None, f"dead-{message.offset}-{type(exc).__name__}".encode(), "DeadLetter")]


def _window(sink: RecordingSink, limit: int = 10) -> InFlightWindow:
    return InFlightWindow(limit, ack=sink.ack, send=sink.send, recover=_dead_letter, halt=sink.halt)


def test_outputs_and_acks_follow_offsets_even_when_work_finishes_out_of_order() -> None:
    sink = RecordingSink()

    async def scenario() -> None:
        releases = {offset: asyncio.Event() for offset in range(4)}

        async def handler(message: KafkaMessage) -> list[Emit]:
            await releases[message.offset].wait()
            return [_out(message)]

        window = _window(sink)
        for offset in range(4):
            await window.admit(_event(offset), handler)
        for offset in (3, 1, 2):  # everything but the head finishes first
            releases[offset].set()
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert sink.log == [], "nothing may be sent or acked while offset 0 is in flight"
        releases[0].set()
        await window.drain()

    asyncio.run(scenario())
    kinds = [(kind, item.value if kind == "send" else item.offset) for kind, item in sink.log]
    assert kinds == [
        ("send", b"out-0-0"), ("ack", 0), ("send", b"out-0-1"), ("ack", 1),
        ("send", b"out-0-2"), ("ack", 2), ("send", b"out-0-3"), ("ack", 3),
    ]  # fmt: skip


def test_partitions_do_not_wait_for_each_other() -> None:
    sink = RecordingSink()

    async def scenario() -> None:
        slow = asyncio.Event()

        async def handler(message: KafkaMessage) -> list[Emit]:
            if message.partition == 0:
                await slow.wait()
            return [_out(message)]

        window = _window(sink)
        await window.admit(_event(0, partition=0), handler)
        await window.admit(_event(0, partition=1), handler)
        await asyncio.sleep(0.01)
        assert [m.partition for m in sink.acked] == [1]
        slow.set()
        await window.drain()

    asyncio.run(scenario())
    assert [m.partition for m in sink.acked] == [1, 0]


def test_admission_blocks_at_the_limit() -> None:
    sink = RecordingSink()

    async def scenario() -> int:
        gate = asyncio.Event()

        async def handler(message: KafkaMessage) -> list[Emit]:
            await gate.wait()
            return []

        window = _window(sink, limit=3)
        for offset in range(3):
            await window.admit(_event(offset), handler)
        fourth = asyncio.create_task(window.admit(_event(3), handler))
        await asyncio.sleep(0.01)
        peak = window.in_flight
        assert not fourth.done(), "a fourth event must wait for a free slot"
        gate.set()
        await fourth
        await window.drain()
        return peak

    assert asyncio.run(scenario()) == 3
    assert len(sink.acked) == 4


def test_a_cancelled_handler_is_never_acked() -> None:
    sink = RecordingSink()

    async def scenario() -> None:
        async def handler(message: KafkaMessage) -> list[Emit]:
            await asyncio.sleep(10)
            return []

        window = _window(sink, limit=2)
        await window.admit(_event(0), handler)
        for task in list(window._tasks):
            task.cancel()
        await window.drain()

    asyncio.run(scenario())
    assert sink.acked == []
    assert sink.sent == []


def test_a_handler_exception_becomes_a_dead_letter_and_later_offsets_are_acked() -> None:
    """Finding 2: a raising handler left its offset unacked and every later offset of the
    partition processed but never committed, silently."""
    sink = RecordingSink()

    async def scenario() -> None:
        async def handler(message: KafkaMessage) -> list[Emit]:
            if message.offset == 1:
                raise ZeroDivisionError("a bug in one task")
            return [_out(message)]

        window = _window(sink)
        for offset in range(4):
            await window.admit(_event(offset), handler)
        await window.drain()

    asyncio.run(scenario())
    assert [m.offset for m in sink.acked] == [0, 1, 2, 3]
    assert [e.value for e in sink.sent] == [
        b"out-0-0", b"dead-1-ZeroDivisionError", b"out-0-2", b"out-0-3"
    ]  # fmt: skip
    assert sink.halted == []


def test_an_output_too_large_for_the_broker_is_replaced_by_its_dead_letter() -> None:
    sink = RecordingSink()

    async def send(emit: Emit) -> None:
        if emit.value.startswith(b"huge"):
            raise MessageSizeTooLargeError("the message is 2000000 bytes")
        await sink.send(emit)

    async def scenario() -> None:
        async def handler(message: KafkaMessage) -> list[Emit]:
            return [_out(message, "small"), _out(message, "huge")]

        window = InFlightWindow(10, ack=sink.ack, send=send, recover=_dead_letter, halt=sink.halt)
        await window.admit(_event(0), handler)
        await window.drain()

    asyncio.run(scenario())
    assert [e.value for e in sink.sent] == [b"small-0-0", b"dead-0-MessageSizeTooLargeError"]
    assert [m.offset for m in sink.acked] == [0]


def test_a_role_that_cannot_go_on_halts_without_acking_the_event_or_taking_more() -> None:
    sink = RecordingSink()

    async def scenario() -> None:
        async def handler(message: KafkaMessage) -> list[Emit]:
            if message.offset == 1:
                raise KafkaConnectionError("broker gone")
            return [_out(message)]

        window = _window(sink)
        for offset in range(3):
            await window.admit(_event(offset), handler)
            await asyncio.sleep(0.01)
        await window.drain()
        await window.admit(_event(3), handler)
        await window.drain()

    asyncio.run(scenario())
    assert len(sink.halted) == 1
    assert "broker gone" in str(sink.halted[0])
    assert [m.offset for m in sink.acked] == [0], "nothing past the failed event is acked"
    assert [e.value for e in sink.sent] == [b"out-0-0"]
