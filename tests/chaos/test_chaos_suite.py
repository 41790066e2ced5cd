"""Chaos on real processes: SIGKILLs of every role, a broker restart, a store that
refuses inserts, model latency x10 and ~1% garbage on intake, while requests
arrive at a steady rate. Every request ends with exactly one outcome, and every
odd event as a dead letter that says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.broker import LocalKafka
from tests.chaos.suite import ChaosPlan, chaos_settings, run_chaos

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

PLAN = ChaosPlan(requests=450, rate=5.0, kills=10, broker_restarts=1, outage_s=8.0)


def test_every_request_has_exactly_one_outcome_under_chaos(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    # The session's broker: the run restarts it once and leaves it running.
    settings = chaos_settings(kafka_broker.bootstrap, tmp_path / "agentbus", PLAN)
    report = run_chaos(PLAN, kafka_broker, settings)
    text = "\n".join(report.lines())
    print(text)

    assert sum(report.kills.values()) >= 10, text
    assert set(report.kills) == {"sink", "router", "specialists-a", "specialists-b"}, text
    assert report.broker_restarts == 1, text
    assert report.outage_s >= PLAN.outage_s, text
    assert report.log_counts.get("insert_retries", 0) > 0, "the outage must reach the writer"
    assert report.undelivered == 0, text
    assert report.missing == [], text
    assert report.multi == {}, text
    assert report.odd_unaccounted == [], text
    assert report.with_outcome == report.requests, text
