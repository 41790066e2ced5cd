"""One chaos run on real processes, and its report.

Roles spread over several ``agentbus worker`` processes (:mod:`.fleet`); requests
at a steady rate with ~1% odd events (:mod:`.traffic`); meanwhile random SIGKILLs
of every kind of worker, one broker restart, an insert outage of the store
(:mod:`.store_outage`) and model latency x10 through ``agentbus chaos``. Then it
waits until nothing moves and counts, in ClickHouse, every request's terminal
outcomes (:mod:`.accounting`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from streams.broker import BrokerError, LocalKafka, ensure_topics
from streams.broker.groups import group_lag
from streams.roles.runtime import build_runtime
from streams.settings import Settings
from streams.warehouse import WarehouseError
from streams.warehouse.gateway import find_gateway
from tests.chaos.suite.accounting import (
    Accounting,
    account,
    result_events_on_kafka,
    stuck_stage,
)
from tests.chaos.suite.fleet import Exit, Fleet
from tests.chaos.suite.store_outage import StoreOutage
from tests.chaos.suite.traffic import Traffic

__all__ = ["ChaosPlan", "ChaosReport", "chaos_settings", "run_chaos"]

log = logging.getLogger("chaos")


@dataclass(frozen=True)
class ChaosPlan:
    """What one run offers and injects. Times are fractions of the submission window."""

    requests: int = 400
    rate: float = 5.0
    """Requests per second, steady."""
    kills: int = 10
    broker_restarts: int = 1
    outage_s: float = 8.0
    """How long the store refuses inserts."""
    odd_share: float = 0.01
    base_latency_ms: float = 20.0
    """Simulated model latency; the latency fault adds (factor - 1) times this."""
    latency_factor: float = 10.0
    latency_window: tuple[float, float] = (0.6, 0.8)
    settle_timeout_s: float = 300.0
    """Longest wait, after the last request, for every request to have an outcome."""
    quiet_s: float = 60.0
    """Give up settling once outcomes have not changed for this long."""
    seed: int = 11


def chaos_settings(bootstrap: str, data_dir: Path, plan: ChaosPlan, **overrides: Any) -> Settings:
    """Settings of one chaos deployment: unique topic prefix, own store, quick rebalances."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "kafka_bootstrap": bootstrap,
        "topic_prefix": f"chaos{uuid.uuid4().hex[:8]}.",
        "partitions": 3,
        "sim_latency_ms": plan.base_latency_ms,
        "sim_latency_scale": 1.0,
        "sink_flush_seconds": 0.2,
        # A SIGKILLed member leaves its group after this long: keep rebalances short.
        "kafka_session_timeout_s": 6.0,
        "log_level": "info",
    }
    return Settings(**{**values, **overrides})


