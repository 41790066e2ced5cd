"""Orchestration overhead of a pipeline, per item and per stage.

Run from the repository root::

    .venv/bin/python -m bench.stage_bench [--stages K] [--items N] [--rate R]

One run starts its own single-node Kafka broker and one ``agentbus run`` worker with
the system in ``bench/stage_system.py``: agents ``s1`` … ``s8`` on a simulated model
that answers at once (latency 0), and pipelines ``pipe1``, ``pipe2``, ``pipe4`` and
``pipe8`` over them. Three targets are measured with the same client (submit, follow
``results``; time from submit to the result seen):

* **star**: the request names ``s1`` (router → specialist → result);
* ``pipe1``: a one-stage pipeline (router → orchestrator → s1 → orchestrator → result);
* ``pipe<K>``: K stages.

Each target runs in two modes: **one at a time** (``--serial`` items, the targets taking
turns: latency without queueing) and **steady rate** (``N`` items at ``R``/s, one
target after the other: the worker's CPU per item, net of its idle use over the same
time, with psutil). The overhead per stage per item is ``(pipe<K> - star) / K``; the
slope ``(pipe<K> - pipe1) / (K - 1)`` leaves out the once-per-request costs
(forwarding to the orchestrator, the final result) and is the cost of one more stage.
Figures are printed, never asserted: compare rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections.abc import Sequence

from rich.table import Table

from bench.dag_bench import (
    TENANT,
    Driver,
    Phase,
    Run,
    Stack,
    flows_stack,
    machine_line,
    ms,
    out,
    warm_up,
)
from bench.pipeline_bench import log
from bench.stage_system import STAGE_COUNTS, STAR_AGENT, pipeline_name

STAR = "star"
SERIAL_TENANT = f"{TENANT}-serial"

HOPS = """
SELECT count(), quantileExact(0.5)(s_t - d_t), quantileExact(0.5)(c_t - s_t),
       quantileExact(0.5)(s_latency)
