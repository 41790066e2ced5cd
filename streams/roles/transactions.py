"""Exactly-once processing (``AGENTBUS_PROCESSING_GUARANTEE=exactly_once``).

Each role's outputs and the offsets of the events that caused them are committed
together in one Kafka transaction, so a consumer reading with ``read_committed``
sees every output once, across crashes: a SIGKILLed worker's open transaction is
aborted, its events are redelivered and their outputs produced again, once.

Why not Faust's own ``processing_guarantee``: its transaction manager picks the
transactional producer from the output key's partition and the *source* topic
group (``assignor.group_for_topic``), so it can only send to topics the app itself
consumes, with identical partitioning; a router writing ``tasks.*`` raises KeyError.
Here one transactional aiokafka producer per role and process carries everything.
Faust still consumes, with ``read_committed`` (aborted outputs of a crashed
upstream role are never processed); it is told of an ack only once the
transaction holding the event's outputs and offset has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition

from streams.kafka_options import client_options
from streams.roles.errors import RoleHalted
from streams.roles.messages import Emit
from streams.settings import Settings

__all__ = ["TransactionalOutputs", "read_committed"]

log = logging.getLogger("agentbus.transactions")

# A killed worker's open transaction blocks read_committed readers of its topics
# until the broker aborts it: keep that short.
_TRANSACTION_TIMEOUT_MS = 10_000


class TransactionalOutputs:
    """Sends a role's outputs inside transactions and commits them with the offsets.

    The window calls :meth:`guard` around "send an event's outputs, then ack it", so a
    commit never falls between the two; :meth:`ack` records the offset, and every
    ``commit_interval_s`` the open transaction commits the outputs and offsets
    sent so far, then Faust is told of the acks.
    """

    def __init__(
        self,
        settings: Settings,
        group_id: str,
        role: str,
        faust_ack: Callable[[Any], Awaitable[Any]],
        halt: Callable[[RoleHalted], None],
        *,
        commit_interval_s: float = 0.2,
    ) -> None:
        self._group_id = group_id
        self._role = role
        self._faust_ack = faust_ack
        self._halt = halt
        self._interval = commit_interval_s
        # One per role and process: two agents of one app must not fence each other.
        transactional_id = f"{group_id}.{role}.{socket.gethostname()}.{os.getpid()}"
        self._producer = AIOKafkaProducer(
            **client_options(settings),
            transactional_id=transactional_id,
            transaction_timeout_ms=_TRANSACTION_TIMEOUT_MS,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        self._offsets: dict[TopicPartition, int] = {}
        self._acked: list[Any] = []
        self._busy = 0  # events between their first send and their ack
        self._idle = asyncio.Condition()
        self._committing = False
        self._task: asyncio.Task[None] | None = None
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        await self._producer.start()
        await self._producer.begin_transaction()
        self._started = True
        self._task = asyncio.create_task(self._commit_loop())

    async def stop(self) -> None:
        """Commit what is acked, then close; idempotent."""
        if not self._started:
            return
        self._started = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self._commit()
        await self._producer.stop()

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Hold commits off while one event's outputs are sent and it is acked."""
        async with self._idle:
            await self._idle.wait_for(lambda: not self._committing)
            self._busy += 1
        try:
            yield
        finally:
            async with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    async def send(self, emit: Emit) -> None:
        await self._producer.send(emit.topic, emit.value, key=emit.key)

    async def ack(self, event: Any) -> None:
        message = event.message
        self._offsets[TopicPartition(message.topic, message.partition)] = message.offset + 1
        self._acked.append(event)

    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  # a failed commit ends this worker
                self._halt(RoleHalted(self._role, "a transaction commit", exc))
                return

    async def _commit(self) -> None:
        async with self._idle:
            self._committing = True
            try:
                await self._idle.wait_for(lambda: self._busy == 0)
                if not self._offsets:
                    return
                offsets, acked = self._offsets, self._acked
                self._offsets, self._acked = {}, []
                await self._producer.send_offsets_to_transaction(offsets, self._group_id)
                await self._producer.commit_transaction()
                await self._producer.begin_transaction()
            finally:
                self._committing = False
                self._idle.notify_all()
        for event in acked:
            await self._faust_ack(event)


def read_committed(app: Any, *, transactional: bool = True) -> None:
    """Make ``app``'s Faust consumer read with ``read_committed`` and, when ``transactional``,
    leave offset commits to the transactions (call before it starts).

    Every role reads committed: a transactional upstream (the orchestrator always is)
    may leave aborted events on a topic, which must never run.

    Faust only reads committed under its own exactly-once mode, which cannot be used
    here (see the module docstring); its consumer is swapped for one that does.
    """
    from faust.transport.drivers.aiokafka import (  # noqa: PLC0415  # faust only where apps run
        AIOKafkaConsumerThread,
        Consumer,
    )

    class _ReadCommittedThread(AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            # aiokafka builds its fetcher from this attribute in start().
            consumer._isolation_level = "read_committed"
            return consumer

    class _ReadCommittedConsumer(Consumer):
        def _new_consumer_thread(self) -> Any:
            return _ReadCommittedThread(self, loop=self.loop, beacon=self.beacon)

    class _TransactionalConsumer(_ReadCommittedConsumer):
        async def _commit(self, offsets: Any) -> bool:
            # The transactions commit the offsets. A plain commit of Faust's, racing
            # one of them to the coordinator, could land after it and move the group
            # back: the events in between would run again, their outputs twice.
            return True

    app.transport.Consumer = _TransactionalConsumer if transactional else _ReadCommittedConsumer
