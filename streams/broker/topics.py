"""Explicit topic creation: the local broker never auto-creates topics.

faust raises ``PartitionsMismatch`` when a table's changelog and its source topic
disagree, so every topic is declared with its partition count and created here
before any worker starts.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from streams.broker._admin import ClientOptions, cluster_answers, open_admin
from streams.broker.errors import BrokerUnavailableError, TopicError

log = logging.getLogger(__name__)

_LEGAL_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")


@dataclass(frozen=True)
class TopicSpec:
    """A topic the runtime needs, with the partition count it must have."""

    name: str
    partitions: int
    compacted: bool = False
    """Keep only the latest record per key (``cleanup.policy=compact``): changelogs."""
    config: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Extra topic configs; they override the defaults chosen from ``compacted``."""
    replication: int = 1
    """Replication factor: 1 for the local broker, 3 on a managed cluster."""

    def __post_init__(self) -> None:
        if not _LEGAL_NAME.fullmatch(self.name) or self.name in {".", ".."}:
            raise ValueError(f"illegal Kafka topic name {self.name!r}")
        if self.partitions < 1:
            raise ValueError(f"topic {self.name!r} needs at least one partition")
        if self.replication < 1:
            raise ValueError(f"topic {self.name!r} needs a replication factor of at least 1")
        # A read-only copy, so a caller mutating its dict cannot change a spec.
        object.__setattr__(self, "config", MappingProxyType(dict(self.config)))

    def topic_configs(self) -> dict[str, str]:
        """Return the configs the topic is created with.

        Non-compacted topics keep every record forever (``retention.ms=-1``): the
        log is the source of truth. Compacted ones are compact-only, never
        ``compact,delete``, since faust tables recover from them (faust #597).
        """
        base = {"cleanup.policy": "compact"} if self.compacted else {"retention.ms": "-1"}
        return {**base, **self.config}


# The timeouts below are part of the public API on purpose (ASYNC109): they also size
# Kafka-side request timeouts, which a caller's cancel scope could not do.
async def wait_until_ready(
    bootstrap: str,
    timeout: float,  # noqa: ASYNC109
    *,
    options: ClientOptions | None = None,
) -> None:
    """Return once the cluster answers a metadata request; raise after ``timeout`` s.

    ``options`` carries the client's security settings (see ``_admin``).
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrokerUnavailableError(
                f"no metadata answer within {timeout:g}s", bootstrap=bootstrap
            )
        if await cluster_answers(bootstrap, min(remaining, 5.0), options=options):
            return
        await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


async def ensure_topics(
    bootstrap: str,
    specs: Sequence[TopicSpec],
    *,
    timeout: float = 30.0,  # noqa: ASYNC109
    options: ClientOptions | None = None,
) -> list[str]:
    """Create the topics of ``specs`` that do not exist yet; return the names created.

    Existing topics are left alone, even if their partition count differs (that is
    logged as a warning: changing it is a migration, not a start-up step). Another
    process creating the same topic concurrently is fine. Returns once metadata
    shows every topic in ``specs`` with a leader for each partition. ``options``
    carries the client's security settings (see ``_admin``).
    """
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate topic names in {names}")
    if not specs:
        return []
    try:
        async with (
            asyncio.timeout(timeout),
            open_admin(bootstrap, timeout, options=options) as admin,
        ):
            existing = set(await admin.list_topics())
            created = await _create_missing(
                admin, [s for s in specs if s.name not in existing], bootstrap, int(timeout * 1000)
            )
            await _await_metadata(admin, specs, bootstrap)
    except TimeoutError as exc:
        raise BrokerUnavailableError(
            f"topics {names} not ready within {timeout:g}s", bootstrap=bootstrap
        ) from exc
    except KafkaError as exc:
        raise BrokerUnavailableError(
            f"could not ensure topics {names}: {exc!r}", bootstrap=bootstrap
        ) from exc
    return created


async def _create_missing(
    admin: Any, missing: Sequence[TopicSpec], bootstrap: str, timeout_ms: int
) -> list[str]:
    if not missing:
        return []
    new_topics = [
        NewTopic(spec.name, spec.partitions, spec.replication, topic_configs=spec.topic_configs())
        for spec in missing
    ]
    response = await admin.create_topics(new_topics, timeout_ms=timeout_ms)
    created: list[str] = []
    for result in response.to_object()["topic_errors"]:
        topic, code = result["topic"], result["error_code"]
        if code == 0:
            created.append(topic)
            continue
        error = for_code(code)
        if error is TopicAlreadyExistsError:  # created meanwhile by someone else
            continue
        message = result.get("error_message") or error.__name__
        raise TopicError(
            f"creation failed: {message}",
            topic=topic,
            bootstrap=bootstrap,
            retriable=bool(error.retriable),
        )
    return created


async def _await_metadata(admin: Any, specs: Sequence[TopicSpec], bootstrap: str) -> None:
    wanted = {spec.name: spec for spec in specs}
    warned: set[str] = set()
    while True:
        pending = set(wanted)
        for topic in await admin.describe_topics(list(wanted)):
            name, partitions = topic["topic"], topic["partitions"]
            if topic["error_code"] != 0 or not partitions:
                continue
            if any(p["leader"] < 0 for p in partitions):
                continue
            pending.discard(name)
            if len(partitions) != wanted[name].partitions and name not in warned:
                warned.add(name)
                log.warning(
                    "topic %r exists on %s with %d partitions, spec says %d; left alone",
                    name,
                    bootstrap,
                    len(partitions),
                    wanted[name].partitions,
                )
        if not pending:
            return
        await asyncio.sleep(0.1)
