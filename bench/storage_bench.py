"""Bytes on disk per model invocation in ClickHouse, on the reference workload.

Run from the repository root::

    .venv/bin/python -m bench.storage_bench [--invocations 100000] [--rate 200]

The events are the ones a real run records: requests of the fintech reference workload
(``reference_workload``) routed by the keyword classifier, each task run through the
real invocation path (``invoke``: cache, tiers, budget, breaker, retries, tools) on the
sim provider at zero latency with 3 % errors and 1 % malformed answers, and each
attempt, task, request and result turned into its Avro-shaped record by
``streams.records``, exactly as the roles do. They land through the sink's own
``EventWriter`` in batches into a fresh embedded store with the current schema.
Requests are stamped ``--rate`` per second apart, so timestamps spread like a live
system's.

After ``OPTIMIZE … FINAL`` (the merged state a store reaches in the background), the
active parts' ``bytes_on_disk`` per table are summed (``system.parts``) and divided by
the number of invocation rows: every table's bytes count against the invocations,
so the figure is what one model call costs the store, requests, tasks and results
included. The largest columns follow (``system.columns``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from agents import InvocationContext, SimConfig, SimProvider, fintech_system, invoke
from agents.invocation import InvocationDeps
from agents.providers.sim import SimFaults
from agents.reference import reference_workload
from agents.routing.keyword import KeywordClassifier
from agents.tools.toolbox import Toolbox
from streams.codec import default_avro_dir
from streams.records import invocation_record, request_record, result_record, task_record
from streams.warehouse import Warehouse, open_warehouse
from streams.warehouse.writer import EventWriter, record_columns

BATCH = 10_000


class _Clock:
    """The invocation path's clock, moved forward by the workload, not by the wall."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 0.0004  # each read is a little later, like a real call
        return self.now


async def _no_wait(_seconds: float) -> None:
    """Retry backoff without waiting: the clock is simulated."""


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


async def generate(warehouse: Warehouse, invocations: int, rate: float) -> dict[str, int]:
    """Run the reference workload until ``invocations`` attempts are recorded."""
    system = fintech_system()
    classifier = KeywordClassifier(system)
    provider = SimProvider(
        SimConfig(latency_scale=0.0, faults=SimFaults(error_rate=0.03, malformed_rate=0.01))
    )
    start = time.time() - invocations / rate
    clock = _Clock(start)
    deps = InvocationDeps(
        fallbacks=system.get, clock=clock, sleep=_no_wait, tools=Toolbox.of(system)
    )
    writer = EventWriter(warehouse, record_columns(default_avro_dir()))
    batch: list[tuple[str, dict[str, Any]]] = []
    counts = {"requests": 0, "invocations": 0}
    seed = 0
    while counts["invocations"] < invocations:
        for item in reference_workload(1000, seed=seed):
            t0 = start + counts["requests"] / rate
            clock.now = max(clock.now, t0 + 0.003)
            request = request_record(
                item["input"],
                producer="client",
                tenant=item["tenant"],
                target_agent=item["target_agent"],
                metadata=item["metadata"],
                request_id=item["request_id"],
            )
            request["occurred_at"] = _at(t0)
            decision = classifier.decide(item["input"], item["target_agent"])
            task = task_record(request, decision, "router")
            task["occurred_at"] = _at(t0 + 0.002)
            spec = system.get(decision.agent)
            context = InvocationContext(request["request_id"], task["task_id"], item["tenant"])
            outcome = await invoke(spec, provider, item["input"], context=context, deps=deps)
            producer = f"specialist:{decision.agent}"
            batch += [("AgentRequest", request), ("AgentTask", task)]
            for attempt in outcome.attempts:
                batch.append(("Invocation", invocation_record(task, attempt, producer)))
            result = result_record(task, outcome, producer, (clock.now - t0) * 1000)
            result["occurred_at"] = _at(clock.now)
            batch.append(("AgentResult", result))
            counts["requests"] += 1
            counts["invocations"] += len(outcome.attempts)
            if len(batch) >= BATCH:
                writer.write(batch)
                batch = []
            if counts["invocations"] >= invocations:
                break
        seed += 1
    writer.write(batch)
    return counts


TABLE_BYTES_SQL = """
SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS disk,
       sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS raw
FROM system.parts
WHERE database = 'agentbus' AND active
GROUP BY table ORDER BY disk DESC
"""

COLUMN_BYTES_SQL = """
SELECT table, name, data_compressed_bytes AS compressed, data_uncompressed_bytes AS raw,
       compression_codec
FROM system.columns
WHERE database = 'agentbus' AND table IN ('invocations', 'results', 'tasks', 'requests')
ORDER BY compressed DESC LIMIT {top:UInt32}
"""


def report(warehouse: Warehouse, invocation_rows: int, top: int) -> None:
    tables = warehouse.query(TABLE_BYTES_SQL).rows
    total = sum(int(r[2]) for r in tables)
    print(f"{'table':<16} {'rows':>9} {'on disk':>11} {'raw':>11} {'ratio':>6} {'B/inv':>7}")
    for table, rows, disk, _compressed, raw in tables:
        ratio = int(raw) / max(int(disk), 1)
        print(
            f"{table:<16} {int(rows):>9} {int(disk):>11,} {int(raw):>11,} "
            f"{ratio:>6.1f} {int(disk) / invocation_rows:>7.1f}"
        )
    print(f"total on disk: {total:,} bytes; per invocation: {total / invocation_rows:.0f} bytes")
    print(f"\nlargest columns (compressed bytes per invocation), top {top}:")
    for table, name, compressed, raw, codec in warehouse.query(COLUMN_BYTES_SQL, {"top": top}).rows:
        print(
            f"  {table + '.' + name:<30} {int(compressed) / invocation_rows:>7.1f} "
            f"(raw {int(raw) / invocation_rows:>7.1f})  {codec or 'LZ4 (default)'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invocations", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--store", type=Path, default=None, help="chdb directory (default: temp)")
    parser.add_argument("--top", type=int, default=12, help="largest columns to list")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="agentbus-storage-") as tmp:
        store = args.store or Path(tmp) / "clickhouse"
        warehouse = open_warehouse(f"chdb://{store}")
        warehouse.apply_schema()
        started = time.perf_counter()
        counts = asyncio.run(generate(warehouse, args.invocations, args.rate))
        elapsed = time.perf_counter() - started
        for table in warehouse.query(
            "SELECT name FROM system.tables "
            "WHERE database = 'agentbus' AND engine LIKE '%MergeTree'"
        ).rows:
            warehouse.command(f"OPTIMIZE TABLE agentbus.{table[0]} FINAL")
        rows = int(warehouse.query("SELECT count() FROM agentbus.invocations FINAL").rows[0][0])
        print(
            f"{counts['requests']} requests, {rows} invocations "
            f"({rows / counts['requests']:.2f} per request) generated and written in "
            f"{elapsed:.1f} s\n"
        )
        report(warehouse, rows, args.top)
        warehouse.close()


if __name__ == "__main__":
    main()
