"""The CLI as a user runs it: submit, then sql and trace while `agentbus run` owns the store."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.harness import Stack

pytestmark = pytest.mark.integration


def agentbus(
    stack: Stack, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # our own CLI
        [sys.executable, "-m", "streams.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=stack.settings.child_env(),
        timeout=120,
        check=False,
    )


def test_submit_sql_and_trace_work_while_the_worker_owns_the_store(stack: Stack) -> None:
    stack.start_all()
    lines = '{"input": "I lost my card, please block it", "tenant": "acme"}\n'
    lines += '{"input": "monthly revenue summary", "target_agent": "reports"}\n'

    submitted = agentbus(stack, "submit", stdin=lines)

    assert submitted.returncode == 0, submitted.stderr
    first, second = submitted.stdout.split()
    stack.wait_until(
        lambda: stack.scalar("SELECT count() FROM agentbus.results FINAL") == 2, 60, "2 results"
    )
    counted = agentbus(
        stack, "sql", "SELECT agent FROM agentbus.results FINAL ORDER BY agent", "--format", "tsv"
    )
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.split() == ["agent", "reports", "support"]

    traced = agentbus(stack, "trace", first)
    assert traced.returncode == 0, traced.stderr
    assert "router → support" in traced.stdout
    assert "matched 'card'" in traced.stdout
    assert "attempt 1" in traced.stdout and "result ok" in traced.stdout
    assert "explicit" in agentbus(stack, "trace", second).stdout


def test_errors_are_one_clear_line(stack: Stack) -> None:
    stack.start_all()
    bad_sql = agentbus(stack, "sql", "SELECT nope FROM agentbus.results")
    assert bad_sql.returncode == 1
    assert bad_sql.stderr.startswith("error:") and len(bad_sql.stderr.strip().splitlines()) <= 2

    unknown = agentbus(stack, "trace", "no-such-request")
    assert unknown.returncode == 1
    assert "no events for request no-such-request" in unknown.stderr

    bad_role = agentbus(stack, "worker", "specialist:astrology")
    assert bad_role.returncode == 1
    assert "unknown role 'specialist:astrology'" in bad_role.stderr

    bad_line = agentbus(stack, "submit", stdin="not json\n")
    assert bad_line.returncode != 0
    assert "line 1: not JSON" in bad_line.stderr


def test_status_shows_each_role_with_its_group_and_lag(stack: Stack) -> None:
    stack.start_all()
    stack.wait_for_members("router", 1)
    shown = agentbus(stack, "status")
    assert shown.returncode == 0, shown.stderr
    assert "answering" in shown.stdout
    for role in ("sink", "router", "specialist:support"):
        assert role in shown.stdout
    assert "Stable" in shown.stdout