@dataclass
class ChaosReport:
    """The figures of a run; ``lines()`` renders them for a person."""

    requests: int = 0
    odd_events: dict[str, int] = field(default_factory=dict)
    oversized_note: str = ""
    kills: dict[str, int] = field(default_factory=dict)
    broker_restarts: int = 0
    broker_down_s: float = 0.0
    broker_start_failures: list[str] = field(default_factory=list)
    outage_s: float = 0.0
    latency_fault_s: float = 0.0
    results: int = 0
    terminal_dead_letters: int = 0
    dead_letters_by_type: dict[str, int] = field(default_factory=dict)
    with_outcome: int = 0
    missing: list[str] = field(default_factory=list)
    multi: dict[str, list[str]] = field(default_factory=dict)
    odd_unaccounted: list[str] = field(default_factory=list)
    result_events_on_kafka: int = 0
    requests_with_redelivered_results: int = 0
    max_result_events_per_request: int = 0
    undelivered: int = 0
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    unexpected_exits: list[Exit] = field(default_factory=list)
    log_counts: dict[str, int] = field(default_factory=dict)
    lag_at_end: dict[str, int | None] = field(default_factory=dict)
    stuck: dict[str, dict[str, Any]] = field(default_factory=dict)
    submit_s: float = 0.0
    settle_s: float = 0.0
    run_dir: str = ""

    def lines(self) -> list[str]:
        odd = ", ".join(f"{k} {v}" for k, v in self.odd_events.items())
        rss = ", ".join(f"{k} {v:.0f}" for k, v in self.peak_rss_mib.items())
        lines = [
            f"requests submitted        {self.requests} (+ odd events: {odd})",
            f"kills (SIGKILL) per role  {self.kills} = {sum(self.kills.values())}",
            f"broker restarts           {self.broker_restarts} (down {self.broker_down_s:.1f} s, "
            f"failed starts {len(self.broker_start_failures)})",
            f"store insert outage       {self.outage_s:.1f} s",
            f"model latency x10         {self.latency_fault_s:.1f} s",
            f"terminal outcomes         {self.with_outcome} of {self.requests} requests "
            f"({self.results} results, {self.terminal_dead_letters} dead letters)",
            f"missing                   {len(self.missing)}",
            f"more than one outcome     {len(self.multi)}",
            f"odd events unaccounted    {len(self.odd_unaccounted)}",
            f"result events on Kafka    {self.result_events_on_kafka} "
            f"({self.requests_with_redelivered_results} requests with more than one, "
            f"max {self.max_result_events_per_request})",
            f"dead letters by type      {self.dead_letters_by_type}",
            f"undelivered by the client {self.undelivered}",
            f"peak RSS per worker, MiB  {rss}",
            f"unexpected worker exits   {len(self.unexpected_exits)}",
            f"log lines                 {self.log_counts}",
            f"lag at end                {self.lag_at_end}",
            f"submit / settle           {self.submit_s:.0f} s / {self.settle_s:.0f} s",
            f"run directory             {self.run_dir}",
        ]
        if self.oversized_note:
            lines.append(f"oversized                 {self.oversized_note}")
        for problem in self.odd_unaccounted:
            lines.append(f"  odd: {problem}")
        for rid, kinds in list(self.multi.items())[:10]:
            lines.append(f"  multi: {rid} {kinds}")
        for rid in self.missing[:10]:
            lines.append(f"  missing: {rid} seen in {self.stuck.get(rid) or 'no table'}")
        for gone in self.unexpected_exits[:10]:
            lines.append(
                f"  exit: {gone.slot}#{gone.generation} rc={gone.returncode} "
                f"{gone.log_file}: {gone.last_line}"
            )
        return lines


_LOG_MARKERS = {
    "insert_retries": "ClickHouse insert failed",
    "dead_letter_lines": "dead letter (",
    "agent_crashed": "Crashed reason=",
    "tracebacks": "Traceback (most recent call last)",
}


def _count_log_markers(fleet: Fleet) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for path in fleet.log_files():
        text = Path(path).read_text(errors="replace")
        for name, marker in _LOG_MARKERS.items():
            counts[name] += text.count(marker)
    return dict(counts)


