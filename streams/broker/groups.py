"""Consumer-group facts an operator (and a test) waits on: state and live members."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from streams.broker._admin import ClientOptions, open_admin, security

__all__ = ["GroupInfo", "describe_group", "group_lag"]


@dataclass(frozen=True)
class GroupInfo:
    """A consumer group as the broker's coordinator sees it."""

    group_id: str
    state: str  # Stable, PreparingRebalance, CompletingRebalance, Empty, Dead
    members: int


async def describe_group(
    bootstrap: str,
    group_id: str,
    *,
    request_timeout: float = 10.0,
    options: ClientOptions | None = None,
) -> GroupInfo:
    """The group's state and live members; ``options`` carries the security settings.

    On a fresh cluster the first lookup creates ``__consumer_offsets`` and answers
    "coordinator not available": retriable errors are retried until ``request_timeout``.
    """
    deadline = time.monotonic() + request_timeout
    async with open_admin(bootstrap, request_timeout, options=options) as admin:
        while True:
            try:
                response = await admin.describe_consumer_groups([group_id])
                break
            except KafkaError as exc:
                if not exc.retriable or time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.2)
    group = response[0].to_object()["groups"][0]
    return GroupInfo(group_id, str(group["state"]), len(group["members"]))


async def group_lag(
    bootstrap: str,
    group_id: str,
    *,
    request_timeout: float = 10.0,
    options: ClientOptions | None = None,
) -> int | None:
    """Events on the group's partitions it has not committed yet (None: never committed)."""
    async with open_admin(bootstrap, request_timeout, options=options) as admin:
        committed = await admin.list_consumer_group_offsets(group_id)
    if not committed:
        return None
    consumer = AIOKafkaConsumer(**security(options), bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(list(committed))
    finally:
        await consumer.stop()
    behind = (int(ends[tp]) - int(m.offset) for tp, m in committed.items() if m.offset >= 0)
    return sum(max(0, n) for n in behind)
