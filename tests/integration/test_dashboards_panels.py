"""Every dashboard panel runs on a populated store through the real schema, expanded
the way the ClickHouse plugin expands it, and returns what its visualisation needs;
`agentbus report` renders the same panels, charts included.

The store is filled through the sink's own writer (`EventWriter`) with a seeded,
realistic hour of events (star requests with retries, fallbacks, cache hits, budget
cuts, breaker transitions, dead letters; pipeline, DAG and mesh workflows) and owned
by a child process that serves it through the query gateway, as a worker does: chdb
opens one store per process, and the report reads through the gateway in production.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import random
import re
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.dashboards import Selection, TimeRange, all_dashboards, auto_interval
from streams.dashboards.panels import query_panel, variable_selections
from streams.dashboards.report import chart_png, collect, render_html
from streams.warehouse.gateway import GatewayClient, find_gateway

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
AGENTS = ("support", "transactions", "reports", "general")
TENANTS = ("acme", "globex", "initech")


# --- the child process: populate a store and serve it ----------------------------------


def _events(
    seed: int = 5, requests: int = 400, now: dt.datetime = NOW
) -> list[tuple[str, dict[str, Any]]]:
    """A seeded hour of agentbus events up to ``now``, as (record name, Avro value) pairs."""
    from streams.events import envelope, new_id, new_trace_id  # noqa: PLC0415

    rng = random.Random(seed)
    out: list[tuple[str, dict[str, Any]]] = []

    def at(minutes_ago: float) -> dt.datetime:
        return now - dt.timedelta(minutes=minutes_ago)

    def env(producer: str, when: dt.datetime, trace: str) -> dict[str, Any]:
        return {
            **envelope(producer=producer, trace_id=trace, parent_span_id=None),
            "occurred_at": when,
        }

    for n in range(requests):
        start = rng.uniform(1, 55)
        trace, request_id, tenant = new_trace_id(), new_id(), rng.choice(TENANTS)
        expected = rng.choice(AGENTS)
        agent = expected if rng.random() > 0.08 else rng.choice(AGENTS)
        out.append(
            (
                "AgentRequest",
                {
                    **env("client", at(start), trace),
                    "request_id": request_id,
                    "tenant": tenant,
                    "input": f"question {n}",
                    "target_agent": None,
                    "metadata": {"expected_agent": expected},
                    "session_id": None,
                },
            )
        )
        task_id = new_id()
        out.append(
            (
                "AgentTask",
                {
                    **env("router", at(start - 0.01), trace),
                    "request_id": request_id,
                    "task_id": task_id,
                    "tenant": tenant,
                    "agent": agent,
                    "input": f"question {n}",
                    "routing_reason": "keyword match",
                    "routing_confidence": rng.uniform(0.3, 1.0),
                    "metadata": {"expected_agent": expected},
                    "routing_model_version": rng.choice([None, "fintech-20250101"]),
                },
            )
        )
        attempts = 1 if rng.random() < 0.75 else rng.choice([2, 3])
        cached = agent == "support" and rng.random() < 0.3
        cost = 0.0
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            outcome = "cached" if cached else ("ok" if last else rng.choice(["error", "timeout"]))
            if agent == "reports" and last and rng.random() < 0.2:
                outcome = "partial"
            price = 0.0 if cached else rng.uniform(0.0001, 0.01)
            cost += price
            out.append(
                (
                    "Invocation",
                    {
                        **env(f"specialist:{agent}", at(start - 0.02 * attempt), trace),
                        "request_id": request_id,
                        "task_id": task_id,
                        "tenant": tenant,
                        "agent": agent,
                        "agent_version": "1",
                        "provider": "sim",
                        "model": rng.choice(["sim-small", "sim-large"]),
                        "tier": rng.choice(["small", "large"]),
                        "attempt": attempt,
                        "outcome": outcome,
                        "error": None if outcome in ("ok", "cached", "partial") else "503 from sim",
                        "input": f"question {n}",
                        "output": "answer",
                        "temperature": 0.2,
                        "input_tokens": rng.randint(50, 400),
                        "output_tokens": rng.randint(20, 300),
                        "latency_ms": rng.uniform(20, 900),
                        "cost_usd": price,
                        "cache_hit": cached,
                        "breaker_state": "closed",
                        "budget_used": 900 if agent == "reports" else None,
                        "tool_calls": [],
                        "perturbation": "rephrased the prompt" if attempt > 1 else None,
                        "decision": "output capped at 300 tokens by the token budget of 4000"
                        if outcome == "partial"
                        else None,
                        "tool_runs": [],
                    },
                )
            )
        fallback = attempts == 3 and rng.random() < 0.5
        status = "degraded" if fallback else ("partial" if outcome == "partial" else "ok")
        if rng.random() < 0.03:
            status = "failed"
        out.append(
            (
                "AgentResult",
                {
                    **env(f"specialist:{agent}", at(start - 0.1), trace),
                    "request_id": request_id,
                    "task_id": task_id,
                    "tenant": tenant,
                    "agent": agent,
                    "status": status,
                    "output": "answer",
                    "error": None,
                    "disclaimer": None,
                    "model": "sim-small",
                    "attempts": attempts,
                    "input_tokens": 300,
                    "output_tokens": 120,
                    "cost_usd": cost,
                    "latency_ms": rng.uniform(30, 2500),
                    "answered_by": "general" if fallback else None,
                },
            )
        )
    for k in range(6):
        states = [("closed", "open"), ("open", "half_open"), ("half_open", "closed")][k % 3]
        out.append(
            (
                "BreakerEvent",
                {
                    **env("specialist:transactions", at(40 - 5 * k), new_trace_id()),
                    "kind": "transition",
                    "key": "transactions/sim-large",
                    "agent": "transactions",
                    "model": "sim-large",
                    "from_state": states[0],
                    "to_state": states[1],
                    "epoch": k,
                    "reason": "5 failures in 30 s",
                    "replica": "r1",
                    "request_id": "",
                },
            )
        )
    for k, kind in enumerate(["not_avro", "not_avro", "unknown_schema", "misrouted"]):
        out.append(
            (
                "DeadLetter",
                {
                    **env("router", at(30 - k), new_trace_id()),
                    "request_id": "",
                    "reason": f"{kind} event",
                    "error_type": kind,
                    "source_topic": "agentbus.intake",
                    "source_partition": 0,
                    "source_offset": k,
                    "raw": "ff00",
                },
            )
        )
    out += _workflows(rng, env, at)
    return out


def _workflows(rng: random.Random, env: Any, at: Any) -> list[tuple[str, dict[str, Any]]]:
    from streams.events import new_id, new_trace_id  # noqa: PLC0415

    out: list[tuple[str, dict[str, Any]]] = []
    shapes = {
        "pipeline": ["extract", "check", "summarise"],
        "hierarchical": ["a", "b", "c"],
        "mesh": ["ask", "hop", "hop2"],
    }
    for run in range(30):
        topology = ("pipeline", "hierarchical", "mesh")[run % 3]
        workflow = {"pipeline": "kyc", "hierarchical": "month_close", "mesh": "advisors"}[topology]
        start, trace, request_id = rng.uniform(5, 50), new_trace_id(), new_id()
        tenant = rng.choice(TENANTS)

        run_fields = {
            "request_id": request_id,
            "tenant": tenant,
            "workflow": workflow,
            "topology": topology,
        }

        def event(
            kind: str,
            minutes: float,
            base: dict[str, Any] = run_fields,
            trace: str = trace,
            **fields: Any,
        ) -> tuple[str, dict[str, Any]]:
            value = {**env("orchestrator", at(minutes), trace), **base, "kind": kind, **fields}
            return ("WorkflowEvent", value)

        out.append(event("started", start))
        steps = shapes[topology]
        for i, step in enumerate(steps):
            # A DAG dispatches its steps together; a pipeline one after another.
            t0 = start - (0.01 if topology == "hierarchical" else 0.05 * i)
            out.append(event("dispatched", t0, step=step, agent=AGENTS[i], hop=i))
            if topology == "pipeline" and i == 1 and run % 2 == 0:
                out.append(event("dropped", t0 - 0.02, step=step, detail="queue full: drop-newest"))
                break
            if topology == "mesh" and i == 2 and run % 4 == 2:
                out.append(
                    event("hop_cap", t0 - 0.02, step=step, hop=3, detail="hop cap 3 reached")
                )
            out.append(
                event(
                    "completed",
                    t0 - 0.03,
                    step=step,
                    agent=AGENTS[i],
                    status="ok",
                    duration_ms=rng.uniform(50, 900),
                    hop=i,
                )
            )
            out.append(
                (
                    "StepResult",
                    {
                        **env(f"specialist:{AGENTS[i]}", at(t0 - 0.03), trace),
                        "request_id": request_id,
                        "task_id": new_id(),
                        "tenant": tenant,
                        "agent": AGENTS[i],
                        "status": "ok",
                        "output": "x",
                        "error": None,
                        "disclaimer": None,
                        "model": "sim-small",
                        "attempts": 1,
                        "input_tokens": 100,
                        "output_tokens": 50,
                        "cost_usd": 0.001,
                        "latency_ms": rng.uniform(50, 900),
                        "answered_by": None,
                    },
                )
            )
        out.append(event("finished", start - 0.2, status="ok", duration_ms=rng.uniform(200, 3000)))
    return out


def serve_store(data_dir: str, now: str) -> None:
    """Child process: open the store, apply the schema, write the events, serve it.

    ``now`` is the parent's NOW: the child imports this module later (pytest may start
    this fixture many minutes after collection), and its own NOW would shift the hour."""
    from streams.codec import default_avro_dir  # noqa: PLC0415
    from streams.warehouse import open_warehouse  # noqa: PLC0415
    from streams.warehouse.gateway import GatewayServer  # noqa: PLC0415
    from streams.warehouse.writer import EventWriter, record_columns  # noqa: PLC0415

    avro = default_avro_dir()
    store = open_warehouse(f"chdb://{data_dir}/clickhouse")
    store.apply_schema()
    events = []
    for record, value in _events(now=dt.datetime.fromisoformat(now)):
        schema = json.loads(
            (avro / f"{'AgentResult' if record == 'StepResult' else record}.avsc").read_text()
        )
        full = {f["name"]: f.get("default") for f in schema["fields"] if "default" in f}
        events.append((record, {**full, **value}))
    EventWriter(store, record_columns(avro)).write(events)

    async def serve() -> None:
        server = GatewayServer(store, Path(data_dir))
        await server.start()
        await asyncio.Event().wait()

    asyncio.run(serve())


# --- the tests -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayClient]:
    data_dir = tmp_path_factory.mktemp("dashboards")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from {__name__} import serve_store; "
            f"serve_store({str(data_dir)!r}, {NOW.isoformat()!r})",
        ],
        cwd=Path(__file__).parents[2],
    )
    try:
        deadline = time.monotonic() + 90
        while (found := find_gateway(data_dir)) is None:
            assert child.poll() is None, "the store process exited"
            assert time.monotonic() < deadline, "the store process never served its gateway"
            time.sleep(0.2)
        yield found
    finally:
        child.terminate()
        child.wait(timeout=20)


def test_every_panel_returns_the_columns_its_visualisation_needs(gateway: GatewayClient) -> None:
    time_range = TimeRange.last(dt.timedelta(hours=1), now=NOW + dt.timedelta(minutes=1))
    interval_s = auto_interval(time_range)
    checked, rows, empty = 0, 0, []
    for dashboard in all_dashboards():
        selections = variable_selections(gateway, dashboard.variables)
        assert all(s.options for s in selections.values()), f"{dashboard.uid}: empty variable"
        for panel in dashboard.panels:
            data = query_panel(
                gateway,
                dashboard,
                panel,
                time_range=time_range,
                interval_s=interval_s,
                variables=selections,
            )
            assert not data.problems, (
                f"{dashboard.uid} / {panel.title}: {data.problems}\n{data.sql}"
            )
            if panel.expect_rows and not data.rows:
                empty.append(f"{dashboard.uid} / {panel.title}")
            checked, rows = checked + 1, rows + len(data.rows)
        for annotation in dashboard.annotations:
            from streams.dashboards import expand  # noqa: PLC0415

            sql = expand(
                annotation.sql, time_range=time_range, interval_s=interval_s, variables=selections
            )
            result = gateway.query(sql)
            assert result.columns[:3] == ["time", "text", "tags"] and result.rows
    assert not empty, f"panels without rows where the workload produced data: {empty}"
    assert checked >= 50
    print(f"{checked} panels checked, {rows} rows")


def test_variables_narrow_the_panels(gateway: GatewayClient) -> None:
    """Choosing one agent and one tenant changes what a panel counts, as in Grafana."""
    overview = all_dashboards()[0]
    panel = next(p for p in overview.panels if p.title == "Agents")
    time_range = TimeRange.last(dt.timedelta(hours=1), now=NOW + dt.timedelta(minutes=1))
    everything = variable_selections(gateway, overview.variables)
    narrowed = {
        **everything,
        "agent": Selection(("support",), everything["agent"].options),
        "tenant": Selection(("acme", "globex"), everything["tenant"].options),
    }
    all_rows = query_panel(
        gateway, overview, panel, time_range=time_range, interval_s=60, variables=everything
    ).rows
    some = query_panel(
        gateway, overview, panel, time_range=time_range, interval_s=60, variables=narrowed
    )
    assert "agent IN ('support')" in some.sql and "tenant IN ('acme','globex')" in some.sql
    assert [r[0] for r in some.rows] == ["support"]
    support_all = next(r for r in all_rows if r[0] == "support")
    assert 0 < some.rows[0][1] < support_all[1]


def _png_colours(png: bytes) -> set[bytes]:
    """The distinct pixels of an 8-bit RGB(A) PNG (what vl-convert writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, previous, colours = zlib.decompress(idat), width * channels, None, set()
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        prior = previous or bytearray(stride)
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, up_left = prior[i], prior[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[i] = (line[i] + pred) & 0xFF
        colours.update(bytes(line[i : i + channels]) for i in range(0, stride, channels))
        previous = line
    return colours


def test_report_renders_every_panel_with_charts_that_are_not_blank(
    gateway: GatewayClient, tmp_path: Path
) -> None:
    report = collect(gateway, dt.timedelta(hours=1), now=NOW + dt.timedelta(minutes=1))
    assert report.summary.requests == 400
    assert report.summary.dead_letters == 4
    assert report.summary.p95_latency_ms is not None and report.summary.cost_usd > 0
    assert not [p.panel.title for p in report.panels if p.error]
    page = render_html(report)
    (tmp_path / "report.html").write_text(page)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    charted = sum(
        p.panel.kind in ("timeseries", "barchart") for p in report.panels if p.data and p.data.rows
    )
    assert len(images) == charted >= 20
    assert "http://" not in page.replace("http://www.w3.org", "") and "<script" not in page
    colours = _png_colours(base64.b64decode(images[0]))
    assert len(colours) > 2, "the chart is blank"
    first = next(p.data for p in report.panels if p.data and p.panel.kind == "timeseries")
    assert chart_png(first) is not None