async def _agentbus(settings: Settings, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams.cli.main", *args,
        env=settings.child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    if process.returncode != 0:
        log.error("agentbus %s failed: %s", " ".join(args), output.decode(errors="replace"))


Action = tuple[float, str, Callable[[], Awaitable[None]]]


class _Run:
    """State of one run between its phases."""

    def __init__(self, plan: ChaosPlan, broker: LocalKafka, settings: Settings) -> None:
        self.plan = plan
        self.broker = broker
        self.settings = settings
        self.runtime = build_runtime(settings)
        self.fleet = Fleet(settings, self.runtime)
        self.outage = StoreOutage(settings.data_dir)
        self.report = ChaosReport(run_dir=str(settings.data_dir))
        self.rng = random.Random(plan.seed)
        self.latency_started: float | None = None
        self.background: list[asyncio.Task[None]] = []

    def actions(self, window_s: float) -> list[Action]:
        plan, rng = self.plan, self.rng
        slots = list(self.fleet.layout)
        victims = [slots[i % len(slots)] for i in range(plan.kills)]
        rng.shuffle(victims)
        times = sorted(rng.uniform(0.08, 0.92) for _ in victims)
        acts: list[Action] = [
            (t * window_s, f"kill {name}", self._kill(name))
            for t, name in zip(times, victims, strict=True)
        ]
        for i in range(plan.broker_restarts):
            at = (i + 1) / (plan.broker_restarts + 1)
            acts.append((at * window_s, "broker restart", self._restart_broker))
        if plan.outage_s > 0:
            acts.append((0.25 * window_s, "store outage", self._store_outage))
        if plan.latency_factor > 1:
            start, end = plan.latency_window
            acts.append((start * window_s, "latency x10", self._slow_models))
            acts.append((end * window_s, "latency cleared", self.clear_models))
        return sorted(acts, key=lambda a: a[0])

    def _kill(self, name: str) -> Callable[[], Awaitable[None]]:
        async def kill() -> None:
            await self.fleet.kill(name)
            self.report.kills[name] = self.report.kills.get(name, 0) + 1

        return kill

    async def _restart_broker(self) -> None:
        down = time.monotonic()
        await asyncio.to_thread(self.broker.stop)
        for attempt in range(1, 4):
            try:
                await asyncio.to_thread(self.broker.start, 180.0)
            except BrokerError as exc:
                # A finding, not the end of the run: an operator would start it again.
                log.error("broker start %d failed: %s", attempt, exc)
                self.report.broker_start_failures.append(str(exc).splitlines()[0])
                if attempt == 3:
                    raise
            else:
                break
        self.report.broker_down_s += time.monotonic() - down
        self.report.broker_restarts += 1

    async def _store_outage(self) -> None:
        """Begins the outage; it ends ``outage_s`` after it took effect, in the background."""
        await self.outage.begin()

        async def end_later() -> None:
            await asyncio.sleep(self.plan.outage_s)  # the outage's length is the experiment
            await self.outage.end()

        self.background.append(asyncio.create_task(end_later()))

    async def _slow_models(self) -> None:
        extra = self.plan.base_latency_ms * (self.plan.latency_factor - 1)
        await _agentbus(self.settings, "chaos", "*", "--latency-ms", f"{extra:g}")
        self.latency_started = time.monotonic()

    async def clear_models(self) -> None:
        await _agentbus(self.settings, "chaos", "*", "--clear")
        if self.latency_started is not None:
            self.report.latency_fault_s += time.monotonic() - self.latency_started
            self.latency_started = None

    async def chaos(self, started: float, acts: list[Action]) -> None:
        """Runs the actions in order, each at its time or as soon after as the last allows."""
        for at, what, act in acts:
            delay = started + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # the schedule is the experiment, not a wait
            log.info("t+%.0fs %s", time.monotonic() - started, what)
            await act()

    async def watch(self) -> None:
        """Supervisor and RSS sampler, once a second until cancelled."""
        while True:
            await self.fleet.supervise_once()
            self.fleet.sample_rss()
            await asyncio.sleep(1.0)

    async def settle(self, traffic: Traffic) -> Accounting:
        """Poll the outcomes until all are in, or until they stop changing."""
        started = last_change = time.monotonic()
        last: tuple[int, int] | None = None
        accounting: Accounting | None = None
        while True:
            gateway = find_gateway(self.settings.data_dir)
            if gateway is not None:
                try:
                    accounting = await asyncio.to_thread(
                        account, gateway, self.runtime, traffic.ledger
                    )
                except WarehouseError as exc:
                    log.info("accounting query failed, asking again: %s", exc)
                else:
                    now = (accounting.terminal, len(accounting.odd_unaccounted))
                    if now != last:
                        last, last_change = now, time.monotonic()
                    if accounting.settled:
                        break
            waited = time.monotonic() - started
            if waited > self.plan.settle_timeout_s or (
                accounting is not None and time.monotonic() - last_change > self.plan.quiet_s
            ):
                break
            await asyncio.sleep(2.0)
        self.report.settle_s = time.monotonic() - started
        if accounting is None:
            raise RuntimeError("no accounting: the store never answered")
        return accounting

    async def finish(self, accounting: Accounting, traffic: Traffic) -> None:
        report = self.report
        report.requests = accounting.requests
        report.results = accounting.results
        report.terminal_dead_letters = accounting.dead_letters
        report.dead_letters_by_type = dict(accounting.letters_by_type)
        report.with_outcome = accounting.terminal
        report.missing = accounting.missing
        report.multi = accounting.multi
        report.odd_unaccounted = accounting.odd_unaccounted
        report.undelivered = len(traffic.ledger.undelivered())
        report.odd_events = dict(Counter(s.kind for s in traffic.ledger.odd()))
        report.oversized_note = "; ".join(
            f"{s.size} B accepted {s.note}" for s in traffic.ledger.odd() if s.kind == "oversized"
        )
        per_request = await result_events_on_kafka(self.runtime)
        report.result_events_on_kafka = sum(per_request.values())
        report.requests_with_redelivered_results = sum(1 for n in per_request.values() if n > 1)
        report.max_result_events_per_request = max(per_request.values(), default=0)
        report.peak_rss_mib = {
            name: slot.peak_rss / 2**20 for name, slot in self.fleet.slots.items()
        }
        report.unexpected_exits = list(self.fleet.exits)
        report.log_counts = _count_log_markers(self.fleet)
        for role, group in self.fleet.groups().items():
            try:
                report.lag_at_end[role] = await group_lag(self.settings.kafka_bootstrap, group)
            except Exception:  # noqa: BLE001  # a figure of the report, not a verdict
                report.lag_at_end[role] = None
        gateway = find_gateway(self.settings.data_dir)
        if gateway is not None and report.missing:
            report.stuck = await asyncio.to_thread(stuck_stage, gateway, report.missing[:50])

    def save(self, traffic: Traffic) -> None:
        out = self.settings.data_dir
        (out / "ledger.json").write_text(
            json.dumps([asdict(s) for s in traffic.ledger.sent], indent=0)
        )
        (out / "report.json").write_text(json.dumps(asdict(self.report), indent=1, default=str))


async def _run(plan: ChaosPlan, broker: LocalKafka, settings: Settings) -> ChaosReport:
    run = _Run(plan, broker, settings)
    await ensure_topics(settings.kafka_bootstrap, run.runtime.topics.specs())
    run.fleet.start()
    watcher: asyncio.Task[None] | None = None
    traffic = Traffic(run.runtime, seed=plan.seed)
    try:
        await run.fleet.wait_ready()
        watcher = asyncio.create_task(run.watch())
        window_s = plan.requests / plan.rate
        async with traffic:
            started = time.monotonic()
            chaos = asyncio.create_task(run.chaos(started, run.actions(window_s)))
            await traffic.run(plan.requests, plan.rate, odd_share=plan.odd_share)
            await chaos
            await asyncio.gather(*run.background)
            run.report.submit_s = time.monotonic() - started
        # Whatever the schedule did, the faults end before settling.
        if run.outage.started_at is not None:
            await run.outage.end()
        if run.latency_started is not None:
            await run.clear_models()
        run.report.outage_s = run.outage.seconds
        accounting = await run.settle(traffic)
        await run.finish(accounting, traffic)
        run.save(traffic)
    finally:
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        await asyncio.to_thread(run.fleet.stop)
    return run.report


def run_chaos(plan: ChaosPlan, broker: LocalKafka, settings: Settings) -> ChaosReport:
    """Run ``plan`` against ``settings``' deployment on ``broker`` (which it restarts)."""
    return asyncio.run(_run(plan, broker, settings))
