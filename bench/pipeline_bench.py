"""Throughput, latency and memory of the agentbus pipeline beside a plain-aiokafka ceiling.

Run from the repository root::

    .venv/bin/python -m bench.pipeline_bench [--requests N] [--slow-requests M]

One run starts its own single-node Kafka broker (``LocalKafka`` on free ports,
data in a temporary directory, stopped at the end) and measures, on that broker:

1. **Raw ceiling**: one router-like hop in plain aiokafka. ``N`` encoded
   ``AgentRequest`` events (the reference fintech workload) are produced to a
   topic first; then a loop consumes them in ``getmany`` batches, decodes each
   with the codec, routes it with the keyword classifier, encodes an
   ``AgentTask`` and sends it to a second topic without awaiting each delivery
   (one flush at the end). Repeated ``--raw-repeat`` times; events/s.
2. **End to end, sim at zero latency**: ``agentbus run`` as a child process
   (router, four specialists and the ClickHouse sink in one process),
   ``sim_latency_scale=0``. After a warm-up request per agent, ``N`` requests are
   submitted with ``AgentbusClient``; the clock stops at the insert time
   (``ingested_at``) of the last of the ``N`` results in ClickHouse. Requests/s,
   the ratio to the raw ceiling, and the added latency p50/p99 (result
   ``occurred_at`` minus request ``occurred_at``, joined on ``request_id``).
3. **End to end, sim at 1 s latency**: the same with ``sim_latency_ms=1000``,
   ``sim_latency_scale=1`` and ``M`` requests. Requests/s, peak model calls in
   flight (each invocation spans ``[occurred_at - latency_ms, occurred_at]``;
   the maximum of a +1/-1 running sum, computed in ClickHouse) and the added
   latency p50/p99 minus the 1000 ms of the model call.
4. **Peak RSS** of the ``agentbus run`` process (children included), sampled
   every 0.1 s while each load runs; the idle RSS after warm-up beside it, and
   the worker's CPU time over the load (cores used, ms of CPU per request).

Phases 2 and 3 also show "results produced/s": the clock stopped at the last
result event's ``occurred_at`` instead, i.e. without the sink's lag behind Kafka.

All requests are submitted in one burst, so the latency figures include the
time a request waits in the backlog: they describe the pipeline under
saturation, not the per-hop cost of a lone request. Figures vary with the
machine and its load: compare rows of one run, not across runs. Every phase
uses its own topic prefix and its own embedded ClickHouse store. Worker logs
are copied to a directory printed at the end (``--keep`` keeps everything).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.table import Table

from agents.reference import reference_workload
from agents.routing import KeywordClassifier
from streams.broker import LocalKafka, LocalKafkaConfig, TopicSpec, ensure_topics
from streams.broker.ports import free_ports
from streams.client import AgentbusClient
from streams.events import envelope
from streams.records import task_record
from streams.roles.runtime import Runtime, build_runtime
from streams.settings import Settings
from streams.supervise import WorkerProcess, spawn_worker, wait_for_gateway
from streams.warehouse.gateway import GatewayClient, find_gateway

WARMUP_TENANT = "bench-warmup"
SLOW_LATENCY_MS = 1000.0
PARTITIONS = 6  # what `agentbus up` creates by default

T = TypeVar("T")

out = Console(width=None if sys.stdout.isatty() else 120)


def log(message: str) -> None:
    out.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}", highlight=False)


# -- shared helpers ---------------------------------------------------------------


@contextmanager
def local_broker(root: Path) -> Iterator[str]:
    """A fresh LocalKafka on free ports with data under ``root``; stopped on exit."""
    port, controller = free_ports(2)
    broker = LocalKafka(LocalKafkaConfig(data_dir=root, port=port, controller_port=controller))
    try:
        broker.start()
        yield broker.bootstrap
    finally:
        broker.stop()


def request_event(item: dict[str, Any], producer: str) -> dict[str, Any]:
    """An ``AgentRequest`` value as ``AgentbusClient.submit`` builds it."""
    return {
        **envelope(producer=producer, trace_id=uuid.uuid4().hex, parent_span_id=None),
        "request_id": item["request_id"],
        "tenant": item["tenant"],
        "input": item["input"],
        "target_agent": item["target_agent"],
        "metadata": item["metadata"],
        "session_id": None,
    }


class RssSampler(threading.Thread):
    """Samples the RSS of a process and its children every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(name=f"rss-{pid}", daemon=True)
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self.latest = 0
        self.peak = 0

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                total = self._process.memory_info().rss
                for child in self._process.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.Error:  # a child that just exited
                        continue
            except psutil.Error:  # the worker is gone
                return
            with self._lock:
                self.latest = total
                self.peak = max(self.peak, total)
            self._stop_event.wait(self._interval)

    def mark(self) -> int:
        """Start a new peak window; returns the RSS right now."""
        with self._lock:
            self.peak = self.latest
            return self.latest

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (reaped children included)."""
        try:
            times = self._process.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system + times.children_user + times.children_system

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)


_LOG_ISSUE = re.compile(r"\[(WARNING|ERROR|CRITICAL)\]|Traceback \(most recent call last\)")
_LOG_PREFIX = re.compile(r"^\[[^\]]*\] \[\d+\] ")


def log_issues(path: Path) -> Counter[str]:
    """Warning/error lines of a worker log, timestamps and pids stripped, counted."""
    issues: Counter[str] = Counter()
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return issues
    for line in text.splitlines():
        if _LOG_ISSUE.search(line):
            issues[_LOG_PREFIX.sub("", line).strip()[:160]] += 1
    return issues


# -- phase 1: raw ceiling -------------------------------------------------------------


@dataclass
class RawResult:
    events: int
    rates: list[float]

    @property
    def median(self) -> float:
        return sorted(self.rates)[len(self.rates) // 2]

    @property
    def best(self) -> float:
        return max(self.rates)


async def _one_hop(runtime: Runtime, source: str, sink: str, count: int, timeout_s: float) -> float:
    """Consume ``count`` requests, route and re-encode them to ``sink``; returns events/s."""
    bootstrap = runtime.settings.kafka_bootstrap
    codec = runtime.codec
    classifier = KeywordClassifier(runtime.system)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        tps = [TopicPartition(source, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        for tp in tps:
            await consumer.position(tp)  # resolve the lazy seek before the clock starts
        await producer.partitions_for(sink)  # and fetch the output topic's metadata
        done = 0
        started: float | None = None  # the clock starts when the first batch is in
        deadline = time.perf_counter() + timeout_s
        while done < count:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"raw hop saw {done}/{count} events in {timeout_s:.0f}s")
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            if batch and started is None:
                started = time.perf_counter()
            for records in batch.values():
                for record in records:
                    request = codec.decode_as("AgentRequest", record.value)
                    decision = classifier.decide(str(request["input"]), request["target_agent"])
                    task = task_record(request, decision, "bench-raw")
                    await producer.send(sink, codec.encode("AgentTask", task), key=record.key)
                    done += 1
        await producer.flush()
        assert started is not None
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def raw_ceiling(bootstrap: str, tag: str, count: int, repeats: int) -> RawResult:
    """Phase 1: pre-produce ``count`` requests, then time the one-hop loop ``repeats`` times."""
    settings = Settings(kafka_bootstrap=bootstrap, topic_prefix=f"bench{tag}.raw.")
    runtime = build_runtime(settings)
    source, sink = settings.topic("intake"), settings.topic("tasks")
    await ensure_topics(bootstrap, [TopicSpec(source, PARTITIONS), TopicSpec(sink, PARTITIONS)])
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=256 * 1024
    )
    await producer.start()
    try:
        for item in reference_workload(count, seed=101):
            value = runtime.codec.encode("AgentRequest", request_event(item, "bench"))
            await producer.send(source, value, key=item["request_id"].encode())
        await producer.flush()
    finally:
        await producer.stop()
    log(f"raw: {count} requests pre-produced to {source}")
    rates = []
    for run in range(repeats):
        rate = await _one_hop(runtime, source, sink, count, timeout_s=max(60.0, count / 500))
        log(f"raw: run {run + 1}/{repeats}: {rate:,.0f} events/s")
        rates.append(rate)
    return RawResult(count, rates)


# -- phases 2 and 3: end to end ---------------------------------------------------------


@dataclass
class PipelineResult:
    name: str
    requests: int
    completed: int = 0
    submit_s: float = 0.0
    elapsed_s: float = 0.0
    produced_s: float = 0.0
    """From the first submit to the last result event produced (its ``occurred_at``)."""
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_max_ms: float | None = None
    idle_rss: int = 0
    peak_rss: int = 0
    cpu_s: float = 0.0
    """CPU seconds the worker used from the first submit to the last result."""
    peak_in_flight: int | None = None
    peak_in_flight_per_agent: dict[str, int] = field(default_factory=dict)
    tasks_per_agent: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    log_file: Path | None = None
    issues: Counter[str] = field(default_factory=Counter)
    error: str | None = None

    @property
    def rate(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s > 0 else 0.0


NOT_WARMUP = f"tenant != '{WARMUP_TENANT}'"

RESULTS_DONE = f"SELECT count() FROM agentbus.results FINAL WHERE {NOT_WARMUP}"

ROWS_WRITTEN = (
    "SELECT (SELECT count() FROM agentbus.requests) + (SELECT count() FROM agentbus.tasks) "
    "+ (SELECT count() FROM agentbus.invocations) + (SELECT count() FROM agentbus.results)"
)

LAST_RESULT_MS = (
    f"SELECT toUnixTimestamp64Milli(max(occurred_at)) FROM agentbus.results FINAL "
    f"WHERE {NOT_WARMUP}"
)

LAST_INGEST_MS = (
    f"SELECT toUnixTimestamp64Milli(max(ingested_at)) FROM agentbus.results FINAL "
    f"WHERE {NOT_WARMUP}"
)

ADDED_LATENCY = f"""
SELECT quantileExact(0.5)(d), quantileExact(0.99)(d), max(d) FROM (
    SELECT toUnixTimestamp64Milli(r.occurred_at) - toUnixTimestamp64Milli(q.occurred_at)
           - {{minus:Float64}} AS d
    FROM agentbus.results AS r FINAL
    INNER JOIN agentbus.requests AS q FINAL ON r.request_id = q.request_id
    WHERE q.{NOT_WARMUP}
)
"""


def peak_in_flight_sql(per_agent: bool) -> str:
    """Max overlap of model calls, overall or per agent.

    Each call spans ``[occurred_at - latency_ms, occurred_at]``: +1 at its start,
    -1 at its end, and the running sum is the number in flight. At equal times an
    end sorts before a start, so back-to-back calls do not count as overlapping.
    """
    agent = "agent, " if per_agent else ""
    partition = "PARTITION BY agent " if per_agent else ""
    group = "GROUP BY agent ORDER BY agent" if per_agent else ""
    return f"""
