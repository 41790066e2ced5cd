"""`agentbus contracts check` as a user runs it in CI."""

from __future__ import annotations

import subprocess
import sys


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "contracts", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_reference_system_passes() -> None:
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all hold" in result.stdout


def test_an_incompatible_output_change_fails_naming_the_edge_and_field() -> None:
    result = run_check("--system", "tests.contract.broken_system:broken_system")
    assert result.returncode == 1
    assert "transactions → reports" in result.stdout
    assert "amount" in result.stdout
