"""A report as a DAG workflow beside the same tasks run one after another.

Run from the repository root::

    .venv/bin/python -m bench.dag_bench [--workflows N] [--rate R]

One run starts its own single-node Kafka broker and one ``agentbus run`` worker (router,
orchestrator, specialists and sink in one process) with the system in
``bench/dag_system.py``: five agents, each on a simulated model with a fixed real
latency (200 to 500 ms), and two workflows over them:

* ``report``: fetch_ledger → (categorise → chart) ∥ check_anomalies → summarise;
* ``report_chain``: the same five steps, each waiting for the one before.

The client submits requests naming a workflow and follows the ``results`` topic, as a
user's client would; a workflow's time is from its submit to its result arriving.
Two modes, ``N`` workflows of each kind per mode:

1. **one at a time**: submit, wait for the result, submit the next; the two kinds take
   turns, so both see the same machine;
2. **steady rate**: ``R`` workflows/s of one kind, then of the other (open loop: the
   time includes any wait behind earlier workflows).

Printed per workflow kind: p50/p95/max and mean, the time beyond the model's (p50
minus the critical path: what orchestration, Kafka and the specialists add) and the
worker's CPU per workflow; then the ratios DAG/chain beside the best the shape allows
(critical path / sum of step latencies). Afterwards the workflow events in ClickHouse
are counted: every request should have 5 steps dispatched and completed and one
``finished`` event. Figures are printed, never asserted: compare rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from bench.dag_system import CHAIN, DAG, STEP_MS, critical_path_ms
from bench.pipeline_bench import local_broker, log, log_issues
from streams.broker import ensure_topics
from streams.client import AgentbusClient, ResultFollower
from streams.roles.runtime import Runtime, build_runtime
from streams.settings import Settings
from streams.supervise import WorkerProcess, spawn_worker, wait_for_gateway
from streams.warehouse.gateway import GatewayClient, find_gateway

out = Console(width=None if sys.stdout.isatty() else 160)

PARTITIONS = 6
TENANT = "bench"
WARMUP_TENANT = "bench-warmup"
RESULT_TIMEOUT_S = 60.0
"""Longest a lone workflow may take before it counts as missing."""

# -- the stack: a local broker and one `agentbus run` ------------------------------------


@dataclass
class Stack:
    settings: Settings
    runtime: Runtime
    worker: WorkerProcess
    gateway: GatewayClient

    def cpu_s(self) -> float:
        """User + system CPU seconds the worker has used so far."""
        times = psutil.Process(self.worker.pid).cpu_times()
        return times.user + times.system

    async def idle_cores(self, seconds: float = 5.0) -> float:
        """Cores the worker uses with nothing to do (timers, polls, the sink's flushes):
        subtracted from a phase's CPU so a slow phase is not charged for waiting."""
        before = self.cpu_s()
        await asyncio.sleep(seconds)
        return (self.cpu_s() - before) / seconds


@contextmanager
def flows_stack(system: str, name: str, *, keep: bool) -> Iterator[Stack]:
    """A fresh broker and an ``agentbus run`` of ``system``; both stopped on exit, the
    worker's log copied to a directory that outlives the run (printed)."""
    work = Path(tempfile.mkdtemp(prefix=f"agentbus-{name}-"))
    worker: WorkerProcess | None = None
    try:
        log(f"starting a local Kafka broker under {work}")
        with local_broker(work / "broker") as bootstrap:
            settings = Settings(
                data_dir=work / "agentbus",
                kafka_bootstrap=bootstrap,
                topic_prefix=f"{name}{uuid.uuid4().hex[:8]}.",
                partitions=PARTITIONS,
                system=system,
                sink_flush_seconds=0.2,
            )
            runtime = build_runtime(settings)
            asyncio.run(ensure_topics(bootstrap, runtime.topics.specs()))
            worker = spawn_worker(settings, log_name=name)
            try:
                wait_for_gateway(worker, settings)
                gateway = find_gateway(settings.data_dir)
                if gateway is None:
                    raise RuntimeError("the gateway vanished right after start-up")
                log(f"worker {worker.pid} serves {system}")
                yield Stack(settings, runtime, worker, gateway)
            finally:
                code = worker.stop()
                log(f"worker stopped (exit {code})")
    finally:
        if worker is not None:
            kept = Path(tempfile.mkdtemp(prefix=f"agentbus-{name}-logs-"))
            shutil.copy2(worker.log_file, kept / worker.log_file.name)
            issues = log_issues(worker.log_file)
            out.print(
                f"worker log: {sum(issues.values())} warning/error lines "
                f"({kept / worker.log_file.name})",
                highlight=False,
            )
            for line, times in issues.most_common(6):
                out.print(f"  {times:>5} x {line}", highlight=False, markup=False)
        if keep:
            log(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


# -- the client: submit, and see results as they arrive ------------------------------------


@dataclass
class Outcome:
    target: str
    latency_s: float | None = None
    """Submit to result seen by the client; None if it never came."""
    status: str | None = None


class Driver:
    """Submits requests and follows ``results`` the way a user's client does: one
    producer, one group-less follower; a result is matched to its request by id."""

    def __init__(self, runtime: Runtime, tenant: str = TENANT) -> None:
        self._client = AgentbusClient(runtime, producer_role="bench")
        self._follower = ResultFollower(runtime)
        self._tenant = tenant
        self._pending: dict[str, tuple[float, asyncio.Future[tuple[float, str]]]] = {}
        self._seen: set[str] = set()
        self._reader: asyncio.Task[None] | None = None
        self.duplicates = 0
        """Results for a request that had one already (the orchestrator promises one)."""
        self.wrong_agent: Counter[str] = Counter()

    async def __aenter__(self) -> Driver:
        await self._follower.start()
        await self._client.start()
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._client.stop()
        await self._follower.stop()

    async def _read(self) -> None:
        async for result in self._follower.results():
            seen_at = time.perf_counter()
            request_id = result["request_id"]
            if request_id in self._seen:
                self.duplicates += 1
                continue
            entry = self._pending.pop(request_id, None)
            if entry is None:
                continue  # not ours (another tenant's warm-up, an earlier run)
            self._seen.add(request_id)
            submitted, future = entry
            if not future.done():
                future.set_result((seen_at - submitted, f"{result['agent']}:{result['status']}"))

    async def submit(self, target: str, text: str) -> asyncio.Future[tuple[float, str]]:
        """Produce one request; the future resolves to (seconds, "agent:status")."""
        request_id = str(uuid.uuid4())
        future: asyncio.Future[tuple[float, str]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (time.perf_counter(), future)
        await self._client.submit(
            text, tenant=self._tenant, target_agent=target, request_id=request_id
        )
        return future

    async def outcome(self, target: str, future: asyncio.Future[Any]) -> Outcome:
        """The request's outcome; missing after ``RESULT_TIMEOUT_S``."""
        try:
            async with asyncio.timeout(RESULT_TIMEOUT_S):
                latency, agent_status = await future
        except TimeoutError:
            return Outcome(target)
        agent, _, status = agent_status.partition(":")
        if agent != target:
            self.wrong_agent[f"{target} answered by {agent}"] += 1
        return Outcome(target, latency, status)

    async def one(self, target: str, text: str) -> Outcome:
        return await self.outcome(target, await self.submit(target, text))

    async def at_rate(self, target: str, count: int, rate: float, prefix: str) -> list[Outcome]:
        """``count`` requests at ``rate``/s on a fixed schedule, then wait for them all."""
        begun = time.perf_counter()
        futures = []
        for i in range(count):
            delay = begun + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            futures.append(await self.submit(target, f"{prefix} {i}: {TEXTS[i % len(TEXTS)]}"))
        await self._client.flush()
        return list(await asyncio.gather(*(self.outcome(target, f) for f in futures)))


TEXTS = (
    "spending report for March: groceries, rent, travel",
    "where did my money go last quarter",
    "monthly report for the joint account with anything unusual",
    "summarise card spending since January",
)


# -- figures ---------------------------------------------------------------------------------


@dataclass
class Phase:
    mode: str
    target: str
    outcomes: list[Outcome] = field(default_factory=list)
    cpu_s: float = 0.0
    """CPU seconds the worker used while this phase's requests ran."""
    wall_s: float = 0.0
    """Seconds this phase's requests ran (for the idle share of ``cpu_s``)."""

    def busy_cpu_ms(self, idle_cores: float) -> float:
        """Worker CPU per request beyond its idle use over the same time, ms."""
        if not self.outcomes:
            return math.nan
        return (self.cpu_s - idle_cores * self.wall_s) / len(self.outcomes) * 1000

    @property
    def latencies(self) -> list[float]:
        return sorted(o.latency_s for o in self.outcomes if o.latency_s is not None)

    @property
    def missing(self) -> int:
        return sum(o.latency_s is None for o in self.outcomes)

    @property
    def statuses(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes if o.status is not None)

    def quantile(self, q: float) -> float:
        """Nearest-rank quantile of the latencies, in seconds (NaN if none)."""
        values = self.latencies
        return values[max(0, math.ceil(q * len(values)) - 1)] if values else math.nan

    @property
    def mean(self) -> float:
        values = self.latencies
        return statistics.fmean(values) if values else math.nan

    def trend(self) -> str:
        """Mean latency of the first and the last tenth, in submit order: a rising
        figure means a backlog grew (the rate was more than the worker served)."""
        tenth = max(1, len(self.outcomes) // 10)

        def mean_of(outcomes: list[Outcome]) -> float:
            values = [o.latency_s for o in outcomes if o.latency_s is not None]
            return statistics.fmean(values) if values else math.nan

        return f"{ms(mean_of(self.outcomes[:tenth]))} / {ms(mean_of(self.outcomes[-tenth:]))}"


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:,.0f}"


def ratio(a: float, b: float) -> str:
    return "-" if math.isnan(a) or math.isnan(b) or b == 0 else f"{a / b:.2f}"


def machine_line() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"machine: {platform.machine()} {platform.system()}, {cores} cores ({usable} usable), "
        f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM, Python "
        f"{platform.python_version()}; load average {load} (shared with other work)"
    )


# -- the bench ---------------------------------------------------------------------------------


@dataclass
class Run:
    phases: list[Phase] = field(default_factory=list)
    idle_cores: float = 0.0
    duplicates: int = 0
    wrong_agent: Counter[str] = field(default_factory=Counter)


async def warm_up(stack: Stack, targets: Sequence[str], rounds: int = 2) -> None:
    """A few requests per target through every role, so consumer groups have settled."""
    async with Driver(stack.runtime, tenant=WARMUP_TENANT) as warm:
        log(f"warm-up: {rounds} of each of {', '.join(targets)}")
        for i in range(rounds):
            for target in targets:
                warmed = await warm.one(target, f"warm-up {i}")
                if warmed.latency_s is None:
                    raise RuntimeError(f"warm-up {target} got no result in {RESULT_TIMEOUT_S}s")


async def run_phases(stack: Stack, workflows: int, rate: float) -> Run:
    run = Run()
    phases = run.phases
    await warm_up(stack, (DAG, CHAIN))
    run.idle_cores = await stack.idle_cores()
    async with Driver(stack.runtime) as driver:
        # One at a time, the two kinds taking turns.
        serial = {t: Phase("one at a time", t) for t in (DAG, CHAIN)}
        log(f"one at a time: {workflows} of each, taking turns")
        for i in range(workflows):
            for target, phase in serial.items():
                before, begun = stack.cpu_s(), time.perf_counter()
                phase.outcomes.append(await driver.one(target, f"serial {i}: {TEXTS[i % 4]}"))
                phase.cpu_s += stack.cpu_s() - before
                phase.wall_s += time.perf_counter() - begun
        phases += serial.values()
        # A steady rate, one kind after the other.
        for target in (DAG, CHAIN):
            log(f"steady rate: {workflows} {target} at {rate:g}/s")
            phase = Phase(f"{rate:g}/s", target)
            before, begun = stack.cpu_s(), time.perf_counter()
            phase.outcomes = await driver.at_rate(target, workflows, rate, f"rate {target}")
            phase.cpu_s = stack.cpu_s() - before
            phase.wall_s = time.perf_counter() - begun
            phases.append(phase)
        run.duplicates, run.wrong_agent = driver.duplicates, driver.wrong_agent
    return run


WORKFLOW_COUNTS = f"""
SELECT workflow, kind, count(), uniqExact(request_id) FROM agentbus.workflow_events FINAL
WHERE tenant = '{TENANT}' GROUP BY workflow, kind ORDER BY workflow, kind
"""


def workflow_counts(stack: Stack, expected: int) -> dict[str, dict[str, int]]:
    """Workflow events per workflow and kind once the sink has caught up (or 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        rows = stack.gateway.query(WORKFLOW_COUNTS).rows
        counts: dict[str, dict[str, int]] = {}
        for workflow, kind, events, _requests in rows:
            counts.setdefault(workflow, {})[kind] = int(events)
        finished = [counts.get(w, {}).get("finished", 0) for w in (DAG, CHAIN)]
        if all(f >= expected for f in finished) or time.monotonic() > deadline:
            return counts
        time.sleep(1.0)


def report(run: Run, counts: dict[str, dict[str, int]], args: Any, total: float) -> None:
    phases = run.phases
    path = {DAG: critical_path_ms() / 1000, CHAIN: sum(STEP_MS.values()) / 1000}
    table = Table(title="DAG workflow vs the same steps in a chain (client-side times, ms)")
    for column in ("mode", "workflow", "done", "p50", "p95", "max", "mean", "p50 - model"):
        table.add_column(column, justify="left" if column in ("mode", "workflow") else "right")
    table.add_column("first / last 10%", justify="right")
    table.add_column("CPU ms/wf", justify="right")  # beyond the worker's idle use
    table.add_column("statuses")
    for phase in phases:
        done = len(phase.latencies)
        table.add_row(
            phase.mode,
            phase.target,
            f"{done}/{len(phase.outcomes)}",
            ms(phase.quantile(0.5)),
            ms(phase.quantile(0.95)),
            ms(phase.quantile(1.0)),
            ms(phase.mean),
            ms(phase.quantile(0.5) - path[phase.target]),
            phase.trend(),
            ms(phase.busy_cpu_ms(run.idle_cores) / 1000),
            ", ".join(f"{s} {n}" for s, n in sorted(phase.statuses.items())),
        )
    out.print(table)
    best = critical_path_ms() / sum(STEP_MS.values())
    ratios = Table(title="ratio DAG / chain (lower: the DAG saves more)")
    for column in ("mode", "p50", "p95", "mean", "best the shape allows"):
        ratios.add_column(column, justify="left" if column == "mode" else "right")
    modes = dict.fromkeys(p.mode for p in phases)
    for mode in modes:
        dag, chain = (
            next(p for p in phases if p.mode == mode and p.target == t) for t in (DAG, CHAIN)
        )
        ratios.add_row(
            mode,
            ratio(dag.quantile(0.5), chain.quantile(0.5)),
            ratio(dag.quantile(0.95), chain.quantile(0.95)),
            ratio(dag.mean, chain.mean),
            f"{best:.2f}",
        )
    out.print(ratios)
    steps = ", ".join(f"{name} {ms_:g}" for name, ms_ in STEP_MS.items())
    out.print(
        f"model time per workflow: chain {sum(STEP_MS.values()):g} ms, DAG critical path "
        f"{critical_path_ms():g} ms (steps, ms: {steps})",
        highlight=False,
    )
    out.print(
        f"worker CPU: idle {run.idle_cores:.2f} cores (subtracted over each phase's time); "
        f"results seen twice: {run.duplicates}; answered by another agent: "
        f"{dict(run.wrong_agent) or 0}",
        highlight=False,
    )
    for workflow in (DAG, CHAIN):
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(counts.get(workflow, {}).items()))
        out.print(f"workflow events in ClickHouse, {workflow}: {kinds or 'none'}", highlight=False)
    out.print(
        f"{machine_line()}; N={args.workflows} per kind and mode, rate {args.rate:g}/s, "
        f"{PARTITIONS} partitions, one `agentbus run`; whole run {total:.0f}s",
        highlight=False,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=20, help="N per kind and mode")
    parser.add_argument("--rate", type=float, default=3.0, help="workflows/s in the rate mode")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args(argv)
    began = time.monotonic()
    with flows_stack("bench.dag_system:system", "dagbench", keep=args.keep) as stack:
        run = asyncio.run(run_phases(stack, args.workflows, args.rate))
        counts = workflow_counts(stack, expected=2 * args.workflows)
    report(run, counts, args, time.monotonic() - began)


if __name__ == "__main__":
    main()
