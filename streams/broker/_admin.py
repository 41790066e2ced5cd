"""Short-lived aiokafka admin connections and the "does the cluster answer" probe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

CLIENT_ID = "agentbus-broker-admin"


def split_bootstrap(bootstrap: str) -> tuple[str, int]:
    """Split the first ``host:port`` of a bootstrap string (``[v6]:port`` allowed)."""
    first = bootstrap.split(",", maxsplit=1)[0].strip()
    host, sep, port = first.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"bootstrap address must be host:port, got {bootstrap!r}")
    return host.strip("[]"), int(port)


@asynccontextmanager
async def open_admin(bootstrap: str, request_timeout: float) -> AsyncIterator[Any]:
    """Yield a started admin client; it is closed on exit whatever happens."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id=CLIENT_ID,
        request_timeout_ms=max(1000, int(request_timeout * 1000)),
    )
    try:
        await admin.start()
        yield admin
    finally:
        await admin.close()


async def cluster_answers(bootstrap: str, request_timeout: float) -> bool:
    """Whether a broker at ``bootstrap`` answers a metadata request within ``request_timeout`` s.

    Connection failures and timeouts mean "not yet" and give ``False``. The bare TCP
    check comes first because aiokafka logs an error for every refused bootstrap.
    """
    host, port = split_bootstrap(bootstrap)
    try:
        async with asyncio.timeout(request_timeout):
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
            async with open_admin(bootstrap, request_timeout) as admin:
                cluster = await admin.describe_cluster()
    except (OSError, TimeoutError, KafkaError):
        return False
    return bool(cluster.get("brokers"))
