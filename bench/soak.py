"""Overload soak: offer three times what the workers serve and watch their memory.

Run from the repository root::

    .venv/bin/python -m bench.soak --minutes 5

One run starts its own Kafka broker (free ports, temporary directory) and the
chaos suite's worker layout (one sink, one router, two processes of two
specialists each; ``--single`` runs one ``agentbus run`` instead), sim latency 0.

1. **Capacity**: a burst of ``--burst`` requests; served rate = burst / time
   until the last result is in ClickHouse.
2. **Overload**: requests at ``--factor`` x that rate for ``--minutes`` minutes
   (bounded count), steady. Every worker's RSS and every role's consumer lag are
   sampled every 5 s.
3. **Drain**: until every request has an outcome (bounded), still sampling.

Printed: RSS per worker per minute, lag per minute, and the verdicts: each
worker's RSS within +-10% of its level after the first minute of overload (the
median of the second minute's samples); the
backlog waited in Kafka (lag grew while RSS stayed flat); every request has
exactly one outcome. Exits 1 if a verdict fails.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from streams.broker import LocalKafka, LocalKafkaConfig, ensure_topics
from streams.broker.groups import group_lag
from streams.broker.ports import free_ports
from streams.roles.runtime import Runtime, build_runtime
from streams.settings import Settings
from streams.warehouse import WarehouseError
from streams.warehouse.gateway import GatewayClient, find_gateway
from tests.chaos.suite.fleet import DEFAULT_LAYOUT, Fleet
from tests.chaos.suite.traffic import Traffic

log = logging.getLogger("soak")

SAMPLE_S = 5.0
# Outcomes are counted by a query on the sink's store; during the overload only this
# often, so the probe adds little to the memory and CPU it measures.
COUNT_EVERY_S = 30.0
TOLERANCE = 0.10
_COUNTS = ("parts", "outdated_parts", "GlobalThread")  # store figures that are not bytes
MIB = 2**20


@dataclass
class Sample:
    t: float  # seconds since the overload began
    phase: str
    rss: dict[str, int]
    lag: dict[str, int | None]
    outcomes: int


@dataclass
class Soak:
    settings: Settings
    runtime: Runtime
    fleet: Fleet
    samples: list[Sample] = field(default_factory=list)
    phase: str = "capacity"
    t0: float = 0.0
    outcomes: int = 0

    def gateway(self) -> GatewayClient | None:
        return find_gateway(self.settings.data_dir)

    def count_outcomes(self) -> int:
        """Requests with at least one terminal outcome (results or dead letters)."""
        gateway = self.gateway()
        if gateway is None:
            return self.outcomes
        try:
            rows = gateway.query(
                "SELECT uniqExact(request_id) FROM ("
                "SELECT request_id FROM agentbus.results UNION ALL "
                "SELECT request_id FROM agentbus.dead_letters "
                "WHERE request_id != '' AND error_type != 'contract_violation')"
            ).rows
        except WarehouseError:
            return self.outcomes
        self.outcomes = int(rows[0][0])
        return self.outcomes

    def store_memory(self) -> dict[str, int]:
        """The sink's embedded ClickHouse: memory it tracks, its caches, active and
        merged-away parts, its global pool's threads, and what its allocator holds (chdb
        carries its own jemalloc: ``allocated`` is live, ``resident`` what it keeps in
        RAM; ClickHouse's tracker sees only part of it)."""
        gateway = self.gateway()
        if gateway is None:
            return {}
        try:
            metrics = gateway.query(
                "SELECT metric, value FROM system.metrics WHERE metric IN ("
                "'MemoryTracking', 'MarkCacheBytes', 'PrimaryIndexCacheBytes', "
                "'IndexMarkCacheBytes', 'UncompressedCacheBytes', 'QueryConditionCacheBytes', "
                "'CompiledExpressionCacheBytes', 'QueryCacheBytes', 'GlobalThread')"
            ).rows
            parts = gateway.query(
                "SELECT countIf(active), countIf(NOT active), "
                "sumIf(primary_key_bytes_in_memory_allocated, active) FROM system.parts "
                "WHERE database = 'agentbus'"
            ).rows[0]
            jemalloc = gateway.query("SELECT * FROM system.jemalloc_stats").rows
        except WarehouseError:
            return {}
        shown = {str(name): int(value) for name, value in metrics}
        for line in str(jemalloc[0][0] if jemalloc else "").splitlines():
            if line.startswith("Allocated:"):  # "Allocated: N, active: N, …, resident: N, …"
                found = dict(re.findall(r"(\w+): (\d+)", line))
                shown["jemalloc_allocated"] = int(found.get("Allocated", 0))
                shown["jemalloc_resident"] = int(found.get("resident", 0))
        shown["parts"], shown["outdated_parts"] = int(parts[0]), int(parts[1])
        shown["PrimaryKeyBytes"] = int(parts[2] or 0)
        return shown

    async def sampler(self) -> None:
        counted_at = -COUNT_EVERY_S
        while True:
            await self.fleet.supervise_once()
            rss = self.fleet.sample_rss()
            lag: dict[str, int | None] = {}
            for role, group in self.fleet.groups().items():
                try:
                    lag[role] = await group_lag(self.settings.kafka_bootstrap, group)
                except Exception:  # noqa: BLE001  # a sample, not a verdict: ask again later
                    lag[role] = None
            now = time.monotonic()
            if self.phase != "overload" or now - counted_at >= COUNT_EVERY_S:
                counted_at = now
                await asyncio.to_thread(self.count_outcomes)
                store = await asyncio.to_thread(self.store_memory)
                log.info(
                    "sink store: %s",
                    {k: v if k in _COUNTS else round(v / MIB, 1) for k, v in store.items()},
                )
            outcomes = self.outcomes
            sample = Sample(now - self.t0, self.phase, rss, lag, outcomes)
            self.samples.append(sample)
            log.info(
                "%s t=%.0fs rss MiB %s lag %s outcomes %d",
                sample.phase,
                sample.t,
                {name: round(value / MIB) for name, value in rss.items()},
                lag,
                outcomes,
            )
            await asyncio.sleep(SAMPLE_S)

    async def wait_outcomes(self, want: int, limit_s: float) -> float:
        """Seconds until ``want`` requests have an outcome (raises after ``limit_s``)."""
        started = time.monotonic()
        while await asyncio.to_thread(self.count_outcomes) < want:
            if time.monotonic() - started > limit_s:
                raise TimeoutError(f"{self.outcomes} of {want} outcomes after {limit_s:.0f}s")
            await asyncio.sleep(0.5)
        return time.monotonic() - started

    def exactly_once(self) -> tuple[int, int]:
        """(requests with an outcome, requests with more than one distinct outcome)."""
        gateway = self.gateway()
        assert gateway is not None
        row = gateway.query(
            "SELECT count(), countIf(n > 1) FROM (SELECT request_id, uniqExact(event_id) AS n "
            "FROM (SELECT request_id, event_id FROM agentbus.results FINAL UNION ALL "
            "SELECT request_id, event_id FROM agentbus.dead_letters FINAL "
            "WHERE request_id != '' AND error_type != 'contract_violation') GROUP BY request_id)"
        ).rows[0]
        return int(row[0]), int(row[1])


