"""Rebuild the ClickHouse projection from the Kafka log (``agentbus replay``).

The event topics are the source of truth and ClickHouse is a projection of them; a
store that was lost, or a sink started after its group had committed, is filled by
reading every event topic from the beginning (or from a time) with a group-less
consumer and landing each event exactly as the sink does: the same decoding and
table choice (:class:`streams.roles.sink.Sink`), the same rows
(:class:`streams.warehouse.writer.EventWriter`). The tables are ReplacingMergeTrees
keyed by the events' own ids, so replaying into a store that already holds them, or
twice, changes no count (counted with ``FINAL``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.codec import default_avro_dir
from streams.errors import StreamsError
from streams.roles.messages import KafkaMessage
from streams.roles.runtime import RoleStats, Runtime
from streams.roles.sink import Sink
from streams.shared.topic_view import log_reader, partitions_of
from streams.warehouse import TABLE_FOR_RECORD, Warehouse
from streams.warehouse.writer import EventWriter, record_columns

__all__ = ["ReplayError", "ReplayReport", "parse_since", "replay", "table_counts"]

log = logging.getLogger("agentbus.replay")

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ReplayError(StreamsError):
    """Replay could not read the log or land it; the message says which topic or time."""

    retriable = False


@dataclass(frozen=True, slots=True)
class _Record:
    """A consumed record in the shape the sink's decisions take (a KafkaMessage)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def tp(self) -> tuple[str, int]:
        return (self.topic, self.partition)


@dataclass
class ReplayReport:
    """What a replay read and landed; ``counts`` are the tables' rows after it (FINAL)."""

    events: int = 0
    rows: int = 0
    undecodable: int = 0
    topics: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``2025-01-31T12:00:00`` (UTC unless it names a zone), ``2025-01-31``, or an age:
    ``90s``, ``15m``, ``2h``, ``7d`` before ``now``."""
    now = now or dt.datetime.now(dt.UTC)
    found = _DURATION.match(text.strip())
    if found:
        return now - dt.timedelta(seconds=float(found.group(1)) * _UNIT_S[found.group(2)])
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ReplayError(
            f"--since {text!r} is neither an ISO time (2025-01-31T12:00) nor an age (15m, 2h, 7d)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def table_counts(warehouse: Warehouse) -> dict[str, int]:
    """Rows per projection table, duplicates collapsed (``FINAL``)."""
    counts = {}
    for table in sorted(set(TABLE_FOR_RECORD.values())):
        rows = warehouse.query(f"SELECT count() FROM agentbus.{table} FINAL").rows
        counts[table] = int(rows[0][0])
    return counts


async def replay(
    runtime: Runtime,
    warehouse: Warehouse,
    *,
    since: dt.datetime | None = None,
    batch_size: int = 5000,
    progress: Callable[[ReplayReport], None] | None = None,
) -> ReplayReport:
    """Land every event of the event topics (from ``since``, else from the beginning, up
    to the end offsets seen at start) in ``warehouse``; blocking inserts run in this
    task. Undecodable events are counted, not dead-lettered again: their dead letters
    are already on the log and are replayed with it."""
    sink = Sink(runtime, RoleStats())
    writer = EventWriter(warehouse, record_columns(default_avro_dir()))
    report = ReplayReport()
    consumer = log_reader(
        runtime.settings,
        isolation_level="read_committed",  # an aborted transaction's events never happened
        max_poll_records=batch_size,
    )
    await consumer.start()
    try:
        ends = await _assign(consumer, list(sink.expected), since)
        pending = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=batch_size)
            records: list[KafkaMessage] = [
                _Record(r.topic, r.partition, r.offset, r.key, r.value)
                for tp, got in batches.items()
                for r in got
                if r.offset < ends[tp]
            ]
            if records:
                _land(sink, writer, records, report)
                if progress is not None:
                    progress(report)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    report.counts = table_counts(warehouse)
    return report


async def _assign(
    consumer: AIOKafkaConsumer, topics: list[str], since: dt.datetime | None
) -> dict[TopicPartition, int]:
    """Assign every partition of the existing ``topics`` at its start (or ``since``);
    returns the end offsets to read up to."""
    existing = await consumer.topics()
    missing = [topic for topic in topics if topic not in existing]
    if len(missing) == len(topics):
        raise ReplayError(f"none of the event topics exist (first: {topics[0]}); wrong prefix?")
    for topic in missing:
        log.info("topic %s does not exist; nothing to replay from it", topic)
    tps = [
        TopicPartition(topic, partition)
        for topic in topics
        if topic in existing
        for partition in sorted(await partitions_of(consumer, topic))
    ]
    consumer.assign(tps)
    ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
    if since is None:
        await consumer.seek_to_beginning(*tps)
        return ends
    found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
    for tp in tps:
        at = found.get(tp)
        # No record at or after `since`: nothing to read in this partition.
        consumer.seek(tp, at.offset if at is not None else ends[tp])
    return ends


def _land(
    sink: Sink, writer: EventWriter, records: list[KafkaMessage], report: ReplayReport
) -> None:
    rows, letters = sink.rows(records)
    report.undecodable += len(records) - len(rows)
    del letters  # already on the deadletter topic from the first time round
    written: dict[str, int] = {}
    for record in records:
        written[record.topic] = written.get(record.topic, 0) + 1
    for topic, n in written.items():
        report.topics[topic] = report.topics.get(topic, 0) + n
    report.events += len(records)
    report.rows += writer.write(rows)
