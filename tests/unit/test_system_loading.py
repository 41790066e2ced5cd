"""--system module:attr on the CLI: the user's system runs, and every bad value is one
error line with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agents.reference import fintech_system
from streams.system_loader import SystemLoadError, load_system

ODD = "tests.fixtures.systems.odd_systems"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("no_colon_here", "expected module:attribute"),
        ("no_such_module_xyz:system", "module 'no_such_module_xyz' not found"),
        (f"{ODD}:missing", "has no attribute 'missing'"),
        (f"{ODD}:not_a_system", "'not_a_system' is a int, not an AgentSystem"),
        (f"{ODD}:returns_a_number", "returns_a_number() returned a int"),
        (f"{ODD}:needs_an_argument", "must take no arguments"),
        (f"{ODD}:invalid_spec", "invalid system: system 'broken': agent 'solo' falls back"),
        (f"{ODD}:unknown_endpoint", "calls endpoint 'openai', which the system does not declare"),
        (f"{ODD}:raises", "raises() failed: RuntimeError: the team's config server is down"),
        ("tests.fixtures.systems.fails_on_import:system", "importing 'tests.fixtures"),
    ],
)
def test_a_bad_system_is_one_error_line_and_exit_code_2(ref: str, says: str) -> None:
    done = _cli("--system", ref, "contracts", "check")

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert says in " ".join(lines[0].split()), lines[0]
    assert "Traceback" not in done.stderr


def test_the_system_option_is_accepted_after_the_command_and_from_the_environment() -> None:
    after = _cli("contracts", "check", "--system", f"{ODD}:missing")
    assert after.returncode == 2
    assert "has no attribute 'missing'" in after.stderr
    env_run = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "contracts", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**__import__("os").environ, "AGENTBUS_SYSTEM": f"{ODD}:not_a_system"},
    )
    assert env_run.returncode == 2
    assert "not an AgentSystem" in env_run.stderr


def test_a_system_attribute_or_factory_loads() -> None:
    assert load_system(f"{ODD}:system").names == fintech_system().names
    assert load_system("agents.reference:fintech_system").name == "fintech"
    with pytest.raises(SystemLoadError):
        load_system(":system")
