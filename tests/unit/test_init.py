"""`agentbus init DIR`: a starter system a user can run at once, and edit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from agents import SimConfig, SimProvider
from agents.invocation import InvocationContext, invoke
from streams.system_loader import load_system


def _agentbus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_init_writes_a_starter_that_loads_checks_and_answers(tmp_path: Path) -> None:
    folder = tmp_path / "my agents"
    done = _agentbus("init", str(folder), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (folder / "myagents.py").is_file()
    assert "agentbus --system myagents:system" in (folder / "README.md").read_text()

    check = _agentbus("--system", "myagents:system", "contracts", "check", cwd=folder)
    assert check.returncode == 0, check.stderr

    sys.path.insert(0, str(folder))
    try:
        system = load_system("myagents:system")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("myagents", None)
    outcome = asyncio.run(
        invoke(
            system.get("helpdesk"),
            SimProvider(SimConfig(latency_scale=0.0)),
            "Where is my order 1234?",
            context=InvocationContext(request_id="r", task_id="t"),
        )
    )
    assert outcome.status == "ok"
    assert '"needs_human"' in (outcome.output or "")


def test_init_never_overwrites_a_users_files(tmp_path: Path) -> None:
    (tmp_path / "myagents.py").write_text("# mine\n")
    done = _agentbus("init", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "exists" in done.stderr
    assert (tmp_path / "myagents.py").read_text() == "# mine\n"