def _mib(value: int | None) -> str:
    return "-" if not value else f"{value / MIB:.0f}"


def _per_minute(samples: list[Sample]) -> list[Sample]:
    """The last sample of each minute since the overload began (and the first one)."""
    chosen: dict[int, Sample] = {}
    for sample in samples:
        if sample.t >= 0:
            chosen[int(sample.t // 60)] = sample
    return [chosen[k] for k in sorted(chosen)]


def report(soak: Soak, served: float, offered: float, minutes: float) -> bool:
    names = list(soak.fleet.slots)
    roles = list(soak.fleet.groups())
    print(
        f"\nserved {served:.0f} req/s in the burst; offered {offered:.0f} req/s for {minutes} min"
    )
    print("\nminute  phase     " + "  ".join(f"{n:>14}" for n in names) + "   outcomes")
    for s in _per_minute(soak.samples):
        cells = "  ".join(f"{_mib(s.rss.get(n)):>14}" for n in names)
        print(f"{s.t / 60:6.1f}  {s.phase:8}  {cells}   {s.outcomes:8}   (RSS MiB)")
    print("\nminute  " + "  ".join(f"{r:>22}" for r in roles) + "   (consumer lag)")
    for s in _per_minute(soak.samples):
        print(f"{s.t / 60:6.1f}  " + "  ".join(f"{s.lag.get(r) or 0:>22}" for r in roles))

    ok = True
    overload = [s for s in soak.samples if s.phase == "overload"]
    after_first = [s for s in overload if s.t >= 60]
    print()
    for name in names:
        values = [s.rss[name] for s in after_first if s.rss.get(name)]
        second = [s.rss[name] for s in after_first if s.t < 120 and s.rss.get(name)]
        if not values or not second:
            print(f"{name}: no samples after the first minute")
            continue
        # The level after the first minute: the median of the second minute's samples
        # (one 5 s sample can sit on an allocator or merge swing).
        level = statistics.median(second)
        worst = max(values, key=lambda v: abs(v - level))
        drift = (worst - level) / level
        verdict = "ok" if abs(drift) <= TOLERANCE else "GROWS" if drift > 0 else "SHRINKS"
        ok &= verdict == "ok"
        print(
            f"{name:14} RSS level (minute 2 median) {level / MIB:.0f} MiB, furthest "
            f"{worst / MIB:.0f} MiB "
            f"({drift:+.0%}), peak {max(values) / MIB:.0f} MiB: {verdict}"
        )
    intake_lag = [s.lag.get("router") or 0 for s in overload]
    grew = len(intake_lag) > 2 and intake_lag[-1] > intake_lag[len(intake_lag) // 3]
    print(
        f"intake backlog in Kafka (router lag) {intake_lag[:1]} -> {intake_lag[-1:]}: "
        f"{'waits in Kafka' if grew else 'did not grow'}"
    )
    return ok


async def run(args: argparse.Namespace, bootstrap: str, root: Path) -> bool:
    settings = Settings(
        data_dir=root / "agentbus",
        kafka_bootstrap=bootstrap,
        topic_prefix=f"soak{uuid.uuid4().hex[:8]}.",
        partitions=6,
        sim_latency_scale=0.0,
        log_level="info",
    )
    runtime = build_runtime(settings)
    await ensure_topics(bootstrap, runtime.topics.specs())
    layout = {"run": []} if args.single else DEFAULT_LAYOUT
    fleet = Fleet(settings, runtime, layout)
    fleet.start()
    soak = Soak(settings, runtime, fleet)
    sampler: asyncio.Task[None] | None = None
    try:
        await fleet.wait_ready()
        soak.t0 = time.monotonic()
        sampler = asyncio.create_task(soak.sampler())
        async with Traffic(runtime, seed=3, producer="soak") as traffic:
            log.info("capacity burst of %d requests", args.burst)
            started = time.monotonic()
            await traffic.run(args.burst, rate=1e9, odd_share=0)
            await soak.wait_outcomes(args.burst, limit_s=600)
            served = args.burst / (time.monotonic() - started)
            offered = served * args.factor
            count = min(int(offered * args.minutes * 60), args.max_requests)
            log.info("served %.0f req/s; offering %.0f req/s, %d requests", served, offered, count)
            soak.phase, soak.t0 = "overload", time.monotonic()
            await traffic.run(count, rate=offered, odd_share=0)
            soak.phase = "drain"
            total = args.burst + count
            undelivered = len(traffic.ledger.undelivered())
        try:
            drain = await soak.wait_outcomes(total - undelivered, limit_s=args.drain_minutes * 60)
            drained = f"drain took {drain:.0f}s"
        except TimeoutError as exc:
            # Still report the memory figures; the outcome verdict fails below.
            drained = f"drain incomplete: {exc}"
        log.info(drained)
        answered, multi = soak.exactly_once()
        ok = report(soak, served, offered, args.minutes)
        print(
            f"outcomes: {answered} of {total} requests ({undelivered} undelivered), "
            f"{multi} with more than one distinct outcome; {drained}"
        )
        return ok and answered == total and multi == 0
    finally:
        if sampler is not None:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
        await asyncio.to_thread(fleet.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0, help="overload duration")
    parser.add_argument("--factor", type=float, default=3.0, help="offered / served rate")
    parser.add_argument("--burst", type=int, default=3000, help="requests of the capacity burst")
    parser.add_argument("--max-requests", type=int, default=600_000)
    parser.add_argument("--drain-minutes", type=float, default=30.0)
    parser.add_argument("--single", action="store_true", help="one `agentbus run` process")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("aiokafka", "httpx"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    root = Path(tempfile.mkdtemp(prefix="agentbus-soak-"))
    port, controller = free_ports(2)
    broker = LocalKafka(
        LocalKafkaConfig(data_dir=root / "broker", port=port, controller_port=controller)
    )
    broker.start()
    try:
        ok = asyncio.run(run(args, broker.bootstrap, root))
    finally:
        broker.stop()
    if args.keep or not ok:
        print(f"kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
