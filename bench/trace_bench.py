"""Latency of `agentbus trace` over a store holding 1,000,000 model invocations.

Run from the repository root::

    .venv/bin/python -m bench.trace_bench [--invocations 1000000] [--samples 200]

A fresh embedded store gets the current schema, then ``invocations / 2`` requests, each
with its routed task, two attempts (a failed one and its retry) and a result: 2.5 rows
per invocation in all. The rows are generated inside ClickHouse (``INSERT … SELECT``
over ``numbers()``: ids are UUIDs and hex trace/span ids hashed from the row number, so
the tables join like real ones; texts come from a few dozen fintech sentences;
timestamps 5 ms apart), which takes seconds where a million client-side rows would take
minutes. The tables are merged (``OPTIMIZE … FINAL``) to the state a store reaches in
the background.

Then, for ``--samples`` random request ids, it times ``load_trace`` (every query
``agentbus trace`` runs, in process, without the rendering) and the Grafana trace
view's lookup of one trace in ``otel_traces`` by ``TraceId``, and prints p50/p95/max.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from streams.warehouse import Warehouse, open_warehouse
from streams.warehouse.queries import load_trace

# Helpers every generator below shares: ids derived from the request number.
_RID = "toString(reinterpretAsUUID(MD5(concat('r', toString(r)))))"
_TRACE = "lower(hex(MD5(concat('t', toString(r)))))"
_REQ_SPAN = "substring(lower(hex(MD5(concat('rs', toString(r))))), 1, 16)"
_TASK_SPAN = "substring(lower(hex(MD5(concat('ts', toString(r))))), 1, 16)"
_TASK_ID = "toString(reinterpretAsUUID(MD5(concat('task', toString(r)))))"
_AT = "now64(3) - toIntervalMillisecond(({n} - r) * 5)"
_AGENT = "['support', 'transactions', 'reports', 'general'][1 + r % 4]"
_TENANT = "['acme-bank', 'northwind-pay', 'globex-credit', 'initech'][1 + r % 4]"
_TEXTS = [
    "Why was I charged a $29.00 fee on my account this month?",
    "I do not recognise a card payment of $412.50 to an online store yesterday.",
    "Please send me a summary of my spending by category for the last quarter.",
    "How do I reset the PIN of my debit card without visiting a branch?",
    "My transfer to a savings account has been pending for three days.",
    "Can you explain the interest I was charged on my credit card statement?",
]
_TEXT = f"{_TEXTS}[1 + cityHash64(r) % {len(_TEXTS)}]"

REQUESTS_SQL = f"""
INSERT INTO agentbus.requests (event_id, trace_id, span_id, parent_span_id, occurred_at,
    producer, request_id, tenant, input, target_agent, metadata, session_id)
SELECT toString(generateUUIDv4(r)), {_TRACE}, {_REQ_SPAN}, NULL, {_AT}, 'client', {_RID},
    {_TENANT}, {_TEXT}, NULL, map('channel', 'web'), NULL
FROM (SELECT number AS r FROM numbers({{n}}))
"""

TASKS_SQL = f"""
INSERT INTO agentbus.tasks (event_id, trace_id, span_id, parent_span_id, occurred_at,
    producer, request_id, task_id, tenant, agent, input, routing_reason,
    routing_confidence, metadata, routing_model_version)
SELECT toString(generateUUIDv4(r)), {_TRACE}, {_TASK_SPAN}, {_REQ_SPAN},
    {_AT} + toIntervalMillisecond(2), 'router', {_RID}, {_TASK_ID}, {_TENANT}, {_AGENT},
    {_TEXT}, concat('keywords: ', {_AGENT}), 0.8, map('channel', 'web'), NULL
FROM (SELECT number AS r FROM numbers({{n}}))
"""

INVOCATIONS_SQL = f"""
INSERT INTO agentbus.invocations (event_id, trace_id, span_id, parent_span_id, occurred_at,
    producer, request_id, task_id, tenant, agent, agent_version, provider, model, tier,
    attempt, outcome, error, input, output, temperature, input_tokens, output_tokens,
    latency_ms, cost_usd, cache_hit, breaker_state, budget_used, tool_calls, perturbation,
    decision)
