"""Consumer-group facts an operator (and a test) waits on: state and live members."""

from __future__ import annotations

from dataclasses import dataclass

from streams.broker._admin import open_admin

__all__ = ["GroupInfo", "describe_group"]


@dataclass(frozen=True)
class GroupInfo:
    """A consumer group as the broker's coordinator sees it."""

    group_id: str
    state: str  # Stable, PreparingRebalance, CompletingRebalance, Empty, Dead
    members: int


async def describe_group(
    bootstrap: str, group_id: str, *, request_timeout: float = 10.0
) -> GroupInfo:
    async with open_admin(bootstrap, request_timeout) as admin:
        response = await admin.describe_consumer_groups([group_id])
    group = response[0].to_object()["groups"][0]
    return GroupInfo(group_id, str(group["state"]), len(group["members"]))