SELECT {agent}max(running) FROM (
    SELECT {agent}sum(delta) OVER ({partition}ORDER BY t, delta
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
    FROM (
        SELECT {agent}toUnixTimestamp64Milli(occurred_at) - toInt64(round(latency_ms)) AS t,
               toInt32(1) AS delta
        FROM agentbus.invocations FINAL WHERE {NOT_WARMUP}
        UNION ALL
        SELECT {agent}toUnixTimestamp64Milli(occurred_at) AS t, toInt32(-1) AS delta
        FROM agentbus.invocations FINAL WHERE {NOT_WARMUP}
    )
)
{group}
"""


def scalar(gateway: GatewayClient, sql: str, **params: Any) -> Any:
    return gateway.query(sql, params or None).rows[0][0]


async def _submit(runtime: Runtime, items: list[dict[str, Any]]) -> None:
    async with AgentbusClient(runtime, producer_role="bench") as client:
        for item in items:
            await client.submit(
                item["input"],
                tenant=item["tenant"],
                target_agent=item["target_agent"],
                metadata=item["metadata"],
                request_id=item["request_id"],
            )
        await client.flush()


def _warm_up(worker: WorkerProcess, runtime: Runtime, gateway: GatewayClient) -> None:
    """One request per agent, through every role, so each consumer group has settled."""
    names = runtime.system.names
    items = [
        {
            "request_id": str(uuid.uuid4()),
            "tenant": WARMUP_TENANT,
            "input": f"warm-up request for {name}",
            "target_agent": name,
            "metadata": {},
        }
        for name in names
    ]
    asyncio.run(_submit(runtime, items))
    query = f"SELECT count() FROM agentbus.results FINAL WHERE tenant = '{WARMUP_TENANT}'"
    worker.wait_for(lambda: scalar(gateway, query) >= len(items), 120, "warm-up results")


def _wait_for_results(
    worker: WorkerProcess, gateway: GatewayClient, count: int, stall_s: float
) -> int:
    """Poll ClickHouse until ``count`` results are in; give up after ``stall_s`` s idle.

    Progress is any new row in any table: the sink may write other topics' backlog
    for a long while before the results table grows.
    """
    done, rows, last_progress = 0, 0, time.monotonic()
    reported = time.monotonic()
    while done < count:
        time.sleep(1.0)  # each poll is a query inside the worker: not too often
        if not worker.alive():
            raise RuntimeError(f"worker exited ({worker.process.returncode}):\n{worker.log_tail()}")
        done = scalar(gateway, RESULTS_DONE)
        now = scalar(gateway, ROWS_WRITTEN)
        if now > rows:
            rows, last_progress = now, time.monotonic()
        elif time.monotonic() - last_progress > stall_s:
            log(f"[red]no new result for {stall_s:.0f}s; stopping at {done}/{count}[/]")
            return done
        if time.monotonic() - reported > 5:
            log(f"  {done}/{count} results in ClickHouse")
            reported = time.monotonic()
    return done


def end_to_end(
    bootstrap: str,
    work: Path,
    tag: str,
    name: str,
    count: int,
    seed: int,
    *,
    latency_offset_ms: float = 0.0,
    measure_in_flight: bool = False,
    **overrides: Any,
) -> PipelineResult:
    """Phases 2 and 3: an ``agentbus run`` child, ``count`` requests, figures from ClickHouse."""
    settings = Settings(
        data_dir=work / name,
        kafka_bootstrap=bootstrap,
        topic_prefix=f"bench{tag}.{name}.",
        partitions=PARTITIONS,
        **overrides,
    )
    runtime = build_runtime(settings)
    asyncio.run(ensure_topics(bootstrap, runtime.topics.specs()))
    workload = reference_workload(count, seed=seed)
    result = PipelineResult(name, count)
    worker = spawn_worker(settings, log_name=name)
    result.log_file = worker.log_file
    sampler = RssSampler(worker.pid)
    sampler.start()
    try:
        wait_for_gateway(worker, settings)
        gateway = find_gateway(settings.data_dir)
        if gateway is None:
            raise RuntimeError(f"{name}: the gateway vanished right after start-up")  # noqa: TRY301  # reported below like any other failure of the phase
        _warm_up(worker, runtime, gateway)
        time.sleep(0.5)  # let the sampler see the settled process
        result.idle_rss = sampler.mark()
        cpu_before = sampler.cpu_seconds()
        log(f"{name}: worker {worker.pid} warm; submitting {count} requests")

        started = time.time()
        asyncio.run(_submit(runtime, workload))
        result.submit_s = time.time() - started
        log(f"{name}: submitted in {result.submit_s:.1f}s; waiting for results")
        result.completed = _wait_for_results(worker, gateway, count, stall_s=60.0)
        result.peak_rss = sampler.peak
        result.cpu_s = sampler.cpu_seconds() - cpu_before

        result.elapsed_s = scalar(gateway, LAST_INGEST_MS) / 1000.0 - started
        result.produced_s = scalar(gateway, LAST_RESULT_MS) / 1000.0 - started
        p50, p99, worst = gateway.query(ADDED_LATENCY, {"minus": latency_offset_ms}).rows[0]
        result.latency_p50_ms, result.latency_p99_ms, result.latency_max_ms = p50, p99, worst
        result.statuses = dict(
            gateway.query(
                f"SELECT status, count() FROM agentbus.results FINAL WHERE {NOT_WARMUP} "
                "GROUP BY status ORDER BY status"
            ).rows
        )
        result.tasks_per_agent = dict(
            gateway.query(
                f"SELECT agent, count() FROM agentbus.tasks FINAL WHERE {NOT_WARMUP} "
                "GROUP BY agent ORDER BY agent"
            ).rows
        )
        if measure_in_flight:
            result.peak_in_flight = scalar(gateway, peak_in_flight_sql(per_agent=False))
            result.peak_in_flight_per_agent = dict(
                gateway.query(peak_in_flight_sql(per_agent=True)).rows
            )
        log(f"{name}: {result.completed} results, {result.rate:,.0f} requests/s")
    except Exception as exc:  # noqa: BLE001  # a failed phase is reported; the next one still runs
        result.error = f"{type(exc).__name__}: {exc}"
        log(f"[red]{name} failed: {result.error}[/]")
    finally:
        sampler.stop()
        code = worker.stop()
        log(f"{name}: worker stopped (exit {code})")
        result.issues = log_issues(worker.log_file)
    return result


# -- report -------------------------------------------------------------------------------


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB" if size else "-"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def report(
    raw: RawResult | None,
    fast: PipelineResult | None,
    slow: PipelineResult | None,
    args: argparse.Namespace,
    total_s: float,
) -> None:
    table = Table(title="agentbus pipeline benchmark", show_lines=False)
    table.add_column("phase")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("note")
    ceiling = raw.median if raw else None
    if raw:
        runs = ", ".join(f"{r:,.0f}" for r in raw.rates)
        table.add_row("1 raw ceiling", "events/s (median)", f"{raw.median:,.0f}", f"runs: {runs}")
        table.add_row("", "events per run", f"{raw.events:,}", "aiokafka, 1 hop, codec + route")
    for number, phase in (("2", fast), ("3", slow)):
        if phase is None:
            continue
        table.add_section()
        label = (
            f"{number} e2e sim 0 ms"
            if number == "2"
            else f"{number} e2e sim {SLOW_LATENCY_MS:g} ms"
        )
        if phase.error:
            table.add_row(label, "FAILED", "", phase.error[:80])
        table.add_row(
            label, "requests/s", f"{phase.rate:,.0f}", "submit start -> last result in CH"
        )
        if ceiling:
            table.add_row("", "ratio to raw ceiling", f"{phase.rate / ceiling:.3f}", "")
        if phase.produced_s > 0:
            table.add_row(
                "",
                "results produced/s",
                f"{phase.completed / phase.produced_s:,.0f}",
                f"to Kafka, last after {phase.produced_s:.1f}s (sink lag excluded)",
            )
        table.add_row(
            "",
            "results / requests",
            f"{phase.completed:,} / {phase.requests:,}",
            f"in {phase.elapsed_s:.1f}s; submit took {phase.submit_s:.1f}s",
        )
        offset = " - 1000 ms" if number == "3" else ""
        table.add_row(
            "", "added latency p50", _ms(phase.latency_p50_ms), f"result - request{offset}"
        )
        table.add_row(
            "", "added latency p99", _ms(phase.latency_p99_ms), f"max {_ms(phase.latency_max_ms)}"
        )
        if phase.peak_in_flight is not None:
            per_agent = ", ".join(f"{a} {n}" for a, n in phase.peak_in_flight_per_agent.items())
            table.add_row("", "peak model calls in flight", f"{phase.peak_in_flight:,}", per_agent)
            table.add_row(
                "",
                "concurrency bound",
                f"{_concurrency_bound(phase, args.concurrency):,.0f}",
                f"requests/s if only {args.concurrency}/specialist x 1 s limited",
            )
        if phase.elapsed_s > 0 and phase.completed:
            table.add_row(
                "",
                "worker CPU",
                f"{phase.cpu_s / phase.elapsed_s:.2f} cores",
                f"{phase.cpu_s / phase.completed * 1000:.2f} ms CPU per request",
            )
        table.add_row("", "peak RSS under load", _mib(phase.peak_rss), "agentbus run + children")
        table.add_row("", "RSS idle after warm-up", _mib(phase.idle_rss), "")
        statuses = ", ".join(f"{s} {n}" for s, n in phase.statuses.items())
        tasks = ", ".join(f"{a} {n}" for a, n in phase.tasks_per_agent.items())
        table.add_row("", "result statuses", statuses or "-", f"tasks: {tasks}")
    out.print(table)
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    memory = psutil.virtual_memory().total / 2**30
    out.print(
        f"machine: {platform.machine()} {platform.system()}, {cores} cores ({usable} usable), "
        f"{memory:.1f} GiB RAM, Python {platform.python_version()}; "
        f"N={args.requests:,}, M={args.slow_requests:,}, raw repeats={args.raw_repeat}, "
        f"specialist_concurrency={args.concurrency}, {PARTITIONS} partitions per topic; "
        f"whole run {total_s:.0f}s",
        highlight=False,
    )


def _concurrency_bound(phase: PipelineResult, concurrency: int) -> float:
    """Requests/s if each specialist only waited 1 s per ``concurrency`` tasks, nothing else."""
    rounds = max((-(-tasks // concurrency) for tasks in phase.tasks_per_agent.values()), default=0)
    return phase.completed / (rounds * SLOW_LATENCY_MS / 1000.0) if rounds else 0.0


def print_log_issues(phases: list[PipelineResult], logs_kept: Path | None) -> None:
    for phase in phases:
        total = sum(phase.issues.values())
        where = logs_kept / phase.log_file.name if logs_kept and phase.log_file else phase.log_file
        out.print(f"worker log {phase.name}: {total} warning/error lines ({where})")
        for line, times in phase.issues.most_common(8):
            out.print(f"  {times:>5} x {line}", highlight=False, markup=False)


# -- main ---------------------------------------------------------------------------------


def run_phase(label: str, body: Callable[[], T]) -> T | None:
    """Run one phase; a failure is logged and the remaining phases still run."""
    try:
        return body()
    except Exception as exc:  # noqa: BLE001  # reported: the other phases still give figures
        log(f"[red]{label} failed: {type(exc).__name__}: {exc}[/]")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="N: raw events and fast e2e")
    parser.add_argument(
        "--slow-requests", type=int, default=8_000, help="M: requests at 1 s model latency"
    )
    parser.add_argument("--concurrency", type=int, default=1000, help="specialist_concurrency")
    parser.add_argument("--raw-repeat", type=int, default=3, help="runs of the raw hop")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()

    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="agentbus-bench-"))
    tag = uuid.uuid4().hex[:8]
    raw = fast = slow = None
    phases: list[PipelineResult] = []
    logs_kept: Path | None = None
    try:
        log(f"starting a local Kafka broker under {work}")
        with local_broker(work / "broker") as bootstrap:
            log(f"broker answers on {bootstrap}")
            raw = run_phase(
                "raw ceiling",
                lambda: asyncio.run(raw_ceiling(bootstrap, tag, args.requests, args.raw_repeat)),
            )
            fast = end_to_end(
                bootstrap,
                work,
                tag,
                "e2e-fast",
                args.requests,
                seed=202,
                sim_latency_scale=0.0,
                specialist_concurrency=args.concurrency,
            )
            phases.append(fast)
            slow = end_to_end(
                bootstrap,
                work,
                tag,
                "e2e-slow",
                args.slow_requests,
                seed=303,
                latency_offset_ms=SLOW_LATENCY_MS,
                measure_in_flight=True,
                sim_latency_ms=SLOW_LATENCY_MS,
                sim_latency_scale=1.0,
                specialist_concurrency=args.concurrency,
            )
            phases.append(slow)
            log("stopping the broker")
    finally:
        if args.keep:
            log(f"data kept in {work}")
        else:
            logs_kept = Path(tempfile.mkdtemp(prefix="agentbus-bench-logs-"))
            for phase in phases:
                if phase.log_file and phase.log_file.exists():
                    shutil.copy2(phase.log_file, logs_kept / phase.log_file.name)
            shutil.rmtree(work, ignore_errors=True)
    report(raw, fast, slow, args, time.monotonic() - began)
    print_log_issues(phases, logs_kept)


if __name__ == "__main__":
    main()
