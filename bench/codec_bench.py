"""Encode/decode cost of the Avro codec beside JSON, for representative events.

Run from the repository root::

    .venv/bin/python -m bench.codec_bench [--number 20000] [--repeat 7]

Prints µs per call (min and median over the repeats) and payload sizes. JSON
gets the same dict with the datetime as an ISO string (JSON has no datetime);
its decode leaves that string unparsed, so JSON is flattered a little. Figures
vary with the machine and its load: compare rows of one run, not across runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import statistics
import timeit
from collections.abc import Callable
from io import BytesIO
from types import ModuleType
from typing import Any

import fastavro

from streams.codec import AvroCodec, SchemaSet, default_avro_dir


def _optional_orjson() -> ModuleType | None:
    try:
        return importlib.import_module("orjson")
    except ImportError:  # optional: only compared when installed
        return None


ENVELOPE = {
    "event_id": "7c0f3a52-1d2e-4b8f-9a61-3e5d2c4b1a09",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7",
    "parent_span_id": "a3ce929d0e0e4736",
    "occurred_at": dt.datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=dt.UTC),
}

REQUEST: dict[str, Any] = {
    **ENVELOPE,
    "producer": "cli",
    "request_id": "req-2024-03-01-000187",
    "tenant": "acme-retail",
    "input": (
        "My order #A-118842 arrived with a cracked screen. I would like a replacement "
        "shipped to the same address, or a refund if none is in stock."
    ),
    "target_agent": None,
    "metadata": {"channel": "email", "locale": "en-GB"},
    "session_id": "sess-5f1d0c",
}

INVOCATION: dict[str, Any] = {
    **ENVELOPE,
    "producer": "specialist:support",
    "request_id": "req-2024-03-01-000187",
    "task_id": "task-9c1e7a",
    "tenant": "acme-retail",
    "agent": "support",
    "agent_version": "3",
    "provider": "sim",
    "model": "sim-large-2024-02",
    "tier": "standard",
    "attempt": 1,
    "outcome": "ok",
    "error": None,
    "input": "Cracked screen on order #A-118842; replacement or refund?",
    "output": "Offer a replacement, else a refund.",
    "temperature": 0.2,
    "input_tokens": 412,
    "output_tokens": 96,
    "latency_ms": 843.5,
    "cost_usd": 0.00231,
    "cache_hit": False,
    "breaker_state": "closed",
    "budget_used": 1240,
    "tool_calls": ['{"name": "lookup_order"}'],
}


def measure(fn: Callable[[], object], number: int, repeat: int) -> tuple[float, float]:
    """(min, median) µs per call."""
    runs = [t / number * 1e6 for t in timeit.repeat(fn, number=number, repeat=repeat)]
    return min(runs), statistics.median(runs)


Row = tuple[str, Callable[[], object] | None, Callable[[], object], int]
"""(label, encode or None, decode, payload size)."""


def rows_for(name: str, value: dict[str, Any], codec: AvroCodec) -> list[Row]:
    """One row per contender: our codec, json, and orjson when installed."""
    avro = codec.encode(name, value)
    plain = {**value, "occurred_at": value["occurred_at"].isoformat()}
    text = json.dumps(plain).encode()
    rows: list[Row] = [
        (
            f"{name} avro codec",
            lambda: codec.encode(name, value),
            lambda: codec.decode_as(name, avro),
            len(avro),
        ),
        (
            f"{name} json",
            lambda: json.dumps(plain).encode(),
            lambda: json.loads(text),
            len(text),
        ),
    ]
    orjson = _optional_orjson()
    if orjson is not None:
        packed = orjson.dumps(value)  # orjson writes datetimes itself
        rows.append(
            (
                f"{name} orjson",
                lambda: orjson.dumps(value),
                lambda: orjson.loads(packed),
                len(packed),
            )
        )
    return rows


def old_version_row(codec: AvroCodec) -> Row:
    """Decode of an AgentRequest written with history v1: fastavro schema resolution."""
    v1 = codec.schemas.versions("AgentRequest")[0]
    old = {k: v for k, v in REQUEST.items() if k != "session_id"}
    buf = BytesIO()
    buf.write(b"\xc3\x01" + v1.fingerprint_bytes)
    fastavro.schemaless_writer(buf, v1.parsed, old)
    data = buf.getvalue()
    return (
        "AgentRequest v1 -> current",
        None,
        lambda: codec.decode_as("AgentRequest", data),
        len(data),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000, help="calls per repeat")
    parser.add_argument("--repeat", type=int, default=7, help="repeats (min and median shown)")
    args = parser.parse_args()

    codec = AvroCodec(SchemaSet.load(default_avro_dir()))
    rows = [
        *rows_for("AgentRequest", REQUEST, codec),
        *rows_for("Invocation", INVOCATION, codec),
        old_version_row(codec),
    ]
    print(f"{args.repeat} repeats x {args.number} calls; µs per call, min / median")
    print(f"{'payload':<28} {'bytes':>5}  {'encode':>15}  {'decode':>15}")
    for label, encode, decode, size in rows:
        enc = "-"
        if encode is not None:
            enc_min, enc_med = measure(encode, args.number, args.repeat)
            enc = f"{enc_min:6.2f} / {enc_med:6.2f}"
        dec_min, dec_med = measure(decode, args.number, args.repeat)
        print(f"{label:<28} {size:>5}  {enc:>15}  {dec_min:6.2f} / {dec_med:6.2f}")


if __name__ == "__main__":
    main()