SELECT toString(generateUUIDv4(number)), {_TRACE},
    substring(lower(hex(MD5(concat('a', toString(number))))), 1, 16), {_TASK_SPAN},
    {_AT} + toIntervalMillisecond(300 * a), concat('specialist:', {_AGENT}), {_RID},
    {_TASK_ID}, {_TENANT}, {_AGENT}, 'v1', 'sim', 'sim-small', 'standard', a,
    if(a = 1, 'error', 'ok'), if(a = 1, 'ModelUnavailable: simulated 503', NULL), {_TEXT},
    if(a = 1, NULL, concat('Thanks for reaching out. ', {_TEXT}, ' Here is what I found.')),
    0.2, 120 + r % 50, if(a = 1, 0, 80 + r % 200), 250 + r % 400, 0.00021, false, 'closed',
    NULL, [], if(a = 2, 'temperature 0.2→0.5', NULL), NULL
FROM (SELECT number, intDiv(number, 2) AS r, number % 2 + 1 AS a FROM numbers({{n}} * 2))
"""

RESULTS_SQL = f"""
INSERT INTO agentbus.results (event_id, trace_id, span_id, parent_span_id, occurred_at,
    producer, request_id, task_id, tenant, agent, status, output, error, disclaimer, model,
    attempts, input_tokens, output_tokens, cost_usd, latency_ms, answered_by, chain)
SELECT toString(generateUUIDv4(r)), {_TRACE},
    substring(lower(hex(MD5(concat('res', toString(r))))), 1, 16), {_TASK_SPAN},
    {_AT} + toIntervalMillisecond(700), concat('specialist:', {_AGENT}), {_RID}, {_TASK_ID},
    {_TENANT}, {_AGENT}, 'ok',
    concat('Thanks for reaching out. ', {_TEXT}, ' Here is what I found.'), NULL, NULL,
    'sim-small', 2, 240, 160, 0.00042, 700, NULL, []
FROM (SELECT number AS r FROM numbers({{n}}))
"""

OTEL_SQL = """
SELECT TraceId, SpanId, ParentSpanId, SpanName, ServiceName, Timestamp, Duration,
       SpanAttributes
FROM agentbus.otel_traces WHERE TraceId = {trace:String}
"""


def populate(warehouse: Warehouse, requests: int) -> float:
    started = time.perf_counter()
    for sql in (REQUESTS_SQL, TASKS_SQL, INVOCATIONS_SQL, RESULTS_SQL):
        warehouse.command(sql.replace("{n}", str(requests)))
    for table in ("requests", "tasks", "invocations", "results"):
        warehouse.command(f"OPTIMIZE TABLE agentbus.{table} FINAL")
    return time.perf_counter() - started


def _timed(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def _summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{name:<40} p50 {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   "
        f"max {ordered[-1]:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invocations", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200, help="random requests traced")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    requests = args.invocations // 2

    with tempfile.TemporaryDirectory(prefix="agentbus-trace-") as tmp:
        warehouse = open_warehouse(f"chdb://{Path(tmp) / 'clickhouse'}")
        warehouse.apply_schema()
        took = populate(warehouse, requests)
        counts = {
            table: warehouse.query(f"SELECT count() FROM agentbus.{table}").rows[0][0]
            for table in ("requests", "tasks", "invocations", "results")
        }
        print(f"store: {counts} generated and merged in {took:.1f} s")

        rng = random.Random(args.seed)
        picks = [rng.randrange(requests) for _ in range(args.samples)]
        ids = warehouse.query(
            "SELECT r, toString(reinterpretAsUUID(MD5(concat('r', toString(r))))), "
            "lower(hex(MD5(concat('t', toString(r))))) "
            "FROM (SELECT arrayJoin({picks:Array(UInt64)}) AS r)",
            {"picks": picks},
        ).rows
        load_trace(warehouse, str(ids[0][1]))  # warm the caches once
        trace_ms, otel_ms = [], []
        for _, request_id, trace_id in ids:
            trace_ms.append(_timed(lambda rid=request_id: load_trace(warehouse, str(rid))))
            otel_ms.append(
                _timed(lambda tid=trace_id: warehouse.query(OTEL_SQL, {"trace": str(tid)}))
            )
        found = load_trace(warehouse, str(ids[-1][1]))
        assert found.found and len(found.invocations) == 2, "the generated trace is incomplete"
        print(
            f"{args.samples} random requests, {counts['invocations']:,} invocations in the store:"
        )
        print(_summary("agentbus trace (load_trace, 8 queries)", trace_ms))
        print(_summary("otel_traces by TraceId (Grafana view)", otel_ms))
        warehouse.close()


if __name__ == "__main__":
    main()