FROM (
    SELECT request_id, step, task_id, toUnixTimestamp64Milli(occurred_at) AS d_t
    FROM agentbus.workflow_events FINAL
    WHERE kind = 'dispatched' AND workflow = {workflow:String} AND tenant = {tenant:String}
) AS d
INNER JOIN (
    SELECT task_id, toUnixTimestamp64Milli(occurred_at) AS s_t, latency_ms AS s_latency
    FROM agentbus.step_results FINAL WHERE tenant = {tenant:String}
) AS s ON d.task_id = s.task_id
INNER JOIN (
    SELECT request_id, step, toUnixTimestamp64Milli(occurred_at) AS c_t
    FROM agentbus.workflow_events FINAL
    WHERE kind = 'completed' AND workflow = {workflow:String} AND tenant = {tenant:String}
) AS c ON d.request_id = c.request_id AND d.step = c.step
"""
"""Per stage: dispatched by the orchestrator -> step result produced by the specialist
-> completed by the orchestrator (event times, one clock: the worker's)."""


Hops = tuple[int, float, float, float]


def hops(stack: Stack, workflow: str, tenant: str) -> Hops:
    """(stages measured, dispatch->result ms, result->completed ms, model ms), p50s."""
    deadline = time.monotonic() + 20
    while True:  # the sink writes a moment after the results arrive
        row = stack.gateway.query(HOPS, {"workflow": workflow, "tenant": tenant}).rows[0]
        if row[0] or time.monotonic() > deadline:
            return int(row[0]), float(row[1]), float(row[2]), float(row[3])
        time.sleep(1.0)


async def run_phases(stack: Stack, stages: int, serial: int, items: int, rate: float) -> Run:
    targets = {STAR: STAR_AGENT, "pipe1": pipeline_name(1), f"pipe{stages}": pipeline_name(stages)}
    run = Run()
    await warm_up(stack, list(targets.values()), rounds=3)
    run.idle_cores = await stack.idle_cores()
    async with Driver(stack.runtime, tenant=SERIAL_TENANT) as driver:
        log(f"one at a time: {serial} items per target, taking turns")
        one_by_one = {label: Phase("one at a time", label) for label in targets}
        for i in range(serial):
            for label, target in targets.items():
                phase = one_by_one[label]
                before, begun = stack.cpu_s(), time.perf_counter()
                phase.outcomes.append(await driver.one(target, f"item {i} for {label}"))
                phase.cpu_s += stack.cpu_s() - before
                phase.wall_s += time.perf_counter() - begun
        run.phases += one_by_one.values()
        run.duplicates, run.wrong_agent = driver.duplicates, driver.wrong_agent.copy()
    async with Driver(stack.runtime) as driver:
        for label, target in targets.items():
            log(f"steady rate: {items} items to {label} at {rate:g}/s")
            phase = Phase(f"{rate:g}/s", label)
            before, begun = stack.cpu_s(), time.perf_counter()
            phase.outcomes = await driver.at_rate(target, items, rate, f"rate {label}")
            phase.cpu_s = stack.cpu_s() - before
            phase.wall_s = time.perf_counter() - begun
            run.phases.append(phase)
        run.duplicates += driver.duplicates
        run.wrong_agent += driver.wrong_agent
    return run


def _per_stage(a: float, b: float, stages: int) -> str:
    """``(a - b) / stages`` in ms, for figures in seconds."""
    if math.isnan(a) or math.isnan(b) or stages <= 0:
        return "-"
    return f"{(a - b) / stages * 1000:,.1f}"


def report(run: Run, stage_hops: dict[str, Hops], args: argparse.Namespace, total: float) -> None:
    k = args.stages
    table = Table(title="pipeline vs star, zero model latency (client-side times, ms)")
    columns = (
        "mode",
        "target",
        "done",
        "p50",
        "p95",
        "max",
        "mean",
        "first / last 10%",
        "CPU ms/item",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("mode", "target") else "right")
    table.add_column("statuses")
    for phase in run.phases:
        table.add_row(
            phase.mode,
            phase.target,
            f"{len(phase.latencies)}/{len(phase.outcomes)}",
            ms(phase.quantile(0.5)),
            ms(phase.quantile(0.95)),
            ms(phase.quantile(1.0)),
            ms(phase.mean),
            phase.trend(),
            f"{phase.busy_cpu_ms(run.idle_cores):.1f}",
            ", ".join(f"{s} {n}" for s, n in sorted(phase.statuses.items())),
        )
    out.print(table)

    overhead = Table(title=f"orchestration overhead per stage per item (K = {k}), ms")
    for column in ("mode", "figure", "(pipeK - star) / K", "(pipeK - pipe1) / (K - 1)"):
        overhead.add_column(column, justify="left" if column in ("mode", "figure") else "right")
    for mode in dict.fromkeys(p.mode for p in run.phases):
        by_target = {p.target: p for p in run.phases if p.mode == mode}
        star, one, many = by_target[STAR], by_target["pipe1"], by_target[f"pipe{k}"]
        for figure, value in (
            ("latency p50", lambda p: p.quantile(0.5)),
            ("latency mean", lambda p: p.mean),
            ("worker CPU", lambda p: p.busy_cpu_ms(run.idle_cores) / 1000),
        ):
            overhead.add_row(
                mode,
                figure,
                _per_stage(value(many), value(star), k),
                _per_stage(value(many), value(one), k - 1),
            )
    out.print(overhead)
    for mode, (count, to_result, to_completed, model) in stage_hops.items():
        out.print(
            f"one stage of pipe{k}, {mode} (p50 of {count} stages, event times): dispatched "
            f"-> step result produced {to_result:.0f} ms (model {model:.0f} ms), step result "
            f"-> completed by the orchestrator {to_completed:.0f} ms",
            highlight=False,
        )
    out.print(
        f"worker CPU: idle {run.idle_cores:.2f} cores (subtracted over each phase's time); "
        f"results seen twice: {run.duplicates}; answered by another agent: "
        f"{dict(run.wrong_agent) or 0}",
        highlight=False,
    )
    out.print(
        f"{machine_line()}; K={k}, {args.serial} items one at a time and {args.items} at "
        f"{args.rate:g}/s per target, sim latency 0, one `agentbus run`; whole run {total:.0f}s",
        highlight=False,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stages", type=int, default=4, choices=[k for k in STAGE_COUNTS if k > 1], help="K"
    )
    parser.add_argument("--serial", type=int, default=30, help="items one at a time per target")
    parser.add_argument("--items", type=int, default=150, help="N: items at the steady rate")
    parser.add_argument("--rate", type=float, default=15.0, help="R: items/s in the rate mode")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args(argv)
    began = time.monotonic()
    with flows_stack("bench.stage_system:system", "stagebench", keep=args.keep) as stack:
        run = asyncio.run(run_phases(stack, args.stages, args.serial, args.items, args.rate))
        stage_hops = {
            "one at a time": hops(stack, pipeline_name(args.stages), SERIAL_TENANT),
            f"{args.rate:g}/s": hops(stack, pipeline_name(args.stages), TENANT),
        }
    report(run, stage_hops, args, time.monotonic() - began)


if __name__ == "__main__":
    main()
