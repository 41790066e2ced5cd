"""Count, in ClickHouse, what became of every event a chaos run produced.

A request's terminal outcome is its ``AgentResult`` or a dead letter that ends
it (every error type but ``contract_violation``, which records one bad model
attempt and travels beside a result). Rows are read with ``FINAL``, so a
redelivered event (same ``event_id``) counts once; two different event ids for
one request are two outcomes. Dead letters without a ``request_id`` are matched
to their intake event by partition and offset, or to their request through the
raw bytes they carry (a task or request event).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.codec import DecodeError
from streams.kafka_options import client_options
from streams.roles.runtime import Runtime
from streams.warehouse.gateway import GatewayClient
from tests.chaos.suite.traffic import Ledger, Sent

__all__ = ["Accounting", "Letter", "account", "result_events_on_kafka", "stuck_stage"]

# Dead letters that travel beside a result: a broken contract, an edge that could not
# hand on (the answer stands).
NOT_TERMINAL = {"contract_violation", "edge_failed"}


@dataclass(frozen=True)
class Letter:
    event_id: str
    request_id: str
    error_type: str
    reason: str
    source_topic: str
    source_partition: int
    source_offset: int
    producer: str


@dataclass
class Accounting:
    """Outcomes per request and per odd event, as ClickHouse holds them now."""

    requests: int
    outcomes: dict[str, set[str]]  # request_id -> terminal outcome event ids
    kinds: dict[str, Counter[str]]  # request_id -> "result" / dead-letter error types
    results: int
    dead_letters: int
    missing: list[str]
    multi: dict[str, list[str]]  # request_id -> its outcome kinds, when more than one
    odd_unaccounted: list[str]  # what each failing odd event became, for the report
    letters_by_type: Counter[str] = field(default_factory=Counter)

    @property
    def terminal(self) -> int:
        return sum(1 for ids in self.outcomes.values() if ids)

    @property
    def settled(self) -> bool:
        return not self.missing and not self.odd_unaccounted


def _letters(gateway: GatewayClient) -> tuple[list[Letter], dict[str, str]]:
    rows = gateway.query(
        "SELECT event_id, request_id, error_type, reason, source_topic, source_partition, "
        "source_offset, producer, if(request_id = '' AND length(raw) < 100000, hex(raw), '') "
        "FROM agentbus.dead_letters FINAL"
    ).rows
    letters, raw_hex = [], {}
    for row in rows:
        letter = Letter(
            str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]),
            int(row[5]), int(row[6]), str(row[7]),
        )  # fmt: skip
        letters.append(letter)
        if row[8]:
            raw_hex[letter.event_id] = str(row[8])
    return letters, raw_hex


def _request_of_raw(runtime: Runtime, hex_raw: str) -> str | None:
    data = bytes.fromhex(hex_raw)
    for record in ("AgentTask", "AgentRequest"):
        try:
            return str(runtime.codec.decode_as(record, data)["request_id"])
        except DecodeError:
            continue
    return None


def account(gateway: GatewayClient, runtime: Runtime, ledger: Ledger) -> Accounting:
    """Every request id of ``ledger`` with its terminal outcomes; odd events checked."""
    results = gateway.query("SELECT request_id, event_id FROM agentbus.results FINAL").rows
    letters, raw_hex = _letters(gateway)
    outcomes: dict[str, set[str]] = defaultdict(set)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for request_id, event_id in results:
        outcomes[str(request_id)].add(str(event_id))
        kinds[str(request_id)]["result"] += 1
    by_offset: dict[tuple[int, int], Letter] = {}
    intake = runtime.topics.intake
    for letter in letters:
        if letter.source_topic == intake:
            by_offset[(letter.source_partition, letter.source_offset)] = letter
        if letter.error_type in NOT_TERMINAL:
            continue
        request_id = letter.request_id or (
            _request_of_raw(runtime, raw_hex[letter.event_id])
            if letter.event_id in raw_hex
            else None
        )
        if request_id:
            outcomes[request_id].add(letter.event_id)
            kinds[request_id][letter.error_type] += 1
    # A dead letter of the request event itself ends it, with or without its id.
    for sent in ledger.sent:
        own = by_offset.get((int(sent.partition or 0), sent.offset or -1))
        if sent.request_id and own and own.error_type not in NOT_TERMINAL:
            if own.event_id not in outcomes[sent.request_id]:
                kinds[sent.request_id][own.error_type] += 1
            outcomes[sent.request_id].add(own.event_id)
    ids = ledger.request_ids()
    missing = [rid for rid in ids if not outcomes.get(rid)]
    multi = {rid: sorted(kinds[rid].elements()) for rid in ids if len(outcomes.get(rid, ())) > 1}
    odd_unaccounted = [
        problem for sent in ledger.odd() if (problem := _odd_problem(sent, by_offset, kinds))
    ]
    return Accounting(
        requests=len(ids),
        outcomes={rid: outcomes.get(rid, set()) for rid in ids},
        kinds={rid: kinds.get(rid, Counter()) for rid in ids},
        results=len(results),
        dead_letters=sum(
            n for rid in ids for kind, n in kinds.get(rid, Counter()).items() if kind != "result"
        ),
        missing=missing,
        multi=multi,
        odd_unaccounted=odd_unaccounted,
        letters_by_type=Counter(letter.error_type for letter in letters),
    )


def _odd_problem(
    sent: Sent, by_offset: dict[tuple[int, int], Letter], kinds: dict[str, Counter[str]]
) -> str | None:
    """None if the odd event ended as it must; else what it became."""
    where = f"{sent.kind} ({sent.size} B, intake[{sent.partition}]@{sent.offset})"
    if sent.offset is None:
        return f"{where}: never delivered to the broker {sent.note}"
    letter = by_offset.get((int(sent.partition or 0), sent.offset))
    if sent.expect is None:
        got = kinds.get(str(sent.request_id), Counter())
        return None if sum(got.values()) else f"{where} request {sent.request_id!r}: no outcome"
    if letter is None:
        became = dict(kinds.get(str(sent.request_id), Counter())) or "none"
        return f"{where}: no dead letter (outcomes: {became}), want {sent.expect}"
    wrong = []
    if letter.error_type != sent.expect:
        wrong.append(f"error_type {letter.error_type!r}, want {sent.expect!r}")
    if not letter.reason.strip():
        wrong.append("no reason")
    return f"{where}: dead letter with {', '.join(wrong)}" if wrong else None


async def result_events_on_kafka(runtime: Runtime, timeout: float = 60.0) -> Counter[str]:
    """``AgentResult`` events per request id on the results topic, redeliveries included."""
    consumer = AIOKafkaConsumer(
        **client_options(runtime.settings), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    per_request: Counter[str] = Counter()
    try:
        topic = runtime.topics.results
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()  # no public refresh
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= ends[tp] for tp in tps):
                break
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for record in records:
                    if record.value is None:
                        continue
                    try:
                        value = runtime.codec.decode_as("AgentResult", record.value)
                    except DecodeError:
                        continue
                    per_request[str(value["request_id"])] += 1
    finally:
        await consumer.stop()
    return per_request


def stuck_stage(gateway: GatewayClient, request_ids: list[str]) -> dict[str, dict[str, Any]]:
    """For requests without an outcome: which tables hold a trace of them."""
    if not request_ids:
        return {}
    found: dict[str, dict[str, Any]] = {rid: {} for rid in request_ids}
    for table in ("requests", "tasks", "invocations", "dead_letters"):
        rows = gateway.query(
            f"SELECT request_id, count() FROM agentbus.{table} FINAL "  # fixed table names
            "WHERE request_id IN {ids:Array(String)} GROUP BY request_id",
            {"ids": request_ids},
        ).rows
        for request_id, count in rows:
            found[str(request_id)][table] = int(count)
    return found
